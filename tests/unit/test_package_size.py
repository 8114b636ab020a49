"""The core a learner reads stays readable in one sitting (issue 21): kd_helpers/*.py without the
classroom tooling (kd_helpers/classroom/) at most 1,000 lines for the MNIST course and 250 more for
the language-model helpers, no file over 200 lines, no function over 40 lines."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "kd_helpers"
LANGUAGE_MODEL = {"gpt.py", "lm.py", "text.py"}
CORE = sorted(PACKAGE.glob("*.py"))  # classroom/ is a subpackage: not in the glob


def lines(path):
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_core_is_at_most_1000_lines_plus_250_for_language_models():
    mnist = sum(lines(p) for p in CORE if p.name not in LANGUAGE_MODEL)
    language = sum(lines(p) for p in CORE if p.name in LANGUAGE_MODEL)
    assert mnist <= 1000, f"the MNIST core is {mnist} lines"
    assert language <= 250, f"the language-model helpers are {language} lines"


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_no_file_over_200_lines_and_no_function_over_40(path):
    assert lines(path) <= 200
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = [(n.name, n.end_lineno - n.lineno + 1) for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 40]
    assert not long, f"functions over 40 lines: {long}"
