"""Learner handouts: every course notebook without its worked solutions and without outputs.

    jupyter nbconvert --config docs/handouts_config.py          # writes handouts/NN_*.ipynb

nbconvert's own preprocessors do all of it: TagRemovePreprocessor drops every cell tagged
`solution` (the worked solutions, markdown and code), ClearOutputPreprocessor drops outputs and
execution counts, and ClearMetadataPreprocessor drops the stored widget state and the run's
timestamps (cell tags such as `parameters` stay, and so does the kernel). The exercises keep
their starter cell and check cell; a check cell prints "not implemented yet" for a starter that
still raises NotImplementedError, so a handout runs top to bottom. `--output-dir=OTHER` writes
elsewhere. handouts/ is a build output: git ignores it.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

c = get_config()  # noqa: F821 (injected by traitlets when nbconvert reads this file)
c.NbConvertApp.notebooks = sorted(str(p) for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
c.NbConvertApp.export_format = "notebook"
c.FilesWriter.build_directory = str(ROOT / "handouts")
c.TagRemovePreprocessor.enabled = True
c.TagRemovePreprocessor.remove_cell_tags = {"solution"}
c.ClearOutputPreprocessor.enabled = True
c.ClearMetadataPreprocessor.enabled = True
c.ClearMetadataPreprocessor.preserve_cell_metadata_mask = {"tags", "jupyter"}  # jupyter: narration cells stay collapsed
c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {"kernelspec", "language_info"}
