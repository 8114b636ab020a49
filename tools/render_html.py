"""A readable copy of the course: every notebook with its stored outputs as HTML, plus an index.

    python tools/render_html.py                 # writes html/index.html and html/NN_*.html
    python tools/render_html.py --out DIR       # elsewhere

nbconvert's HTMLExporter renders each notebook as it is stored (nothing is executed: the figures
are the ones of the committed run, embedded in the page). index.html lists the notebooks in
course order (by their NN_ prefix) with the title of each notebook's first cell. Widgets (the
temperature lab's sliders) need a running kernel: a page shows at most the widget's saved state,
never a live lab; the static version of notebook 05's lab is its settings path (the figures of
its sections 2 and 4), which the page shows as stored. Cells tagged `narration` (code that only
prints computed sentences) show their output without their code (nbconvert's TagRemovePreprocessor).
html/ is a build output: git ignores it.
"""
import argparse
import html
import re
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def title_of(nb, fallback):
    """The first '# ' heading of the notebook's first cell, without markdown markup."""
    if nb.cells and nb.cells[0].cell_type == "markdown":
        for line in nb.cells[0].source.splitlines():
            if line.startswith("# "):
                return re.sub(r"[*_`]", "", line[2:]).strip()
    return fallback


def render(out_dir, notebooks=None):
    """Render the notebooks (default: notebooks/NN_*.ipynb) into out_dir; returns [(file, title)]."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = sorted(notebooks or NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"), key=lambda p: Path(p).name)
    exporter = HTMLExporter(template_name="lab")
    exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags={"narration"}), enabled=True)
    entries = []
    for path in paths:
        path = Path(path)
        nb = nbformat.read(path, as_version=4)
        title = title_of(nb, path.stem)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
        target = out_dir / f"{path.stem}.html"
        target.write_text(body, encoding="utf-8")
        entries.append((target.name, title))
    items = "\n".join(f'    <li><a href="{html.escape(name)}">{html.escape(title)}</a></li>' for name, title in entries)
    (out_dir / "index.html").write_text(f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Knowledge distillation, from softmax to language models: the course</title>
  <style>body {{ font-family: sans-serif; max-width: 46em; margin: 2em auto; line-height: 1.5; }}</style>
</head>
<body>
  <h1>Knowledge distillation, from softmax to language models</h1>
  <p>The course's notebooks in order, with the outputs of their stored run. To run them and change
  the settings, install the course (see the README) and open them in JupyterLab.</p>
  <ol>
{items}
  </ol>
</body>
</html>
""", encoding="utf-8")
    return entries


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "html"), help="output folder (default: html/)")
    args = parser.parse_args(argv)
    entries = render(args.out)
    print(f"{len(entries)} notebooks and index.html written to {args.out}")


if __name__ == "__main__":
    sys.exit(main())
