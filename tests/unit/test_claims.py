"""Every number in a stored notebook's prose is computed by one of its cells (tools/claims.py, importable
through pytest's pythonpath = ["tools"])."""
import json
from pathlib import Path

import pytest
from claims import backed, unbacked_numbers

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name[:2] for p in NOTEBOOKS])
def test_every_prose_number_is_computed(path):
    unbacked = unbacked_numbers(json.loads(path.read_text(encoding="utf-8")))
    assert not unbacked, "\n".join(f"cell {c}: {t}: {line[:120]}" for c, t, line in unbacked)


def md_nb(prose, code_source="", output=""):
    cells = [{"cell_type": "markdown", "source": prose, "metadata": {}},
             {"cell_type": "code", "source": code_source, "metadata": {},
              "outputs": [{"output_type": "stream", "name": "stdout", "text": output}]}]
    return {"cells": cells}


def test_check_finds_a_number_no_cell_computes():
    assert [t for _, t, _ in unbacked_numbers(md_nb("The student makes 576 errors.", output="578\n"))] == ["576"]


def test_check_accepts_precision_percent_and_separators():
    assert not unbacked_numbers(md_nb("Accuracy 97.5% and 0.912, 1,719 steps.", output="0.9751 0.9118 1719"))
    assert backed("0.91", "", {0.9149}) and not backed("0.91", "", {0.9151})


def test_check_skips_sources_code_math_versions_small_integers_and_architectures():
    prose = ("The paper reports 146 errors.\nA recorded run: 4321 s.\nSet `LR = 0.005` and $e^{-10.5}$.\n"
             "PyTorch 2.14 on 3 epochs, a 784-1200-1200-10 net, in 2026.")
    assert not unbacked_numbers(md_nb(prose))
