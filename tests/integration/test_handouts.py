"""Learner handouts: `jupyter nbconvert --config docs/handouts_config.py` (README, "Teaching").

The handouts are the notebooks without the cells tagged `solution` and without outputs. This test
builds them with that one command (into a temporary folder), checks what they contain, and runs
one handout top to bottom: a check cell meets a starter that still raises NotImplementedError and
must say "not implemented yet" instead of stopping the notebook."""
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
RUN_ONE = "02_kldivloss_reductions.ipynb"  # a fast handout (seconds), with a code-writing exercise


def tags(cell):
    return cell.metadata.get("tags", [])


@pytest.fixture(scope="module")
def handouts(tmp_path_factory):
    out = tmp_path_factory.mktemp("handouts")
    result = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--config",
                             str(ROOT / "docs" / "handouts_config.py"), f"--output-dir={out}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_every_notebook_has_a_handout_without_solutions_or_outputs(handouts):
    removed = 0
    for source_path in NOTEBOOKS:
        path = handouts / source_path.name
        assert path.exists(), f"no handout for {source_path.name}"
        source, handout = nbformat.read(source_path, as_version=4), nbformat.read(path, as_version=4)
        kept = [c for c in source.cells if "solution" not in tags(c)]
        removed += len(source.cells) - len(kept)
        assert [c.source for c in handout.cells] == [c.source for c in kept], (
            f"{path.name}: the handout is not the notebook minus its solution cells")
        assert not [c for c in handout.cells if "solution" in tags(c)]
        assert not [c for c in handout.cells if c.cell_type == "code" and (c.outputs or c.execution_count)], (
            f"{path.name}: stored outputs remain")
        assert "widgets" not in handout.metadata and "kernelspec" in handout.metadata
        assert any("parameters" in tags(c) for c in handout.cells), f"{path.name}: the settings cell lost its tag"
        code = [c.source for c in handout.cells if c.cell_type == "code"]
        for k, src in enumerate(code):  # every starter keeps the check cell that follows it
            if "raise NotImplementedError" in src:
                assert k + 1 < len(code) and "check_function(" in code[k + 1], (
                    f"{path.name}: a starter cell without its check cell:\n{src[:200]}")
    assert removed > 0, "no notebook has a cell tagged 'solution': the handouts would give the answers away"


def test_a_handout_runs_top_to_bottom(handouts, monkeypatch):
    monkeypatch.setenv("KD_PROGRESS", "0")  # inherited by the kernel
    nb = nbformat.read(handouts / RUN_ONE, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(handouts)}})
    client.execute()  # raises CellExecutionError on the first error
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    starters = [c for c in nb.cells if c.cell_type == "code" and "raise NotImplementedError" in c.source]
    assert starters, f"{RUN_ONE} has no code-writing exercise left in its handout"
    assert "not implemented yet" in text, "the check cell did not report the unwritten starter"
