"""Saving and loading models with an integrity-checked manifest.

A model folder holds ``model.joblib`` (the fitted :class:`ChurnModel` with its
feature set), ``model.txt`` (LightGBM's native text model, readable by any
LightGBM) and ``manifest.json`` (versions, features, categories, config,
training window, validation metrics and the sha256 of every file).

``model.joblib`` is a pickle: loading it runs code. Only load models from a
trusted source. :func:`load_model` verifies the hashes and versions in the
manifest *before* unpickling anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any

import joblib
import lightgbm
import numpy as np
import pandas as pd
import sklearn

from churnkit._core import __version__
from churnkit.exceptions import ModelError

__all__ = ["load_manifest", "load_model", "save_model"]

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, pd.Timestamp | Path):
        return str(obj)
    return obj


def save_model(model: Any, path: str | Path, **extra: Any) -> Path:
    """Write a fitted model to the folder ``path`` (replaced atomically).

    Parameters
    ----------
    model : ChurnModel
        A fitted model.
    path : path-like
        Target folder, e.g. ``models/sample-crm``.
    **extra
        More manifest entries (``config``, ``training`` window...), JSON-serialisable.

    Returns
    -------
    Path
        The model folder.
    """
    if not hasattr(model, "booster_"):
        raise ModelError("Cannot save an unfitted model. Call 'fit' first.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        joblib.dump(model, tmp / "model.joblib", compress=3)
        model.booster_.save_model(str(tmp / "model.txt"))
        fs = getattr(model, "feature_set_", None)
        manifest = {
            "format_version": FORMAT_VERSION,
            "model_version": model.version_,
            "versions": {
                "churnkit": __version__, "lightgbm": lightgbm.__version__,
                "scikit-learn": sklearn.__version__, "pandas": pd.__version__,
                "numpy": np.__version__, "python": platform.python_version(),
            },
            "features": list(model.feature_names_in_),
            "categories": model.categories_,
            "event_tables": sorted(fs.events_) if fs is not None else [],
            "metrics": model.metrics_,
            "params": model.get_params(),
            **extra,
            "files": {name: _sha256(tmp / name) for name in ("model.joblib", "model.txt")},
        }
        (tmp / MANIFEST).write_text(json.dumps(_jsonable(manifest), indent=2, sort_keys=True))
        backup = None
        if path.exists():
            backup = path.with_name(f".{path.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            os.replace(path, backup)
        os.replace(tmp, path)
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def load_manifest(path: str | Path) -> dict[str, Any]:
    """Read a model folder's manifest and verify every file's sha256 and the versions."""
    path = Path(path)
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise ModelError(
            f"{path} is not a churnkit model folder: {MANIFEST} is missing. "
            "Train one with 'churnkit train --out DIR'."
        )
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{mpath} is not valid JSON ({exc}); the artifact is damaged.") from None
    for name, expected in manifest.get("files", {}).items():
        fpath = path / name
        if not fpath.is_file():
            raise ModelError(f"Model artifact {fpath} is missing; the model folder is incomplete.")
        if _sha256(fpath) != expected:
            raise ModelError(
                f"Model artifact {fpath} failed its integrity check (sha256 differs from "
                f"{MANIFEST}): the file was modified or truncated. Retrain or restore the model."
            )
    if not manifest.get("files"):
        raise ModelError(f"{mpath} lists no files to verify; the artifact is damaged.")
    versions = manifest.get("versions", {})
    saved_ck = str(versions.get("churnkit", "?"))
    if saved_ck.split(".")[:2] != __version__.split(".")[:2]:
        raise ModelError(
            f"The model at {path} was saved by churnkit {saved_ck}; this is churnkit "
            f"{__version__}. Retrain the model with this version."
        )
    saved_lgb = str(versions.get("lightgbm", "?"))
    if saved_lgb.split(".")[0] != lightgbm.__version__.split(".")[0]:
        raise ModelError(
            f"The model at {path} was saved with LightGBM {saved_lgb}; LightGBM "
            f"{lightgbm.__version__} is installed. Install LightGBM {saved_lgb} or retrain."
        )
    return manifest


def load_model(path: str | Path) -> Any:
    """Load a model folder written by :func:`save_model`.

    The manifest's hashes and versions are checked before ``model.joblib`` is
    unpickled. Pickles run code when loaded: only load models from a trusted source.

    Raises
    ------
    ModelError
        If the folder is incomplete, a file was modified, or versions are incompatible.
    """
    manifest = load_manifest(path)
    model = joblib.load(Path(path) / "model.joblib")
    if type(model).__name__ != "ChurnModel" or not hasattr(model, "booster_"):
        raise ModelError(f"{path}/model.joblib does not hold a fitted ChurnModel.")
    model.manifest_ = manifest
    return model
