"""The compiled kernels behind every event feature.

Events are grouped by customer and sorted by time within each customer. For
each output row (a customer at a cutoff) :func:`aggregate_events` finds the
customer's events strictly before the cutoff by binary search, aggregates
every window in a single pass over them into a small per-row scratch vector,
and writes the finished features (counts, shares, means, trends...) straight
into the float32 output matrix, one feature per row of the matrix, so no
intermediate per-statistic arrays are materialised. Rows are independent: the
outer loop runs in parallel over blocks of rows and each row writes only its
own outputs, so results do not depend on thread scheduling.

:func:`code_segments` finds where each customer's events lie in one pass
(and tells whether the table is grouped and time-sorted at all), so already
sorted tables, the normal case after :func:`churnkit.load_dataset`, need no
sort and no hashing of customer ids.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numba import prange

from churnkit._core import cached_njit

__all__ = [
    "NUM_STATS",
    "OP_COPY",
    "OP_RATIO",
    "OP_SUB",
    "ScratchLayout",
    "aggregate_events",
    "code_segments",
    "nanoseconds",
    "readonly",
    "rises",
    "run_segments",
    "segments",
    "stack_rows",
    "zero_one",
]

# Per numeric column and window the kernel computes these statistics.
NUM_STATS = ("count", "sum", "min", "max", "first", "last", "prev_sum")
_DAY_NS = 86_400 * 10**9
_BLOCK = 256  # rows per parallel work item (one scratch vector each)

# How an output feature is made from the scratch vector ``s`` of its row.
OP_COPY = 0  # s[a]
OP_SUB = 1  # s[a] - s[b]
OP_RATIO = 2  # s[a] / s[b] where s[b] > 0, else NaN


class ScratchLayout:
    """Offsets of each statistic in the per-row scratch vector of :func:`aggregate_events`.

    Parameters
    ----------
    n_windows, n_levels, n_num, n_bool : int
        Number of windows, of category levels over all categorical columns, of
        numeric and of boolean columns.
    """

    def __init__(self, n_windows: int, n_levels: int, n_num: int, n_bool: int) -> None:
        self.n_windows, self.n_levels, self.n_num, self.n_bool = n_windows, n_levels, n_num, n_bool
        self.prev = n_windows
        self.days = 2 * n_windows
        self.cat = self.days + 2
        self.num = self.cat + n_windows * n_levels
        self.bool = self.num + n_windows * n_num * len(NUM_STATS)
        self.bool_days = self.bool + n_windows * n_bool * 2
        self.size = self.bool_days + n_bool

    def count(self, j: int) -> int:
        """Event count in window ``j``."""
        return j

    def count_prev(self, j: int) -> int:
        """Event count in the window of equal length before window ``j``."""
        return self.prev + j

    def days_since(self, which: int) -> int:
        """Days since the last (``which=0``) or first (``which=1``) event."""
        return self.days + which

    def level(self, j: int, slot: int) -> int:
        """Count of category level ``slot`` (over all categorical columns) in window ``j``."""
        return self.cat + j * self.n_levels + slot

    def stat(self, j: int, k: int, name: str) -> int:
        """Statistic ``name`` (see ``NUM_STATS``) of numeric column ``k`` in window ``j``."""
        return self.num + (j * self.n_num + k) * len(NUM_STATS) + NUM_STATS.index(name)

    def true_count(self, j: int, b: int) -> int:
        """Rows where boolean column ``b`` is true, in window ``j``."""
        return self.bool + (j * self.n_bool + b) * 2

    def nonnull_count(self, j: int, b: int) -> int:
        """Rows where boolean column ``b`` is not missing, in window ``j``."""
        return self.bool + (j * self.n_bool + b) * 2 + 1

    def days_since_true(self, b: int) -> int:
        """Days since the last row where boolean column ``b`` is true (all history)."""
        return self.bool_days + b


@cached_njit(inline="always")
def _first_at_or_after(ts: np.ndarray, lo: int, hi: int, value: int) -> int:
    """Smallest index i in [lo, hi) with ts[i] >= value (hi if none)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if ts[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@cached_njit()
def code_segments(codes: np.ndarray, ts: np.ndarray, n_codes: int
                  ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Where the events of each code lie: ``[lo[c], hi[c])``.

    Returns ``ok=False`` unless the events of every code (>= 0) are contiguous
    and sorted by time; events with code -1 (missing id) may lie anywhere
    between the groups. Codes without events get ``lo == hi == 0``.
    """
    lo = np.zeros(n_codes, dtype=np.int64)
    hi = np.zeros(n_codes, dtype=np.int64)
    seen = np.zeros(n_codes, dtype=np.bool_)
    prev = -2
    for i in range(codes.shape[0]):
        c = codes[i]
        if c != prev:
            if c >= 0:
                if seen[c]:
                    return lo, hi, False
                seen[c] = True
                lo[c] = i
            prev = c
        elif c >= 0 and ts[i] < ts[i - 1]:
            return lo, hi, False
        if c >= 0:
            hi[c] = i + 1
    return lo, hi, True


@cached_njit()
def run_segments(new_run: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Start and stop of each run of equal ids (``new_run[i]``: id differs from row i-1).

    ``ok`` is False if time decreases within a run.
    """
    n = ts.shape[0]
    n_runs = 0
    for i in range(n):
        if new_run[i]:
            n_runs += 1
    lo = np.empty(n_runs, dtype=np.int64)
    hi = np.empty(n_runs, dtype=np.int64)
    r = -1
    for i in range(n):
        if new_run[i]:
            r += 1
            lo[r] = i
        elif ts[i] < ts[i - 1]:
            return lo, hi, False
        hi[r] = i + 1
    return lo, hi, True


@cached_njit()
def rises(amount: np.ndarray, kind: np.ndarray, lo: np.ndarray, n_kinds: int, factor: float
          ) -> np.ndarray:
    """1 where a positive amount is at least ``factor`` times its customer's previous one.

    Rows are grouped by customer (customer ``k``'s rows start at ``lo[k]``) and in
    time order; ``kind`` (0 .. n_kinds-1) separates amounts of different kinds.
    0 for a customer's first positive amount of a kind; NaN for amounts that are
    not positive. One pass, each row looking only at the rows before it.
    """
    n = amount.shape[0]
    out = np.full(n, np.nan)
    last = np.full(n_kinds, np.nan)
    start = np.zeros(n + 1, dtype=np.bool_)
    for k in range(lo.shape[0]):
        start[lo[k]] = True
    for i in range(n):
        if start[i]:
            last[:] = np.nan
        x = amount[i]
        if x > 0:
            c = kind[i]
            prev = last[c]
            out[i] = 0.0 if prev != prev else (1.0 if x >= prev * factor else 0.0)
            last[c] = x
    return out


@cached_njit(parallel=True)
def aggregate_events(  # noqa: PLR0913
    ts: np.ndarray,  # int64 (n_events,) sorted within each customer segment
    seg_lo: np.ndarray,  # int64 (n_rows,) first event of the row's customer (or 0)
    seg_hi: np.ndarray,  # int64 (n_rows,) one past its last event (== seg_lo if none)
    cutoffs: np.ndarray,  # int64 (n_rows,) cutoff in ns; events with ts < cutoff are used
    windows: np.ndarray,  # int64 (n_windows,) window lengths in ns, ascending
    cat_codes: np.ndarray,  # int (n_cat, n_events): level code within its column, -1 missing
    cat_offsets: np.ndarray,  # int64 (n_cat,): first level slot of each categorical column
    n_levels: int,  # level slots over all categorical columns
    num: np.ndarray,  # float64 (n_num, n_events), NaN missing
    boolv: np.ndarray,  # float (n_bool, n_events): 1, 0 or NaN
    op: np.ndarray,  # int64 (n_features,): OP_COPY, OP_SUB or OP_RATIO
    arg_a: np.ndarray,  # int64 (n_features,): scratch index of the first operand
    arg_b: np.ndarray,  # int64 (n_features,): scratch index of the second operand
    out: np.ndarray,  # float32 (n_features, n_rows)
) -> None:
    """Aggregate the events before each row's cutoff and write the row's features.

    The scratch vector of a row follows :class:`ScratchLayout`; feature ``f``
    of row ``r`` is ``op[f]`` applied to scratch entries ``arg_a[f]`` and
    ``arg_b[f]``, computed in float64 and stored as float32.
    """
    n_rows = seg_lo.shape[0]
    n_w = windows.shape[0]
    n_cat = cat_codes.shape[0]
    n_num = num.shape[0]
    n_bool = boolv.shape[0]
    n_feat = op.shape[0]
    n_stats = 7
    prev_off = n_w
    days_off = 2 * n_w
    cat_off = days_off + 2
    num_off = cat_off + n_w * n_levels
    bool_off = num_off + n_w * n_num * n_stats
    bdays_off = bool_off + n_w * n_bool * 2
    size = bdays_off + n_bool
    w_max = windows[n_w - 1]
    n_blocks = (n_rows + _BLOCK - 1) // _BLOCK
    for blk in prange(n_blocks):
        s = np.empty(size)
        for r in range(blk * _BLOCK, min(n_rows, (blk + 1) * _BLOCK)):
            s[:] = 0.0
            lo_seg = seg_lo[r]
            hi_seg = seg_hi[r]
            cut = cutoffs[r]
            hi = _first_at_or_after(ts, lo_seg, hi_seg, cut)
            # counts per window and in the previous window of equal length
            for j in range(n_w):
                lo_j = _first_at_or_after(ts, lo_seg, hi, cut - windows[j])
                lo_2j = _first_at_or_after(ts, lo_seg, lo_j, cut - 2 * windows[j])
                s[j] = hi - lo_j
                s[prev_off + j] = lo_j - lo_2j
            if hi > lo_seg:
                s[days_off] = (cut - ts[hi - 1]) / _DAY_NS
                s[days_off + 1] = (cut - ts[lo_seg]) / _DAY_NS
            else:
                s[days_off] = np.nan
                s[days_off + 1] = np.nan
            for j in range(n_w):
                for k in range(n_num):
                    base = num_off + (j * n_num + k) * n_stats
                    s[base + 2] = np.inf
                    s[base + 3] = -np.inf
                    s[base + 4] = np.nan
                    s[base + 5] = np.nan
            start = _first_at_or_after(ts, lo_seg, hi, cut - 2 * w_max)
            for i in range(start, hi):
                age = cut - ts[i]
                for j in range(n_w):
                    w = windows[j]
                    if age <= w:
                        for c in range(n_cat):
                            code = cat_codes[c, i]
                            if code >= 0:
                                s[cat_off + j * n_levels + cat_offsets[c] + code] += 1.0
                        for k in range(n_num):
                            v = num[k, i]
                            if v == v:  # not NaN
                                base = num_off + (j * n_num + k) * n_stats
                                s[base] += 1.0
                                s[base + 1] += v
                                s[base + 2] = min(s[base + 2], v)
                                s[base + 3] = max(s[base + 3], v)
                                if s[base] == 1.0:
                                    s[base + 4] = v
                                s[base + 5] = v
                        for b in range(n_bool):
                            v = boolv[b, i]
                            if v == v:
                                base = bool_off + (j * n_bool + b) * 2
                                s[base + 1] += 1.0
                                s[base] += v
                    elif age <= 2 * w:
                        for k in range(n_num):
                            v = num[k, i]
                            if v == v:
                                s[num_off + (j * n_num + k) * n_stats + 6] += v
            for j in range(n_w):
                for k in range(n_num):
                    base = num_off + (j * n_num + k) * n_stats
                    if s[base] == 0.0:
                        s[base + 2] = np.nan
                        s[base + 3] = np.nan
            # days since the last row where each boolean column is true (all history)
            for b in range(n_bool):
                s[bdays_off + b] = np.nan
            remaining = n_bool
            i = hi - 1
            while remaining > 0 and i >= lo_seg:
                for b in range(n_bool):
                    if s[bdays_off + b] != s[bdays_off + b] and boolv[b, i] == 1.0:
                        s[bdays_off + b] = (cut - ts[i]) / _DAY_NS
                        remaining -= 1
                i -= 1
            for f in range(n_feat):
                a = s[arg_a[f]]
                kind = op[f]
                if kind == 0:
                    value = a
                elif kind == 1:
                    value = a - s[arg_b[f]]
                else:
                    d = s[arg_b[f]]
                    value = a / d if d > 0 else np.nan
                out[f, r] = value


# -- preparing the kernel's inputs ------------------------------------------------------
def nanoseconds(stamps: pd.Series) -> np.ndarray:
    """Timestamps as int64 nanoseconds, without a copy when they already are."""
    return stamps.to_numpy("datetime64[ns]").view(np.int64)


def readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view, so that the kernel always sees the same array types."""
    view = a.view()
    view.flags.writeable = False
    return view


def zero_one(values: np.ndarray) -> bool:
    """Whether every value is 0, 1 or NaN (then float32 holds them exactly)."""
    return bool(np.all((values == 0.0) | (values == 1.0) | np.isnan(values)))


def stack_rows(columns: list[np.ndarray], order: np.ndarray | None, n: int, dtype: Any) -> np.ndarray:
    """Columns as the rows of one ``(n_columns, n)`` array, in ``order`` if given."""
    out = np.empty((len(columns), n), dtype=dtype)
    for k, values in enumerate(columns):
        out[k] = values if order is None else values[order]
    return out


def segments(ids: pd.Series, ts: np.ndarray
             ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray, pd.Index]:
    """Where each customer's events lie, sorting only when the table is not grouped.

    Returns ``(order, ts, lo, hi, keys)``: the permutation applied (``None`` when
    the events are already grouped by customer and sorted by time, as
    :func:`churnkit.load_dataset` leaves them), the timestamps in that order, and
    for each customer id in ``keys`` its events ``[lo, hi)``.
    """
    n = len(ids)
    empty = np.zeros(0, np.int64)
    if isinstance(ids.dtype, pd.CategoricalDtype):
        # the categories Index itself: tables sharing it share its hash table for lookups
        codes, keys = ids.cat.codes.to_numpy(), ids.cat.categories
    elif isinstance(ids.dtype, np.dtype):  # object or numeric: find runs of equal ids
        if n == 0:
            return None, ts, empty, empty, pd.Index([], dtype=object)
        values = ids.to_numpy()
        new_run = np.empty(n, dtype=bool)
        new_run[0] = True
        np.not_equal(values[1:], values[:-1], out=new_run[1:])
        lo, hi, ok = run_segments(new_run, ts)
        if ok:
            first = values[lo]
            valid = ~pd.isna(first)
            keys = pd.Index(first[valid], dtype=first.dtype)
            if keys.is_unique:
                return None, ts, lo[valid], hi[valid], keys
        codes, uniques = pd.factorize(values)
        keys = pd.Index(uniques, dtype=values.dtype)
    else:  # extension arrays (Arrow strings...): factorising is cheap
        codes, distinct = pd.factorize(ids)
        keys = pd.Index(distinct)
    lo, hi, ok = code_segments(codes, ts, len(keys))
    if ok:
        return None, ts, lo, hi, keys
    order = np.lexsort((ts, codes))
    ts = ts[order]
    lo, hi, _ = code_segments(codes[order], ts, len(keys))
    return order, ts, lo, hi, keys
