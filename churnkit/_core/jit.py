"""numba compilation that keeps an on-disk cache where one can be written, and works where not.

``numba.njit(cache=True)`` refuses to compile -- at import time -- when neither
the package's ``__pycache__`` folder nor the user's cache folder can be written
(a read-only install, a read-only ``$HOME``, a locked-down container). Then the
functions are cached in a private folder under the temporary directory, and if
that cannot be used either, compiled without a cache (slower first calls, same
results).

The private folder must belong to the current user and be writable by nobody
else: numba's cache files are pickles, and loading files someone else planted
would run their code. numba is imported only when a function is decorated.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["cached_njit", "private_cache_dir"]


def private_cache_dir() -> str | None:
    """A cache folder under the temporary directory that only this user can write, or None."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    folder = Path(tempfile.gettempdir()) / f"churnkit-numba-{uid if uid is not None else 'user'}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    if uid is not None and info.st_uid != uid:
        return None
    if not os.access(folder, os.W_OK | os.X_OK):
        return None
    return str(folder)


def cached_njit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(cache=True, **options)``, falling back as the module docstring says."""

    def decorate(func: Callable[..., Any]) -> Any:
        from numba import njit
        from numba.core import config as numba_config

        try:
            return njit(cache=True, **options)(func)
        except RuntimeError as exc:
            if "cannot cache" not in str(exc):
                raise
        folder = private_cache_dir()
        if folder is not None:
            previous = getattr(numba_config, "CACHE_DIR", "")
            # numba.config creates its settings at run time, out of mypy's sight
            numba_config.CACHE_DIR = folder  # type: ignore[attr-defined]  # read at cache set-up
            try:
                return njit(cache=True, **options)(func)
            except RuntimeError as exc:
                if "cannot cache" not in str(exc):
                    raise
            finally:
                numba_config.CACHE_DIR = previous  # type: ignore[attr-defined]
        return njit(cache=False, **options)(func)

    return decorate
