"""Runs whose output files appear together or not at all, one run per folder at a time.

A run (``churnkit score``: scores and rejects; ``churnkit report``: the at-risk
CSV, workbook and pages) writes several files that belong together. Each file
is replaced atomically by :func:`os.replace`, but a run killed between two
replacements would leave new scores beside old rejects, or a new list beside
the pages of managers who no longer have customers. The files sit beside
other files (the demo folder holds data, model and lists), so the folder itself
cannot be swapped in one rename; a run therefore commits like a database:

1. **lock** -- ``.churnkit.lock`` in the output folder, created exclusively and
   holding the process id, refuses a second run into the same folder; a lock
   left by a process that no longer runs (on this host) is taken over;
2. **stage** -- every file is written in full to a hidden
   ``.<name>.<run>.churnkit-part<suffix>`` file beside its target, on the same
   file system, and flushed to disk;
3. **commit** -- one atomic write of the journal ``.churnkit-run.json`` listing
   the replacements and removals; this is the single point where the run
   switches from "old" to "new";
4. **apply** -- the staged files are renamed over their targets, stale files
   removed, and the journal deleted.

A run that dies before step 3 leaves the old outputs (and hidden part files,
swept by the next run). One that dies during step 4 leaves a journal: the next
run into the folder, and every churnkit reader of it (:func:`settle`), first
completes the journal's renames, so the folder is always seen as the old run
or the new run, never a mix.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from churnkit._core.atomic import fsync_dir
from churnkit.exceptions import OutputError

__all__ = ["JOURNAL_NAME", "LOCK_NAME", "OutputRun", "output_run", "run_lock", "settle"]

LOCK_NAME = ".churnkit.lock"
"""The lock file of a folder a run writes into."""
JOURNAL_NAME = ".churnkit-run.json"
"""The commit record of a run whose renames are under way."""
_PART = ".churnkit-part"
_HELD: dict[Path, tuple[int, int]] = {}  # folder -> (pid, depth) of the locks this process holds


# ----------------------------------------------------------------------------- lock
def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OSError:
        return True
    return True


def _holder(text: str) -> dict[str, Any]:
    try:
        info = json.loads(text)
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


def _stale(info: dict[str, Any]) -> bool:
    """Whether a lock's holder is known to be gone: a dead process on this host."""
    pid = info.get("pid")
    if not isinstance(pid, int) or info.get("host") != socket.gethostname():
        return False
    return not _alive(pid)


def _take_over(lock: Path, seen: str) -> None:
    """Remove the stale lock whose text was ``seen``, unless another run replaced it meanwhile."""
    grave = lock.with_name(f"{lock.name}.{uuid.uuid4().hex}.stale")
    try:
        lock.rename(grave)
    except FileNotFoundError:
        return  # another run took it over first
    try:
        if grave.read_text(encoding="utf-8") != seen:  # a live lock taken meanwhile: put it back
            with contextlib.suppress(FileExistsError):
                os.link(grave, lock)
    finally:
        grave.unlink(missing_ok=True)


def _create(lock: Path, text: str) -> None:
    """Create ``lock`` holding ``text``, or raise FileExistsError; never an empty lock file.

    The text is written to a hidden file first and hard-linked to the lock's
    name, so a process killed half-way leaves no lock without its process id.
    """
    part = lock.with_name(f"{lock.name}.{uuid.uuid4().hex[:12]}{_PART}")
    part.write_text(text, encoding="utf-8")
    try:
        os.link(part, lock)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: create it in place
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    finally:
        part.unlink(missing_ok=True)


def _acquire(folder: Path, command: str) -> Path:
    lock = folder / LOCK_NAME
    text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                       "started": time.strftime("%Y-%m-%d %H:%M:%S")})
    for _ in range(5):
        try:
            _create(lock, text)
        except FileExistsError:
            try:
                seen = lock.read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            info = _holder(seen)
            if _stale(info):
                _take_over(lock, seen)
                continue
            who = (f"process {info['pid']} on {info.get('host')}, started {info.get('started')}"
                   if "pid" in info else "a process")
            raise OutputError(
                f"Another churnkit run ({who}) is writing into {str(folder)!r}: its lock file "
                f"{str(lock)!r} exists. Wait until it ends, or write to another folder. If no "
                "churnkit run is going on, delete the lock file."
            ) from None
        return lock
    raise OutputError(f"Cannot take the lock file {str(lock)!r}: it keeps changing. Try again.")


@contextlib.contextmanager
def run_lock(*folders: str | Path, command: str = "churnkit") -> Iterator[None]:
    """Hold the lock of each folder (created if needed) for the duration of a run.

    A process may take the same folder's lock again while it holds it (a job
    that calls another job). A second process is refused with an
    :class:`~churnkit.exceptions.OutputError` naming the lock file and the fix;
    a lock left behind by a process that no longer runs is taken over.
    """
    taken: list[Path] = []
    try:
        for folder in sorted({Path(f).absolute() for f in folders}):
            folder.mkdir(parents=True, exist_ok=True)
            pid, depth = _HELD.get(folder, (0, 0))
            if pid != os.getpid():
                _acquire(folder, command)
                depth = 0
            _HELD[folder] = (os.getpid(), depth + 1)
            taken.append(folder)
        yield
    finally:
        for folder in reversed(taken):
            pid, depth = _HELD[folder]
            if depth > 1:
                _HELD[folder] = (pid, depth - 1)
                continue
            del _HELD[folder]
            (folder / LOCK_NAME).unlink(missing_ok=True)


# ----------------------------------------------------------------------------- journal
def _resolve(folder: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else folder / path


def _entries(items: Any, width: int) -> list[list[str]]:
    """The well-formed entries (lists of ``width`` strings) of a journal field."""
    if not isinstance(items, list):
        return []
    return [list(item) for item in items
            if isinstance(item, list) and len(item) == width and all(isinstance(v, str) for v in item)]


def _apply(folder: Path) -> None:
    """Complete the renames and removals of the journal in ``folder``, then delete it.

    Each step can be repeated: a rename whose staged file is gone was done, a
    removal of a missing file is no-op. A folder replacing a folder moves the old
    one aside first (to a name the journal fixes), then deletes it. A journal
    acts only on a run's own part files and on paths inside ``folder``, so a
    journal planted in a folder cannot make a reader rename or delete other files.
    """
    journal = folder / JOURNAL_NAME
    try:
        record = json.loads(journal.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except ValueError:  # never committed in full: the journal is written atomically
        journal.unlink(missing_ok=True)
        return
    run = str(record.get("run", ""))
    if not re.fullmatch(r"[0-9a-f]{1,32}", run):
        journal.unlink(missing_ok=True)  # not a journal this module wrote: act on nothing
        return
    aside: list[Path] = []
    for staged, target in _entries(record.get("replace"), 2):
        source, dest = _resolve(folder, staged), _resolve(folder, target)
        if source.parent != dest.parent or not source.name.startswith(
                f".{dest.name}.{run}{_PART}"):
            continue  # a journal renames only a run's own part files onto their targets
        old = dest.with_name(f".{dest.name}.{run}.churnkit-old")
        if source.exists():
            if source.is_dir() and dest.is_dir() and not dest.is_symlink():
                os.replace(dest, old)
            os.replace(source, dest)
        aside.append(old)
    for (name,) in _entries([[n] for n in record.get("remove", []) or []], 1):
        path = _resolve(folder, name)
        if Path(name).is_absolute() or ".." in Path(name).parts:
            continue  # removals are of stale outputs inside the run's folder only
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    for old in aside:
        if old.exists():
            shutil.rmtree(old, ignore_errors=True)
    fsync_dir(folder)
    journal.unlink(missing_ok=True)


def settle(folder: str | Path, *, wait: float = 30.0) -> None:
    """Make sure ``folder`` holds one whole run before reading it.

    If a run was interrupted after its commit, its renames are completed (under
    the folder's lock); if a run is completing them right now, this waits up to
    ``wait`` seconds for it.
    """
    folder = Path(folder).absolute()
    deadline = time.monotonic() + wait
    while (folder / JOURNAL_NAME).exists():
        try:
            with run_lock(folder, command="churnkit (completing an interrupted run)"):
                _apply(folder)
            return
        except OutputError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class OutputRun:
    """The files of one run: staged beside their targets, then committed together.

    Use it through :func:`output_run`.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.id = uuid.uuid4().hex[:12]
        self._replace: dict[Path, Path] = {}
        self._remove: set[Path] = set()
        self._swept: set[Path] = set()

    def stage(self, target: str | Path) -> Path:
        """The hidden path to write ``target``'s new content to (its folder is created).

        The staged path may be made a file or a folder; a folder replaces the
        target folder as a whole.
        """
        target = Path(target).absolute()
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.parent not in self._swept:  # part files of runs killed before their commit
            for old in [*target.parent.glob(f".*{_PART}*"),
                        *target.parent.glob(".*.churnkit-old")]:
                if old.is_dir() and not old.is_symlink():
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    old.unlink(missing_ok=True)
            self._swept.add(target.parent)
        staged = target.with_name(f".{target.name}.{self.id}{_PART}{target.suffix}")
        self._replace[target] = staged
        self._remove.discard(target)
        return staged

    def remove(self, target: str | Path) -> None:
        """Delete ``target`` when the run commits (a stale output of an earlier run)."""
        target = Path(target).absolute()
        if target not in self._replace:
            self._remove.add(target)

    def _name(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.folder))
        except ValueError:
            return str(path)

    def commit(self) -> None:
        """Write the journal (the commit point), then apply it."""
        for staged in self._replace.values():
            for path in sorted(staged.rglob("*")) if staged.is_dir() else [staged]:
                if path.is_file():
                    with path.open("rb") as fh:
                        os.fsync(fh.fileno())
            if staged.is_dir():
                fsync_dir(staged)
        record = {
            "run": self.id,
            "replace": [[self._name(s), self._name(t)] for t, s in self._replace.items()],
            "remove": sorted(self._name(p) for p in self._remove),
        }
        journal = self.folder / JOURNAL_NAME
        part = self.folder / f".{JOURNAL_NAME}.{self.id}{_PART}.json"
        with part.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps(record, indent=1))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, journal)
        fsync_dir(self.folder)
        _apply(self.folder)

    def discard(self) -> None:
        """Delete the staged files of a run that will not commit."""
        for staged in self._replace.values():
            if staged.is_dir() and not staged.is_symlink():
                shutil.rmtree(staged, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    staged.unlink(missing_ok=True)


@contextlib.contextmanager
def output_run(folder: str | Path, *also_locked: str | Path,
               command: str = "churnkit") -> Iterator[OutputRun]:
    """A run writing into ``folder``: lock it, complete any interrupted run, commit on success.

    Parameters
    ----------
    folder : path-like
        The run's folder: it holds the lock and the journal.
    *also_locked : path-like
        Other folders the run writes files into (each locked too).
    command : str
        What the lock file says is running.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with output_run(tmp) as run:
    ...         _ = run.stage(Path(tmp) / "a.txt").write_text("A")
    ...         _ = run.stage(Path(tmp) / "b.txt").write_text("B")
    ...     sorted(p.name for p in Path(tmp).iterdir())
    ['a.txt', 'b.txt']
    """
    root = Path(folder).absolute()
    with run_lock(root, *also_locked, command=command):
        _apply(root)
        run = OutputRun(root)
        try:
            yield run
        except BaseException:
            run.discard()
            raise
        run.commit()
