"""How many threads churnkit may use: the cores this process may run on.

``os.cpu_count()`` counts the machine's cores, not those a process may use: a
container limited by a CPU quota, a job pinned to a few cores (``taskset``,
a batch scheduler) would start one thread per machine core and make them wait
on each other. :func:`available_cores` counts the cores of the process's CPU
affinity, lowered to the cgroup CPU quota where one is set.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["PARALLEL_ROWS", "available_cores", "resolve_threads", "threads_for"]

#: Rows from which a pass over a column is split between threads.
PARALLEL_ROWS = 1_000_000


def _cgroup_quota(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Cores allowed by a cgroup CPU quota (v2 ``cpu.max`` or v1 ``cfs_quota``), if any."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
        return None
    except (OSError, ValueError):
        pass
    try:
        q = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        p = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return max(1, math.ceil(q / p)) if q > 0 and p > 0 else None


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota.

    Examples
    --------
    >>> 1 <= available_cores() <= (os.cpu_count() or 1)
    True
    """
    count = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if count is not None:
        cores = count() or 1
    elif hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0)) or 1
    else:  # pragma: no cover - macOS, Windows
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(cores, quota)) if quota is not None else cores


def resolve_threads(n_jobs: int | None) -> int:
    """``n_jobs`` when the user set a positive count, else :func:`available_cores`.

    ``None`` and non-positive values (``-1``: all) mean every available core.

    Examples
    --------
    >>> resolve_threads(3), resolve_threads(None) == available_cores()
    (3, True)
    """
    if n_jobs is None or n_jobs <= 0:
        return available_cores()
    return int(n_jobs)


def threads_for(rows: int) -> int:
    """Threads for a pass over ``rows`` values: numba's threads from :data:`PARALLEL_ROWS` on.

    numba's thread count is ``NUMBA_NUM_THREADS``, which ``import churnkit`` sets to
    :func:`available_cores` unless the user set it: passes split this way share the
    machine as the explainer does.
    """
    if rows < PARALLEL_ROWS:
        return 1
    import numba

    return int(numba.get_num_threads())
