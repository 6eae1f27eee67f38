"""The package's shape: imports point down the pipeline, privately only within a sub-package.

Data flows one way (data → labels → features → model → explain → actions → report, with
evaluate, retention and the engines beside them); the foundation (`churnkit._core`) imports no
stage; jobs assemble stages; the CLI wraps jobs. These tests read the source with `ast`, so a
new upward import, a private name reached from another sub-package or an import hidden inside a
function to dodge a cycle fails here, before it spreads.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "churnkit"

# Lower layers never import higher ones. Equal ranks do not import each other.
LAYER = {
    "exceptions": 0,
    "_core": 1,
    "config": 2, "clv": 2,
    "data": 3, "datasets": 3, "retention": 3,
    "labels": 4,
    "features": 5,
    "model": 6,
    "explain": 7,
    "actions": 8, "evaluate": 8,
    "report": 9, "impact": 9,
    "scoring": 10,
    "monitoring": 10.5,  # reads the run records scoring writes
    "jobs": 11,
    "_cli_common": 11.4, "_cli_loop": 11.7,  # the CLI's shared helpers, its later commands
    "cli": 12,
    "__init__": 13, "__main__": 13,
}
# Third-party modules imported inside functions on purpose: optional extras (dask, openpyxl),
# heavy imports kept off `import churnkit` (matplotlib), thread/engine setup, or the opt-in
# loading of old pickle models (joblib).
LAZY_THIRD_PARTY = ("matplotlib", "dask", "distributed", "pyarrow", "numba", "lightgbm", "openpyxl",
                    "joblib", "mlflow")


def _sources() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        sub = rel.parts[0].removesuffix(".py")
        yield sub, path, ast.parse(path.read_text(encoding="utf-8"))


def _churnkit_imports(tree: ast.AST) -> Iterator[tuple[ast.stmt, list[str], list[str]]]:
    """(node, module path parts below churnkit, imported names) for every churnkit import."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "churnkit":
                if len(parts) == 1:  # from churnkit import x, y
                    for alias in node.names:
                        yield node, [alias.name], []
                else:
                    yield node, parts[1:], [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "churnkit" and len(parts) > 1:
                    yield node, parts[1:], []


def test_every_subpackage_has_a_layer():
    subs = {sub for sub, _, _ in _sources()}
    assert subs <= set(LAYER), f"add {sorted(subs - set(LAYER))} to LAYER"


def upward_imports(sub: str, tree: ast.AST) -> list[str]:
    """Imports from sub-package ``sub`` to one at its own or a higher layer."""
    return [f"{node.lineno}: {sub} -> {target[0]}" for node, target, _ in _churnkit_imports(tree)
            if target[0] != sub and LAYER[target[0]] >= LAYER[sub]]


# The command line's private modules, which only the command line itself may import.
CLI = {"cli", "_cli_common", "_cli_loop", "__main__"}


def private_crossings(sub: str, tree: ast.AST) -> list[str]:
    """Private modules or names of another sub-package (the foundation excepted).

    Relative imports count as crossings: the package imports absolutely, so a
    relative import could only hide one.
    """
    out = [f"{node.lineno}: relative import" for node in ast.walk(tree)
           if isinstance(node, ast.ImportFrom) and node.level > 0]
    for node, target, names in _churnkit_imports(tree):
        if target[0] in (sub, "_core"):
            continue
        if target[0].startswith("_") and sub not in CLI:  # churnkit._cli_common and the like
            out.append(f"{node.lineno}: {'.'.join(target)}")
            continue
        private = [p for p in target[1:] if p.startswith("_")] + [n for n in names if n.startswith("_")]
        if private:
            out.append(f"{node.lineno}: {'.'.join(target)} {private}")
    return out


def hidden_imports(tree: ast.AST) -> list[str]:
    """Imports inside functions, except the lazy third-party ones."""
    out = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            out += [f"{node.lineno}: {m}" for m in modules if m.split(".")[0] not in LAZY_THIRD_PARTY]
    return out


def _violations(check) -> list[str]:
    found = []
    for sub, path, tree in _sources():
        args = (tree,) if check is hidden_imports else (sub, tree)
        found += [f"{path.relative_to(PACKAGE)}:{v}" for v in check(*args)]
    return found


def test_imports_point_down():
    assert _violations(upward_imports) == []


def test_no_private_name_crosses_a_subpackage():
    assert _violations(private_crossings) == []


def test_no_import_inside_a_function_except_lazy_third_party():
    assert _violations(hidden_imports) == []


@pytest.mark.parametrize(("source", "check"), [
    ("from churnkit.jobs import train\n", lambda t: upward_imports("features", t)),
    ("from churnkit.model import ChurnModel\n", lambda t: upward_imports("data", t)),
    ("from churnkit.data._parse import infer_type\n", lambda t: private_crossings("features", t)),
    ("from churnkit.data import _parse\n", lambda t: private_crossings("features", t)),
    ("from churnkit._cli_common import out\n", lambda t: private_crossings("jobs", t)),
    ("from churnkit import _cli_loop\n", lambda t: private_crossings("report", t)),
    ("from ..data._parse import infer_type\n", lambda t: private_crossings("features", t)),
    ("def f():\n    from churnkit.config import Config\n", hidden_imports),
])
def test_the_checks_catch_what_they_are_for(source, check):
    """Each rule flags a planted violation: a rule that can never fail proves nothing."""
    assert check(ast.parse(source)) != []
