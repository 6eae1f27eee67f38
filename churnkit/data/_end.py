"""Where the data ends: the day after the bulk of the event dates, robust to stray dates.

A single event row dated ``2205-01-31`` (a typo) or a contract end date of
``2099-12-31`` (a sentinel for "open-ended") must not move the point in time
every customer is scored at. The end of the data is therefore found from the
event timestamps only (contract end dates in the future are legitimate customer
attributes), and from their bulk: the newest dates are dropped as stray when
they lie more than :data:`STRAY_GAP_DAYS` after the rest and hold no more than
:data:`STRAY_SHARE` of the events. Event rows dated on or after the end are then
set aside in the rejects by :func:`churnkit.load_dataset`.

The inputs are counts of events per day, which add up across partitions of
customers, so every engine finds the same end as :func:`churnkit.load_dataset`.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from churnkit._core.jit import cached_njit
from churnkit._core.threads import threads_for
from churnkit.exceptions import SchemaError

__all__ = ["STRAY_GAP_DAYS", "STRAY_SHARE", "DayCounts", "bulk_end", "day_counts", "find_end",
           "first_day", "late_reason"]

#: Newest event dates this many days or more after all the others can be stray ...
STRAY_GAP_DAYS = 90
#: ... when they hold at most this share of all the event rows.
STRAY_SHARE = 0.01

_DAY_NS = 86_400 * 10**9
_NAT = np.iinfo(np.int64).min  # NaT as int64 nanoseconds

#: Rows per day: the event days and the customer-date days (used only without events).
DayCounts = tuple[pd.Series, pd.Series]


def day_counts(stamps: Iterable[pd.Series]) -> pd.Series:
    """Rows per calendar day of the given timestamp columns (a Series indexed by day).

    Counted on whole days in one compiled pass per column (columns in parallel
    threads), with no copy of their tens of millions of timestamps.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.Series(pd.to_datetime(["2024-01-01 10:00", "2024-01-01 12:00", "2024-01-03 08:00"]))
    >>> day_counts([s]).to_dict()
    {Timestamp('2024-01-01 00:00:00'): 2, Timestamp('2024-01-03 00:00:00'): 1}
    """
    columns = [s.to_numpy("datetime64[ns]").view(np.int64) for s in stamps]
    threads = min(threads_for(sum(len(c) for c in columns)), len(columns))
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:  # the count releases the GIL
            counted = list(pool.map(_per_day, columns))
    else:
        counted = [_per_day(c) for c in columns]
    parts = []
    for first, counts in counted:
        if len(counts):  # a count per day from the first to the last: no hashing
            present = np.flatnonzero(counts)
            parts.append(pd.Series(counts[present], index=present + first))
    if not parts:
        return _empty()
    counts = pd.concat(parts).groupby(level=0).sum().sort_index()
    index = pd.DatetimeIndex((counts.index.to_numpy(np.int64) * _DAY_NS).view("M8[ns]"))
    return pd.Series(counts.to_numpy(np.int64), index=index)


@cached_njit(nogil=True)
def _per_day(ns: np.ndarray) -> tuple[int, np.ndarray]:
    """The first day (days since 1970) and the rows of each day from it, NaT left out."""
    lo = np.iinfo(np.int64).max
    hi = _NAT
    for v in ns:
        if v != _NAT:
            lo = min(lo, v)
            hi = max(hi, v)
    if hi == _NAT:
        return 0, np.zeros(0, dtype=np.int64)
    first = lo // _DAY_NS  # floor: days before 1970 too
    counts = np.zeros(hi // _DAY_NS - first + 1, dtype=np.int64)
    for v in ns:
        if v != _NAT:
            counts[v // _DAY_NS - first] += 1
    return first, counts


def _empty() -> pd.Series:
    return pd.Series(dtype=np.int64, index=pd.DatetimeIndex([], dtype="M8[ns]"))


def _merge(parts: Iterable[pd.Series]) -> pd.Series:
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return _empty()
    return pd.concat(parts).groupby(level=0).sum().sort_index().astype(np.int64)


def bulk_end(days: pd.Series) -> pd.Timestamp | None:
    """The day after the newest day of the bulk of ``days`` (rows per day), None if empty.

    Walking back from the newest day, a run of newest days is stray when a gap of
    at least :data:`STRAY_GAP_DAYS` separates it from the older days and it holds at
    most :data:`STRAY_SHARE` of the rows; the bulk ends before the oldest such gap.

    Examples
    --------
    >>> import pandas as pd
    >>> days = pd.Series([500, 400, 1], index=pd.to_datetime(["2024-06-29", "2024-06-30",
    ...                                                        "2205-01-31"]))
    >>> str(bulk_end(days).date())
    '2024-07-01'
    """
    if not len(days):
        return None
    when = days.index.to_numpy("datetime64[D]")
    counts = days.to_numpy(dtype=np.float64)
    total = counts.sum()
    # rows on the days after each gap, and the gaps between consecutive days
    tail = np.cumsum(counts[::-1])[::-1]
    gaps = np.diff(when).astype(np.int64)
    last = len(when) - 1
    for i in range(len(gaps) - 1, -1, -1):
        if tail[i + 1] > STRAY_SHARE * total:
            break
        if gaps[i] >= STRAY_GAP_DAYS:
            last = i
    return pd.Timestamp(when[last]) + pd.Timedelta(days=1)


def find_end(stamps: Iterable[DayCounts | None]) -> pd.Timestamp:
    """The end of the data from the day counts of every table (or of each partition).

    The bulk of the event days; without any event, the newest customer date
    (signup or end) of the bulk of those.

    Raises
    ------
    SchemaError
        When there is no date at all.
    """
    known = [s for s in stamps if s is not None]
    end = bulk_end(_merge(s[0] for s in known))
    if end is None:
        end = bulk_end(_merge(s[1] for s in known))
    if end is None:
        raise SchemaError(
            "Cannot tell where the data ends: no event timestamps and no customer dates. "
            "Set data.end in the config."
        )
    return end


def first_day(stamps: Iterable[DayCounts | None]) -> pd.Timestamp | None:
    """The first event day of the day counts of every table or partition (None without events)."""
    days = _merge(s[0] for s in stamps if s is not None)
    return pd.Timestamp(days.index[0]) if len(days) else None


def late_reason(end: pd.Timestamp) -> str:
    """The reject reason of an event row dated on or after the end of the data."""
    return (
        f"event dated on or after the end of the data ({end.date()}: data.end, else the day "
        "after the bulk of the event dates); row dropped (fix the date, or set data.end in "
        "the config if the data really runs that far)"
    )
