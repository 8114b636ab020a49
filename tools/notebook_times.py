"""Measured run times of executed notebooks, read from the timestamps nbclient stores.

    python tools/notebook_times.py                          # every notebooks/NN_*.ipynb
    python tools/notebook_times.py notebooks/05_*.ipynb --top 8
    python tools/notebook_times.py notebooks/05_*.ipynb --from "## 2." --to "## 3."   # a live path

`jupyter nbconvert --execute` (nbclient) records, in each code cell's metadata.execution, when
the kernel started the cell (iopub.execute_input) and when it replied (shell.execute_reply). A
cell's time is the difference; a notebook's time is from its first cell's start to its last
cell's reply (kernel start-up, about two seconds, is not included). --from TEXT adds up the cells
from the first cell whose source contains TEXT to the end (or, with --to TEXT2, up to the first
later cell containing TEXT2): what re-running those cells costs after changing a setting, with
the data and the teacher already in memory. The times are those of the machine and the moment of the
stored run: run it on the executed notebooks of the final run.
"""
import argparse
import sys
from datetime import datetime
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def _stamp(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def cell_times(nb):
    """[(cell index, seconds, first source line)] for every code cell that has both timestamps."""
    rows = []
    for i, cell in enumerate(nb.cells):
        ex = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in ex and "shell.execute_reply" in ex:
            seconds = (_stamp(ex["shell.execute_reply"]) - _stamp(ex["iopub.execute_input"])).total_seconds()
            lines = cell.source.splitlines()
            code_lines = [line for line in lines if line.strip() and not line.startswith("#")]
            first = code_lines[0] if code_lines else (lines[0] if lines else "")  # the first line of code
            rows.append((i, seconds, first.strip()))
    return rows


def notebook_total(nb):
    """Seconds from the first cell's start to the last cell's reply, or None without timestamps."""
    starts, ends = [], []
    for cell in nb.cells:
        ex = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in ex and "shell.execute_reply" in ex:
            starts.append(_stamp(ex["iopub.execute_input"]))
            ends.append(_stamp(ex["shell.execute_reply"]))
    return (max(ends) - min(starts)).total_seconds() if starts else None


def span(nb, marker, until=None):
    """(first, stop, seconds): the code cells from the first cell whose source contains marker up
    to (not including) the first later cell containing until (default: to the end)."""
    start = next((i for i, c in enumerate(nb.cells) if marker in c.source), None)
    if start is None:
        return None, None, None
    stop = len(nb.cells)
    if until is not None:
        stop = next((i for i, c in enumerate(nb.cells) if i > start and until in c.source), None)
        if stop is None:
            return start, None, None
    return start, stop, sum(s for i, s, _ in cell_times(nb) if start <= i < stop)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="executed notebooks (default: notebooks/NN_*.ipynb)")
    parser.add_argument("--top", type=int, default=3, help="how many of the slowest cells to list (default 3)")
    parser.add_argument("--from", dest="marker", help="also add up the cells from the first cell containing this")
    parser.add_argument("--to", dest="until", help="with --from: stop before the first later cell containing this")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.notebooks] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    grand = 0.0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        total, rows = notebook_total(nb), cell_times(nb)
        if total is None:
            print(f"{path.name}: no execution timestamps (execute it with jupyter nbconvert --execute)")
            continue
        grand += total
        print(f"{path.name}: {total:.1f} s from first cell to last reply; cells add up to "
              f"{sum(s for _, s, _ in rows):.1f} s over {len(rows)} code cells")
        for i, seconds, first in sorted(rows, key=lambda r: -r[1])[: args.top]:
            print(f"    cell {i:2d}: {seconds:6.1f} s  {first[:70]}")
        if args.marker:
            start, stop, seconds = span(nb, args.marker, args.until)
            if start is None or stop is None:
                missing = args.marker if start is None else args.until
                print(f"    no cell contains {missing!r}")
            else:
                end = "the end" if args.until is None else f"cell {stop} ({args.until!r}, not included)"
                print(f"    cells {start} ({args.marker!r}) to {end}: {seconds:.1f} s")
    if len(paths) > 1:
        print(f"all {len(paths)} notebooks: {grand:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
