"""The course's promise, as a check: every number in a notebook's prose is computed by a cell.

    python tools/claims.py notebooks/*.ipynb

A number in a markdown cell is "backed" when some code cell's source or stored text output
holds the same value to the prose's own precision (prose 0.912 is backed by 0.9118; 97.5% by
0.975 too; thousands separators are ignored). Not checked, because they are not results:
  - integers below 100 and years (counts of epochs, seeds, section numbers);
  - version numbers ("PyTorch 2.14") and architectures written as 784-1200-1200-10;
  - anything in inline code or math (`LR = 0.005`, $e^{-10}$: settings and formulas);
  - lines that name a source outside the notebook ("paper", "Hinton", "seed article",
    "recorded"): a figure quoted from the literature or a recorded run says where it is from.
Used by tests/unit/test_claims.py (the stored notebooks) and by tests/integration/
test_rerun_settings.py (the notebooks re-run at other settings).
"""
import json
import re
import sys

NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?!\w)(%?)")
CODE_OR_MATH = re.compile(r"`[^`]*`|\$\$.*?\$\$|\$[^$]*\$")
VERSION_BEFORE = re.compile(r"(?:PyTorch|Python|torch|torchvision|version|JupyterLab|numpy|v)\s*$", re.I)
SOURCES = ("paper", "hinton", "seed article", "recorded")


def _text(value):
    return "".join(value) if isinstance(value, list) else (value or "")


def split_cells(nb):
    """(list of (cell index, markdown text), all code sources and text outputs as one string)"""
    prose, computed = [], []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            prose.append((i, _text(cell["source"])))
        elif cell["cell_type"] == "code":
            computed.append(_text(cell["source"]))
            for out in cell.get("outputs", []):
                computed.append(_text(out.get("text")))
                computed += [_text(v) for k, v in out.get("data", {}).items() if k.startswith("text/")]
    return prose, "\n".join(computed)


def values(text):
    return {float(m.group(1).replace(",", "")) for m in NUMBER.finditer(text)}


def backed(token, percent, computed):
    """Does some computed value equal the prose number to the prose's precision?"""
    value = float(token.replace(",", ""))
    places = len(token.split(".")[1]) if "." in token else 0
    tol = 0.5 * 10.0**-places + 1e-12
    targets = [(value, tol)] + ([(value / 100, tol / 100)] if percent else [])
    return any(abs(c - v) <= t for v, t in targets for c in computed)


def unbacked_numbers(nb):
    """[(cell index, number as written, the line)] for every prose number no cell computes."""
    prose, computed_text = split_cells(nb)
    computed = values(computed_text)
    found = []
    for index, text in prose:
        for line in text.splitlines():
            if any(source in line.lower() for source in SOURCES):
                continue
            plain = CODE_OR_MATH.sub(lambda m: " " * len(m.group(0)), line)
            for m in NUMBER.finditer(plain):
                token, percent = m.group(1), m.group(2)
                if VERSION_BEFORE.search(plain[: m.start()]):
                    continue
                if re.match(r"-\d", plain[m.end(): m.end() + 2]) or re.search(r"\d-$", plain[: m.start()]):
                    continue  # an architecture, 784-1200-1200-10
                value = float(token.replace(",", ""))
                if "." not in token and (value < 100 or 1900 <= value <= 2100):
                    continue
                if not backed(token, percent, computed):
                    found.append((index, token + percent, line.strip()))
    return found


def main(paths):
    total = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
        for cell, token, line in unbacked_numbers(nb):
            total += 1
            print(f"{path}: cell {cell}: {token}: {line[:150]}")
    print(f"{total} numbers in prose that no cell computes")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
