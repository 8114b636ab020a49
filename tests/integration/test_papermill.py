"""Re-running a notebook with other settings is what the course is for: run notebook 05
through papermill at two other temperatures, with small epoch counts, and check that it
completes (every assert in it holds) and that the injected settings were used."""
from pathlib import Path

import nbformat
import papermill as pm
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

QUICK = {  # small sweeps, so that each run takes about half a minute
    "EPOCHS": 1,
    "SEED_RECIPE_EPOCHS": 1,
    "SWEEP_SEEDS": [0],
    "SWEEP_TEMPERATURES": [1, 20],
    "SWEEP_ALPHAS": [0.1, 0.9],
    "SMALL_EPOCHS": 20,
    "SMALL_TEMPERATURES": [20],
    "SMALL_SEEDS": [0],
}


@pytest.mark.parametrize("temperature", [2.0, 20.0])
def test_distillation_notebook_at_another_temperature(tmp_path, temperature):
    out = tmp_path / f"05_T{temperature:g}.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / "05_distillation.ipynb"), str(out), cwd=str(NOTEBOOKS),
                        parameters={"TEMPERATURE": temperature, **QUICK}, progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and f"TEMPERATURE = {temperature}" in injected[0].source
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert f"student 20-20, distilled T={temperature:g}" in outputs
    assert not any(o.get("output_type") == "error" for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
