"""Re-running a notebook with other settings is what the course is for. Each notebook named in
tests/integration/rerun_settings/ is re-run through papermill with the settings stored there
(a JSON list of {"parameter": value} dicts: other temperatures, alphas, epochs, seeds, and
small sizes so that each run is quick). Each re-run must finish without an error, must have
used the injected settings, and must keep the course's promise: every number in its prose is
computed by a cell (tools/claims.py), so no sentence describes a run that is not on screen.
(papermill raises on the first cell that fails, so a finished re-run had no error.) Notebook 04 at
a short recipe saves its teacher in a file of its own, in the test run's temporary checkpoint folder
(conftest.py); the default teacher's file is never replaced."""
import json
from pathlib import Path

import nbformat
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SETTINGS = Path(__file__).resolve().parent / "rerun_settings"
from claims import unbacked_numbers  # tools/claims.py (tools/ is on pytest's pythonpath)

CASES = [(f.stem, i, params) for f in sorted(SETTINGS.glob("*.json"))
         for i, params in enumerate(json.loads(f.read_text()))]


def run_at_settings(tmp_path, monkeypatch, name, index, params):
    monkeypatch.setenv("KD_PROGRESS", "0")
    out = tmp_path / f"{name}_{index}.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(out), cwd=str(NOTEBOOKS), parameters=params,
                        progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected, "papermill found no cell tagged 'parameters'"
    for key in params:
        assert f"{key} = " in injected[0].source, f"{key} was not injected"
    unbacked = unbacked_numbers(nb)
    assert not unbacked, "numbers in prose that the re-run did not compute: " + "; ".join(
        f"cell {cell}: {token} in '{line[:100]}'" for cell, token, line in unbacked)


# One test class per notebook: pytest-xdist's --dist loadscope (pyproject.toml) hands each class to one
# worker, so the re-runs of different notebooks run in parallel and those of one notebook in order.
for _stem in sorted({name for name, _, _ in CASES}):
    _cases = [(n, i, p) for n, i, p in CASES if n == _stem]

    @pytest.mark.parametrize("name, index, params", _cases, ids=[f"{n[:2]}-{i}" for n, i, _ in _cases])
    def test_notebook_at_other_settings(self, tmp_path, monkeypatch, name, index, params):
        run_at_settings(tmp_path, monkeypatch, name, index, params)

    _class = f"TestRerun{_stem[:2]}"
    globals()[_class] = type(_class, (), {"test_notebook_at_other_settings": test_notebook_at_other_settings})
del test_notebook_at_other_settings
