"""Atomic file output: write to a temporary file beside the target, then rename.

Readers never see a half-written file: the temporary file lives in the same
folder as the target and replaces it with :func:`os.replace`, which is atomic
within one file system. A run killed half-way leaves the previous file intact
(and at worst a hidden ``.tmp`` file beside it).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "fsync_dir"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``path`` in one rename.

    The parent folder is created if needed. The temporary file gets the usual
    permissions (``0o666`` minus the umask); on error it is removed and
    ``path`` is left as it was.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with atomic_path(Path(tmp) / "a.txt") as part:
    ...         _ = part.write_text("done")
    ...     print((Path(tmp) / "a.txt").read_text())
    done
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    Path(tmp).chmod(0o666 & ~_umask())  # mkstemp makes owner-only files; use the usual mode
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def fsync_dir(folder: str | Path) -> None:
    """Flush a folder's entries (new or renamed files) to disk, where the platform can."""
    with contextlib.suppress(OSError):  # not every platform or file system syncs a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, flushed to disk before the rename; return the path."""
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path)


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (no newline translation) and return the path."""
    return atomic_write_bytes(path, text.encode(encoding))
