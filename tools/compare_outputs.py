"""Which cells' outputs are the same on another machine? The evidence behind the `nbval-check-output` tags.

    python tools/compare_outputs.py notebooks/04_teacher_training.ipynb runs/1thread/04_teacher_training.ipynb ...
    python tools/compare_outputs.py --tag notebooks/04_*.ipynb RUN1 RUN2      # also rewrite the tags

The first notebook is the stored one; the others are the same notebook executed elsewhere (another
thread count, `ATEN_CPU_CAPABILITY`, `MKL_CBWR`, a GPU: README, "What the tests compare"). For each code
cell the script compares what nbval compares (text and stream outputs; images, widget ids and metadata
are skipped, as nbval skips them) and prints one line per cell: `same`, `differs` or `tagged but differs`.

With --tag, a cell gets the `nbval-check-output` tag when its output is the same in every run, it is
not a `narration` cell, and its source calls no training function (a result that happened to come out
the same on these machines may not on the next); every other cell loses the tag. Review the list it
prints before committing: the rule is a start, not a proof.
"""
import argparse
import re
import sys

import nbformat

TAG = "nbval-check-output"
SKIPPED = {"image/png", "image/jpeg", "image/svg+xml", "application/vnd.jupyter.widget-view+json"}
TRAINS = re.compile(r"\b(fit|train_student|train_epoch|errors_per_seed|load_or_train|train_seeds|train)\(|\.backward\(")


def comparable(cell):
    """The parts of a cell's outputs nbval compares, in order: (kind, text)."""
    parts, streams = [], {}
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            streams[out.name] = streams.get(out.name, "") + out.text
        elif out.output_type in ("execute_result", "display_data"):
            parts += [(key, str(value)) for key, value in sorted(out.data.items()) if key not in SKIPPED]
        elif out.output_type == "error":
            parts.append(("error", out.ename))
    return sorted(streams.items()) + parts


def compare(stored, runs, retag=False):
    """Print one line per code cell; with retag, set the tags on `stored` by the rule above."""
    changed = 0
    for index, cell in enumerate(stored.cells):
        if cell.cell_type != "code":
            continue
        same = all(comparable(run.cells[index]) == comparable(cell) for run in runs)
        tags = cell.metadata.setdefault("tags", [])
        eligible = bool(same and "narration" not in tags and not TRAINS.search(cell.source) and cell.get("outputs"))
        status = "same" if same else ("tagged but differs" if TAG in tags else "differs")
        first = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")), "")
        print(f"  cell {index:3d} {status:18s} {'check' if eligible else '     '}  {first[:70]}")
        if retag and eligible != (TAG in tags):
            changed += 1
            tags.remove(TAG) if TAG in tags else tags.append(TAG)
        if not tags:
            del cell.metadata["tags"]
    return changed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stored")
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--tag", action="store_true", help="rewrite the stored notebook's nbval-check-output tags")
    args = parser.parse_args(argv)
    stored = nbformat.read(args.stored, as_version=4)
    runs = [nbformat.read(path, as_version=4) for path in args.runs]
    if any(len(run.cells) != len(stored.cells) for run in runs):
        sys.exit("the runs must be executions of the stored notebook (the same cells)")
    print(args.stored)
    changed = compare(stored, runs, retag=args.tag)
    if args.tag:
        nbformat.write(stored, args.stored)
        print(f"  {changed} tag(s) changed")


if __name__ == "__main__":
    main()
