"""The CLI stays thin: every function of its command modules fits on one screen.

A command parses options, calls one job and hands the result to a printing helper; when one
grows past the limit, its printing or assembly belongs in a small private function beside it.
Measured with ``ast`` from the first decorator to the last line, both included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "churnkit"
MODULES = ("cli.py", "_cli_loop.py")
MAX_LINES = 25


def function_lengths(source: str) -> dict[str, int]:
    """Lines of every function (nested ones too), from its first decorator to its last line."""
    lengths = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            assert node.end_lineno is not None
            lengths[f"{node.name} (line {first})"] = node.end_lineno - first + 1
    return lengths


def test_the_measure_counts_decorators_and_the_last_line():
    source = "@app.command()\n@other\ndef f(\n    x: int,\n) -> None:\n    pass\n\n\ndef g(): ...\n"
    assert function_lengths(source) == {"f (line 1)": 6, "g (line 9)": 1}


@pytest.mark.parametrize("module", MODULES)
def test_every_cli_function_is_at_most_25_lines(module):
    lengths = function_lengths((PACKAGE / module).read_text(encoding="utf-8"))
    assert lengths, f"no functions found in {module}"
    too_long = {name: n for name, n in lengths.items() if n > MAX_LINES}
    assert too_long == {}, f"{module}: split these into a thin command and private helpers"
