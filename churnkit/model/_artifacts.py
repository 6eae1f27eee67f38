"""Saving and loading model folders: data only, an integrity-checked manifest, atomic swaps.

A model folder holds:

- ``model.txt``: LightGBM's native text model (the trees), readable by any LightGBM;
- ``model.json``: the :class:`ChurnModel` around the trees -- parameters, feature
  names, categories, the calibration's numbers, validation metrics, version;
- ``features.json``: the fitted feature set -- every transformer's parameters and
  state (category levels, windows, aggregations, text vocabulary with idf weights,
  SVD components), see :mod:`churnkit.features._state`;
- ``reasons.json`` (when trained by :func:`churnkit.train`): the reason groups of
  the training configuration;
- ``training_profile.json`` (when trained by :func:`churnkit.train`): the
  distributions of the training features and scores on fixed bins, the reference
  of drift monitoring (see :mod:`churnkit.model._profile`);
- ``manifest.json``: versions, features, categories, config, training window,
  metrics, the sha256 of every other file, and a digest of the manifest's own
  content; with the environment variable ``CHURNKIT_MODEL_KEY`` set when saving,
  an HMAC-SHA256 signature of that content.

Loading parses JSON and LightGBM's text format only: a modified folder can hold
wrong numbers, but it never runs code. :func:`load_model` refuses a folder whose
files differ from its manifest (a file missing, an extra file, a changed byte),
and, with ``CHURNKIT_MODEL_KEY`` set, a manifest that is unsigned or signed with
another key. Folders saved by earlier churnkit versions held a pickle (``model.joblib``),
which runs code when loaded; they load only with ``trust_pickle=True``.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import hmac
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
import sklearn

from churnkit._core import __version__, fsync_dir
from churnkit._core.state import dump_state, plain_json
from churnkit.exceptions import ModelError
from churnkit.features import feature_set_from_state, feature_set_state
from churnkit.model._state import model_from_state, model_state

__all__ = ["KEY_ENV", "load_manifest", "load_model", "save_model"]

MANIFEST = "manifest.json"
BOOSTER = "model.txt"
STATE = "model.json"
FEATURES = "features.json"
REASONS = "reasons.json"
PROFILE = "training_profile.json"
LEGACY_PICKLE = "model.joblib"
FORMAT_VERSION = 2
KEY_ENV = "CHURNKIT_MODEL_KEY"
"""Environment variable holding the key that signs (when saving) and checks (when loading)."""
_REQUIRED = (BOOSTER, STATE, FEATURES)
_KNOWN = {*_REQUIRED, REASONS, PROFILE}
_MAX_JSON_BYTES = 1 << 30


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _canonical(manifest: dict[str, Any]) -> bytes:
    """The manifest's content without its digest and signature, in one canonical form."""
    body = {k: v for k, v in manifest.items() if k not in ("digest", "signature")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode()


def _key() -> bytes | None:
    key = os.environ.get(KEY_ENV, "")
    return key.encode() if key else None


def _sign(content: bytes, key: bytes) -> str:
    return "hmac-sha256:" + hmac.new(key, content, hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------- saving
def _write(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())




def _backup_of(path: Path) -> Path:
    return path.with_name(f".{path.name}.old")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux ``renameat2``); ``False`` where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a C library without renameat2
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # a file system without atomic exchange
    raise OSError(code, os.strerror(code), str(b))


def _host() -> str:
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40]


def _saving_prefix(path: Path) -> str:
    """The name start of a save's temporary folder: the path, this process and this host."""
    return f".{path.name}.saving-{os.getpid()}-{_host()}-"


def _remove_leftovers(path: Path) -> None:
    """Delete the temporary folders of saves to ``path`` whose process no longer runs.

    A save killed after writing its folder (or after an exchange, which leaves
    the old model under the temporary name) leaves it beside ``path``; the
    folder name holds the saving process's id and host, so a save still running
    here, or on another host sharing the folder, is never touched. Windows has
    no harmless way to ask whether a process runs, so nothing is removed there.
    """
    if os.name != "posix" or not path.parent.is_dir():
        return
    head = f".{path.name}.saving-"
    host = f"{_host()}-"
    for entry in path.parent.iterdir():
        pid, _, rest = entry.name[len(head):].partition("-")
        if not entry.name.startswith(head) or not pid.isdigit() or not rest.startswith(host):
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except OSError:  # alive under another user, or not ours to ask
            continue


def _install(new: Path, path: Path) -> None:
    """Put the complete folder ``new`` at ``path``, which is the old or the new model throughout.

    Where the file system can exchange two folders atomically, that is one step.
    Elsewhere the old folder is moved to a hidden backup beside ``path`` for the
    instant between two renames, and :func:`load_model` reads the backup when
    ``path`` is missing, so a save killed at any step leaves a loadable model.
    """
    backup = _backup_of(path)
    if not os.path.lexists(path):
        os.replace(new, path)
    elif _exchange(new, path):
        fsync_dir(path.parent)
        shutil.rmtree(new, ignore_errors=True)  # the old model, now under the temporary name
    else:
        shutil.rmtree(backup, ignore_errors=True)
        os.replace(path, backup)
        os.replace(new, path)
    fsync_dir(path.parent)
    shutil.rmtree(backup, ignore_errors=True)


def _check_target(path: Path) -> None:
    if os.path.lexists(path) and not path.is_dir():
        raise ModelError(f"Cannot save the model to {path}: it is a file, not a folder. "
                         "Choose a folder path, e.g. models/my-model.")
    if path.is_dir() and not (path / MANIFEST).is_file() and any(path.iterdir()):
        raise ModelError(
            f"Cannot save the model to {path}: the folder exists, is not empty and is not a "
            "churnkit model folder (no manifest.json), so replacing it could delete your files. "
            "Choose a new folder path, or empty this one."
        )


def save_model(model: Any, path: str | Path, **extra: Any) -> Path:
    """Write a fitted model to the folder ``path``, replacing any model there atomically.

    The folder is first written complete beside ``path`` and then swapped in, so
    that ``path`` holds the old model or the new one at every instant.

    Parameters
    ----------
    model : ChurnModel
        A fitted model.
    path : path-like
        Target folder, e.g. ``models/sample-crm``.
    **extra
        More manifest entries (``config``, ``training`` window...), JSON-serialisable.
        The model's ``config_`` and ``training_`` are written as ``config`` and
        ``training`` unless given here.

    Returns
    -------
    Path
        The model folder.
    """
    if not hasattr(model, "booster_"):
        raise ModelError("Cannot save an unfitted model. Call 'fit' first.")
    path = Path(path)
    _check_target(path)
    fs = getattr(model, "feature_set_", None)
    contents = {
        STATE: dump_state(model_state(model), STATE),
        FEATURES: dump_state(None if fs is None else feature_set_state(fs), FEATURES),
    }
    if getattr(model, "reasons_", None) is not None:
        contents[REASONS] = dump_state(model.reasons_, REASONS)
    if getattr(model, "training_profile_", None) is not None:
        contents[PROFILE] = dump_state(model.training_profile_, PROFILE)
    for name in ("config", "training"):
        if name not in extra and getattr(model, f"{name}_", None) is not None:
            extra[name] = getattr(model, f"{name}_")
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(path)
    tmp = Path(tempfile.mkdtemp(prefix=_saving_prefix(path), dir=path.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes an owner-only folder; use the usual mode
        model.booster_.save_model(str(tmp / BOOSTER))
        for name, data in contents.items():
            _write(tmp / name, data)
        manifest = plain_json({
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
            "files": {name: _sha256(tmp / name) for name in sorted([BOOSTER, *contents])},
        })
        content = _canonical(manifest)
        manifest["digest"] = "sha256:" + hashlib.sha256(content).hexdigest()
        key = _key()
        if key is not None:
            manifest["signature"] = _sign(content, key)
        _write(tmp / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False)
                                + "\n").encode())
        fsync_dir(tmp)
        _install(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


# ----------------------------------------------------------------------------- loading
def _folder(path: Path) -> Path:
    """The model folder at ``path``, or its backup while a save on another file system swaps it."""
    if path.is_dir():
        return path
    backup = _backup_of(path)
    if not os.path.lexists(path) and (backup / MANIFEST).is_file():
        return backup
    if os.path.lexists(path):
        raise ModelError(f"{path} is a file, not a model folder. Pass the folder written by "
                         "'churnkit train --out DIR'.")
    raise ModelError(f"The model folder {path} does not exist. Train one with "
                     "'churnkit train --out DIR', or check the path.")


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


def _read_json(path: Path) -> Any:
    if path.stat().st_size > _MAX_JSON_BYTES:
        raise ModelError(f"{path} is larger than 1 GB, more than any model file; the folder is "
                         "damaged. Restore it from a backup or train the model again.")
    try:
        return json.loads(path.read_bytes().decode("utf-8"), parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ModelError(f"{path} is not valid JSON ({str(exc)[:200]}); the model folder is "
                         "damaged. Restore it from a backup or train the model again.") from None


def _check_versions(manifest: dict[str, Any], path: Path) -> None:
    versions = manifest.get("versions")
    versions = versions if isinstance(versions, dict) else {}
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


def _check_files(manifest: dict[str, Any], path: Path, mpath: Path) -> None:
    files = manifest.get("files")
    if not isinstance(files, dict) or not files or not all(
            isinstance(v, str) for v in files.values()):
        raise ModelError(f"{mpath} lists no files to verify; the model folder is damaged. "
                         "Restore it from a backup or train the model again.")
    for name in files:
        if name in (MANIFEST, "", ".", "..") or Path(name).name != name:
            raise ModelError(f"{mpath} lists {name!r}, which is not a file of a model folder; "
                             "the manifest was modified. Restore the folder or retrain.")
    present = {p.name for p in path.iterdir()} - {MANIFEST}
    for name in sorted(files):
        if name not in present:
            raise ModelError(f"Model file {path / name} is missing (it is listed in {MANIFEST}); "
                             "the model folder is incomplete. Restore it from a backup or train "
                             "the model again.")
    extra = sorted(present - set(files))
    if extra:
        raise ModelError(
            f"Model folder {path} holds {path / extra[0]}"
            f"{f' and {len(extra) - 1} more' if len(extra) > 1 else ''}, which {MANIFEST} does "
            "not list; a model folder holds only the files its manifest lists. Remove the file "
            "if you added it, or restore the folder from a backup."
        )
    for name, expected in sorted(files.items()):
        fpath = path / name
        if not fpath.is_file() or _sha256(fpath) != expected:
            raise ModelError(
                f"Model file {fpath} failed its integrity check (sha256 differs from "
                f"{MANIFEST}): the file was modified or truncated. Restore the folder from a "
                "backup or train the model again."
            )


def _check_signature(manifest: dict[str, Any], mpath: Path, *, legacy: bool) -> None:
    if not legacy:
        content = _canonical(manifest)
        if manifest.get("digest") != "sha256:" + hashlib.sha256(content).hexdigest():
            raise ModelError(
                f"{mpath} was modified: its digest does not match its content. Restore the "
                "model folder from a backup or train the model again."
            )
    key = _key()
    if key is None:
        return
    signature = manifest.get("signature")
    if not isinstance(signature, str):
        raise ModelError(
            f"{mpath} is not signed, and {KEY_ENV} is set, so only signed models are loaded. "
            f"Save the model again with {KEY_ENV} set to the same key, or unset {KEY_ENV} to "
            "load unsigned models."
        )
    if legacy or not hmac.compare_digest(signature, _sign(_canonical(manifest), key)):
        raise ModelError(
            f"{mpath} is signed with another key than {KEY_ENV} (or was modified after "
            f"signing). Check {KEY_ENV}, or restore the model folder from a backup."
        )


def load_manifest(path: str | Path) -> dict[str, Any]:
    """Read a model folder's manifest after verifying the folder against it.

    Checks the manifest's digest (and signature, with ``CHURNKIT_MODEL_KEY``
    set), that the folder holds exactly the files the manifest lists with their
    sha256, and the churnkit and LightGBM versions. Reads no model file.

    Raises
    ------
    ModelError
        Naming the file at fault and the fix.
    """
    path = _folder(Path(path))
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise ModelError(
            f"{path} is not a churnkit model folder: {MANIFEST} is missing. "
            "Train one with 'churnkit train --out DIR'."
        )
    manifest = _read_json(mpath)
    if not isinstance(manifest, dict):
        raise ModelError(f"{mpath} does not hold a JSON object; the model folder is damaged. "
                         "Restore it from a backup or train the model again.")
    version = manifest.get("format_version")
    legacy = version == 1
    if not legacy and version != FORMAT_VERSION:
        raise ModelError(
            f"{mpath}: format_version {version!r} is not one this churnkit {__version__} reads "
            f"({FORMAT_VERSION}). Load it with the churnkit that saved it, or train it again."
        )
    _check_signature(manifest, mpath, legacy=legacy)
    _check_files(manifest, path, mpath)
    listed = set(manifest["files"])
    required, known = ({LEGACY_PICKLE}, {BOOSTER, LEGACY_PICKLE}) if legacy else (
        set(_REQUIRED), _KNOWN)
    if not required <= listed <= known:
        raise ModelError(f"{mpath} lists the files {sorted(listed)}; a model folder holds "
                         f"{sorted(known)}. Restore the folder or train the model again.")
    _check_versions(manifest, path)
    return manifest


def load_model(path: str | Path, *, trust_pickle: bool = False) -> Any:
    """Load a model folder written by :func:`save_model`.

    The folder is verified against its manifest (see :func:`load_manifest`),
    then rebuilt from LightGBM's text model and JSON only: no code saved in the
    folder runs.

    Parameters
    ----------
    path : path-like
        The model folder.
    trust_pickle : bool, default False
        Also load a folder saved by an older churnkit, whose ``model.joblib`` is a
        pickle: loading a pickle runs code, so pass ``True`` only for a model from a
        trusted source (then save it again to get a folder of data).

    Returns
    -------
    ChurnModel

    Raises
    ------
    ModelError
        If the folder is incomplete, holds extra or modified files, is unsigned
        or wrongly signed while ``CHURNKIT_MODEL_KEY`` is set, holds a pickle
        without ``trust_pickle=True``, or versions are incompatible.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np, pandas as pd
    >>> from churnkit import ChurnModel, load_model, save_model
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    >>> y = X["a"] + rng.normal(size=400) > 0.5
    >>> model = ChurnModel(n_estimators=20, min_child_samples=20, n_jobs=1).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_model(model, f"{tmp}/m")
    ...     sorted(p.name for p in path.iterdir())
    ...     same = load_model(path)
    ['features.json', 'manifest.json', 'model.json', 'model.txt']
    >>> bool((same.predict_proba(X) == model.predict_proba(X)).all())
    True
    """
    folder = _folder(Path(path))
    manifest = load_manifest(folder)
    if manifest.get("format_version") == 1:
        return _load_pickle(folder, manifest, trust_pickle=trust_pickle)
    try:
        booster = lightgbm.Booster(model_file=str(folder / BOOSTER))
    except (lightgbm.basic.LightGBMError, ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{folder / BOOSTER} is not a LightGBM model LightGBM "
                         f"{lightgbm.__version__} can read ({str(exc)[:200]}). Train the model "
                         "again.") from None
    model = model_from_state(_read_json(folder / STATE), booster, str(folder / STATE))
    fs_data = _read_json(folder / FEATURES)
    if fs_data is not None:
        fs = feature_set_from_state(fs_data, str(folder / FEATURES))
        if list(fs.feature_names_) != list(model.feature_names_in_):
            raise ModelError(
                f"{folder / FEATURES} builds other features than {folder / STATE} expects; the "
                "folder mixes two models. Restore it from a backup or train the model again."
            )
        model.feature_set_ = fs
    if REASONS in manifest["files"]:
        reasons = _read_json(folder / REASONS)
        if not isinstance(reasons, dict):
            raise ModelError(f"{folder / REASONS} does not hold a reasons configuration (a JSON "
                             "object). Restore the folder or train the model again.")
        model.reasons_ = reasons
    if PROFILE in manifest["files"]:
        profile = _read_json(folder / PROFILE)
        if not isinstance(profile, dict) or not isinstance(profile.get("features"), dict):
            raise ModelError(f"{folder / PROFILE} does not hold a training profile (a JSON "
                             "object with 'features'). Restore the folder or train the model "
                             "again.")
        model.training_profile_ = profile
    for name in ("config", "training"):
        if isinstance(manifest.get(name), dict):
            setattr(model, f"{name}_", manifest[name])
    model.manifest_ = manifest
    return model


def _load_pickle(folder: Path, manifest: dict[str, Any], *, trust_pickle: bool) -> Any:
    """A model saved by an older churnkit as a pickle, only when the caller trusts it."""
    if not trust_pickle:
        raise ModelError(
            f"{folder / LEGACY_PICKLE} is a pickle saved by an older churnkit; loading a pickle "
            "runs code, so it is not loaded by default. If the model comes from a trusted "
            "source, load it once with --trust-pickle (load_model(path, trust_pickle=True)) and "
            "save it again, or train it again."
        )
    import joblib

    model = joblib.load(folder / LEGACY_PICKLE)
    if type(model).__name__ != "ChurnModel" or not hasattr(model, "booster_"):
        raise ModelError(f"{folder / LEGACY_PICKLE} does not hold a fitted ChurnModel.")
    model.manifest_ = manifest
    return model
