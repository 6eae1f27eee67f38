"""The compiled aggregation kernel behind every event feature.

Events are sorted by customer and time once. For each output row (a customer
at a cutoff) the kernel finds the customer's events strictly before the
cutoff by binary search and aggregates every window in a single pass over
them. Rows are independent, so the outer loop runs in parallel and each row
writes only its own outputs: results do not depend on thread scheduling.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["NUM_STATS", "aggregate_events"]

# Per numeric column and window the kernel computes these statistics.
NUM_STATS = ("count", "sum", "min", "max", "first", "last", "prev_sum")
_DAY_NS = 86_400 * 10**9


@njit(cache=True, inline="always")
def _first_at_or_after(ts: np.ndarray, lo: int, hi: int, value: int) -> int:
    """Smallest index i in [lo, hi) with ts[i] >= value (hi if none)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if ts[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, parallel=True)
def aggregate_events(  # noqa: PLR0913
    ts: np.ndarray,  # int64 (n_events,) sorted within each customer segment
    seg_lo: np.ndarray,  # int64 (n_rows,) first event of the row's customer (or 0)
    seg_hi: np.ndarray,  # int64 (n_rows,) one past its last event (== seg_lo if none)
    cutoffs: np.ndarray,  # int64 (n_rows,) cutoff in ns; events with ts < cutoff are used
    windows: np.ndarray,  # int64 (n_windows,) window lengths in ns, ascending
    cat_codes: np.ndarray,  # int32 (n_events, n_cat): level code, -1 missing
    cat_offsets: np.ndarray,  # int64 (n_cat,): first output slot of each categorical column
    num: np.ndarray,  # float64 (n_events, n_num), NaN missing
    boolv: np.ndarray,  # float64 (n_events, n_bool): 1, 0 or NaN
    out_count: np.ndarray,  # float64 (n_rows, n_windows)
    out_prev: np.ndarray,  # float64 (n_rows, n_windows) count in the previous window
    out_days: np.ndarray,  # float64 (n_rows, 2): days since last, since first event
    out_cat: np.ndarray,  # float64 (n_rows, n_windows, n_levels_total)
    out_num: np.ndarray,  # float64 (n_rows, n_windows, n_num, 7) see NUM_STATS
    out_bool: np.ndarray,  # float64 (n_rows, n_windows, n_bool, 2): true count, non-null count
    out_bool_days: np.ndarray,  # float64 (n_rows, n_bool): days since last true
) -> None:
    n_rows = seg_lo.shape[0]
    n_w = windows.shape[0]
    n_cat = cat_codes.shape[1]
    n_num = num.shape[1]
    n_bool = boolv.shape[1]
    w_max = windows[n_w - 1]
    for r in prange(n_rows):
        lo_seg = seg_lo[r]
        hi_seg = seg_hi[r]
        cut = cutoffs[r]
        hi = _first_at_or_after(ts, lo_seg, hi_seg, cut)
        # counts per window and in the previous window of equal length
        for j in range(n_w):
            lo_j = _first_at_or_after(ts, lo_seg, hi, cut - windows[j])
            lo_2j = _first_at_or_after(ts, lo_seg, lo_j, cut - 2 * windows[j])
            out_count[r, j] = hi - lo_j
            out_prev[r, j] = lo_j - lo_2j
        if hi > lo_seg:
            out_days[r, 0] = (cut - ts[hi - 1]) / _DAY_NS
            out_days[r, 1] = (cut - ts[lo_seg]) / _DAY_NS
        else:
            out_days[r, 0] = np.nan
            out_days[r, 1] = np.nan
        for j in range(n_w):
            for k in range(n_num):
                out_num[r, j, k, 0] = 0.0
                out_num[r, j, k, 1] = 0.0
                out_num[r, j, k, 2] = np.inf
                out_num[r, j, k, 3] = -np.inf
                out_num[r, j, k, 4] = np.nan
                out_num[r, j, k, 5] = np.nan
                out_num[r, j, k, 6] = 0.0
        start = _first_at_or_after(ts, lo_seg, hi, cut - 2 * w_max)
        for i in range(start, hi):
            t = ts[i]
            age = cut - t
            for j in range(n_w):
                w = windows[j]
                if age <= w:
                    for c in range(n_cat):
                        code = cat_codes[i, c]
                        if code >= 0:
                            out_cat[r, j, cat_offsets[c] + code] += 1.0
                    for k in range(n_num):
                        v = num[i, k]
                        if v == v:  # not NaN
                            out_num[r, j, k, 0] += 1.0
                            out_num[r, j, k, 1] += v
                            out_num[r, j, k, 2] = min(out_num[r, j, k, 2], v)
                            out_num[r, j, k, 3] = max(out_num[r, j, k, 3], v)
                            if out_num[r, j, k, 0] == 1.0:
                                out_num[r, j, k, 4] = v
                            out_num[r, j, k, 5] = v
                    for b in range(n_bool):
                        v = boolv[i, b]
                        if v == v:
                            out_bool[r, j, b, 1] += 1.0
                            out_bool[r, j, b, 0] += v
                elif age <= 2 * w:
                    for k in range(n_num):
                        v = num[i, k]
                        if v == v:
                            out_num[r, j, k, 6] += v
        for j in range(n_w):
            for k in range(n_num):
                if out_num[r, j, k, 0] == 0.0:
                    out_num[r, j, k, 2] = np.nan
                    out_num[r, j, k, 3] = np.nan
        # days since the last row where each boolean column is true (all history)
        for b in range(n_bool):
            out_bool_days[r, b] = np.nan
        remaining = n_bool
        i = hi - 1
        while remaining > 0 and i >= lo_seg:
            for b in range(n_bool):
                if out_bool_days[r, b] != out_bool_days[r, b] and boolv[i, b] == 1.0:
                    out_bool_days[r, b] = (cut - ts[i]) / _DAY_NS
                    remaining -= 1
            i -= 1
