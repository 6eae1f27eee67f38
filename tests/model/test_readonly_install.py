"""churnkit imports and explains when neither its folder nor $HOME can hold numba's cache."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import churnkit

SCRIPT = """
import lightgbm as lgb, numpy as np
import churnkit
from churnkit.model import TreeExplainer
assert churnkit.__file__.startswith(__import__("sys").argv[1]), churnkit.__file__
rng = np.random.default_rng(0)
X = rng.normal(size=(300, 4))
y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1, "seed": 0},
                    lgb.Dataset(X, y), 10)
phi = TreeExplainer(booster).shap_values(X[:50])
np.testing.assert_allclose(phi, booster.predict(X[:50], pred_contrib=True), atol=1e-6)
print("explained", phi.shape[0])
"""


def _blocked_install(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the package whose __pycache__ folders, and $HOME/.cache, cannot be created.

    Each is a plain file where numba would make a folder: as unwritable to numba as a
    read-only file system, also for a root user (whom file modes do not stop).
    """
    site = tmp_path / "site"
    package = site / "churnkit"
    shutil.copytree(Path(churnkit.__file__).parent, package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for folder in [package, *[p for p in package.rglob("*") if p.is_dir()]]:
        (folder / "__pycache__").write_text("not a folder")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".cache").write_text("not a folder")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in {"NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "PYTHONPATH"}}
    env.update(HOME=str(home), TMPDIR=str(temp), PYTHONPATH=str(site),
               PYTHONDONTWRITEBYTECODE="1")
    return site, env


def _run(site: Path, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT, str(site)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
def test_read_only_install_caches_in_a_private_temporary_folder(tmp_path):
    site, env = _blocked_install(tmp_path)
    proc = _run(site, env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "explained 50" in proc.stdout
    caches = list((tmp_path / "tmp").glob("churnkit-numba-*"))
    assert len(caches) == 1
    assert any(caches[0].rglob("*.nbi"))  # numba's cache index files were written there
    assert oct(caches[0].stat().st_mode & 0o777) == oct(0o700)
    assert not list(site.rglob("*.nbi"))


@pytest.mark.slow
def test_without_any_usable_cache_folder_it_compiles_without_a_cache(tmp_path):
    site, env = _blocked_install(tmp_path)
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    (tmp_path / "tmp" / f"churnkit-numba-{uid}").write_text("taken")  # someone else's name
    proc = _run(site, env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "explained 50" in proc.stdout
    assert not list(tmp_path.rglob("*.nbi"))
