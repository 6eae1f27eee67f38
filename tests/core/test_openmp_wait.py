"""Idle OpenMP threads of LightGBM and numba sleep instead of spinning, unless the user chose."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = "import os, churnkit, lightgbm, numba; print(os.environ.get('OMP_WAIT_POLICY'))"


pytestmark_subprocess = pytest.mark.slow  # each starts a Python that imports churnkit


def _run(env_value):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if env_value is not None:
        env["OMP_WAIT_POLICY"] = env_value
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


@pytestmark_subprocess
def test_importing_churnkit_sets_passive_waiting():
    assert _run(None) == "PASSIVE"


@pytestmark_subprocess
def test_a_policy_the_user_set_wins():
    assert _run("ACTIVE") == "ACTIVE"


def test_the_setting_comes_before_any_import_in_the_package_root():
    """Order matters: LightGBM reads the variable when its OpenMP runtime starts."""
    root = Path(__file__).resolve().parents[2] / "churnkit" / "__init__.py"
    body = ast.parse(root.read_text(encoding="utf-8")).body
    first_churnkit_import = next(
        i for i, node in enumerate(body)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("churnkit"))
    setting = next(i for i, node in enumerate(body) if "OMP_WAIT_POLICY" in ast.dump(node))
    assert setting < first_churnkit_import
