"""Customer retention rate in non-contractual (activity-based) mode.

Without contracts, a customer is *active* in a period when it has at least one
event (purchase, login, ...) in it. Retention compares consecutive periods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import require_columns
from churnkit.exceptions import SchemaError
from churnkit.retention._common import (
    Groups,
    Period,
    assemble,
    by_columns,
    check_frame,
    check_period,
    counts,
    date_column,
    numeric_column,
    ordinal_start,
    period_ordinal,
    period_range,
    ratio,
)

__all__ = ["activity_crr", "customer_activity"]


class Activity:
    """Distinct (customer, period) pairs of an event table, sorted by customer then period.

    Attributes
    ----------
    customer : ndarray of int64
        Customer code (position in ``ids``) of each pair.
    ordinal : ndarray of int64
        Period ordinal of each pair.
    amount : ndarray of float64 or None
        Summed ``amount_col`` of the pair's events.
    first : ndarray of int64
        Period ordinal of each customer's first-ever event, indexed by code.
    ids : Index
        Customer ids, indexed by code.
    """

    def __init__(
        self,
        events: pd.DataFrame,
        *,
        customer_col: str,
        time_col: str,
        period: str,
        amount_col: str | None,
        table: str = "events",
    ) -> None:
        cols = [customer_col, time_col] + ([amount_col] if amount_col is not None else [])
        require_columns(
            events,
            cols,
            table=table,
            fix="Pass the names as keyword arguments, e.g. "
            "activity_crr(events, customer_col='customer', time_col='purchased_at').",
        )
        ts = date_column(
            events,
            table,
            time_col,
            customer_col=customer_col,
            allow_missing=False,
            missing_hint="Every event needs a timestamp; drop those rows.",
        )
        codes, ids = pd.factorize(events[customer_col])
        missing = codes < 0
        if missing.any():
            raise SchemaError(
                f"{table}.{customer_col}: {int(missing.sum())} missing customer id(s) at rows "
                f"{events.index[missing][:5].tolist()}. Drop those rows or fill the ids."
            )
        codes = codes.astype(np.int64)
        k = period_ordinal(ts, period)
        k_min = int(k.min())
        width = int(k.max()) - k_min + 1
        key = codes * width + (k - k_min)
        # Sort-based distinct keys: faster than np.unique's hashing on tens of millions.
        if amount_col is not None:
            amount = numeric_column(events, table, amount_col, customer_col=customer_col)
            order = np.argsort(key)
            key = key[order]
            starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            keys = key[starts]
            self.amount: np.ndarray | None = np.add.reduceat(amount[order], starts)
        else:
            key = np.sort(key)
            keys = key[np.r_[True, key[1:] != key[:-1]]]
            self.amount = None
        self.customer = keys // width
        self.ordinal = keys % width + k_min
        starts = np.r_[True, self.customer[1:] != self.customer[:-1]]
        self.first = self.ordinal[starts]
        self.ids = pd.Index(ids)
        self._times = ts
        self._codes = codes

    def first_rows(self) -> np.ndarray:
        """Row position of each customer's earliest event, indexed by code."""
        order = np.lexsort((self._times.view(np.int64), self._codes))
        starts = np.r_[True, self._codes[order][1:] != self._codes[order][:-1]]
        return order[starts]


def customer_groups(
    activity: Activity,
    events: pd.DataFrame,
    customers: pd.DataFrame | None,
    by: list[str],
    customer_col: str,
) -> tuple[Groups, np.ndarray]:
    """Group of every customer (indexed by code) from ``customers`` or from the events."""
    if not by:
        groups = Groups(events.iloc[:0], [])
        return groups, np.zeros(len(activity.ids), dtype=np.int64)
    if customers is None:
        require_columns(
            events,
            by,
            table="events",
            fix="Pass customers=... holding the 'by' columns, or add them to the events.",
        )
        rows = activity.first_rows()
        groups = Groups(events.iloc[rows], by)
        return groups, groups.codes
    check_frame(customers, "customers")
    require_columns(
        customers,
        [customer_col, *by],
        table="customers",
        fix="The 'by' columns are read from customers when it is given.",
    )
    index = pd.Index(customers[customer_col])
    if index.has_duplicates:
        dup = index[index.duplicated()].unique()[:5].tolist()
        raise SchemaError(
            f"customers.{customer_col}: duplicated customer ids (e.g. {dup}); keep one row per customer."
        )
    pos = index.get_indexer(activity.ids)
    unknown = pos < 0
    if unknown.any():
        raise SchemaError(
            f"events.{customer_col}: {int(unknown.sum())} customer id(s) absent from "
            f"customers.{customer_col} (e.g. {activity.ids[unknown][:5].tolist()}; "
            f"dtypes {activity.ids.dtype} vs {index.dtype}). Add them to customers or "
            "filter the events."
        )
    groups = Groups(customers, by)
    return groups, groups.codes[pos]


def customer_activity(
    events: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
    period: Period = "M",
    amount_col: str | None = None,
) -> pd.DataFrame:
    """Distinct periods in which each customer was active, with their status.

    Parameters
    ----------
    events : DataFrame
        Event table (purchases, logins, ...), one row per event.
    customer_col, time_col : str
        Customer id and event time columns.
    period : {"M", "Q", "Y"}, default "M"
        Calendar period.
    amount_col : str, optional
        Numeric column summed per customer and period (``amount``).

    Returns
    -------
    DataFrame
        ``customer_id, period_start, status[, amount]``, one row per customer and
        active period, where ``status`` is ``"new"`` (first-ever active period),
        ``"retained"`` (also active in the previous period) or ``"reactivated"``
        (active before, but not in the previous period).

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "timestamp": pd.to_datetime(["2024-01-03", "2024-02-09", "2024-04-01", "2024-02-02"]),
    ... })
    >>> customer_activity(events)
      customer_id period_start       status
    0           a   2024-01-01          new
    1           a   2024-02-01     retained
    2           a   2024-04-01  reactivated
    3           b   2024-02-01          new
    """
    check_period(period, func="customer_activity")
    check_frame(events, "events")
    act = Activity(events, customer_col=customer_col, time_col=time_col, period=period, amount_col=amount_col)
    new, kept, _ = _status(act)
    status = np.where(new, "new", np.where(kept, "retained", "reactivated"))
    out = pd.DataFrame(
        {
            customer_col: act.ids[act.customer],
            "period_start": ordinal_start(act.ordinal, period),
            "status": status,
        }
    )
    if act.amount is not None:
        out["amount"] = act.amount
    return out


def _status(act: Activity) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks over the pairs: new, retained (active the period before), reactivated."""
    cust, k = act.customer, act.ordinal
    new = k == act.first[cust]
    kept = np.r_[False, (cust[1:] == cust[:-1]) & (k[1:] == k[:-1] + 1)]
    return new, kept, ~new & ~kept


def activity_crr(
    events: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
    period: Period = "M",
    start: Any = None,
    end: Any = None,
    by: str | Sequence[str] | None = None,
    customers: pd.DataFrame | None = None,
    amount_col: str | None = None,
) -> pd.DataFrame:
    """Compute the customer retention rate per calendar period from activity (non-contractual).

    A customer is *active* in a period when it has an event in it.

    Parameters
    ----------
    events : DataFrame
        Event table (purchases, logins, ...), one row per event; only ``customer_col``,
        ``time_col`` (and ``amount_col``) are read.
    customer_col : str, default "customer_id"
        Customer id column.
    time_col : str, default "timestamp"
        Event time (datetime64 or ISO 8601 text).
    period : {"M", "Q", "Y"}, default "M"
        Calendar month, quarter or year.
    start, end : date-like, optional
        First and last period to report; default: the periods of the first and
        last event. Events outside still count for "first-ever event" and for the
        previous period of ``start``.
    by : str or list of str, optional
        Grouping column(s), read from ``customers`` if given, else from ``events``
        (a customer's group is then its value on its earliest event).
    customers : DataFrame, optional
        One row per customer with ``customer_col`` and the ``by`` columns.
    amount_col : str, optional
        Numeric event column (e.g. order value); adds revenue and NRR columns.

    Returns
    -------
    DataFrame
        One row per period (and group):

        - ``S``: customers active in the previous period;
        - ``N``: customers active in this period whose first-ever event is in it;
        - ``reactivated``: customers active in this period, not in the previous
          one, and seen before it (returning after a gap);
        - ``lost``: customers of ``S`` not active in this period;
        - ``E``: ``S - lost + N``, i.e. retained plus new customers; it leaves
          out ``reactivated``, so that ``E - N`` is exactly the customers of ``S``
          still active, as the CRR formula intends;
        - ``active``: all customers active in the period, ``E + reactivated``;
        - ``crr``: ``(E - N) / S * 100``, the share of last period's active
          customers active again (NaN when ``S = 0``);
        - ``churn_rate``: ``lost / S`` (``crr / 100 + churn_rate = 1``);
        - with ``amount_col``: ``revenue_start`` (revenue of ``S`` in the previous
          period), ``revenue_retained`` (revenue of those customers in this
          period), ``revenue_end`` (revenue of all active customers in this
          period) and ``nrr = revenue_retained / revenue_start``.

    Notes
    -----
    The identity ``E = S + N - lost`` holds. Reactivated customers are not
    counted as retained (they were not active at the start of the period) nor
    as new (they were acquired before); counting them in ``E`` would let CRR
    exceed 100%. They were counted in ``lost`` of the period after their
    last activity.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c", "c", "d"],
    ...     "timestamp": pd.to_datetime(["2024-01-03", "2024-02-09", "2024-01-20",
    ...                                  "2023-11-02", "2024-02-14", "2024-02-01"]),
    ... })
    >>> table = activity_crr(events, start="2024-02-01", end="2024-02-29")
    >>> table[["S", "N", "reactivated", "lost", "E", "active", "crr"]]
       S  N  reactivated  lost  E  active   crr
    0  2  1            1     1  2       3  50.0
    """
    func = "activity_crr"
    period = check_period(period, func=func)  # type: ignore[assignment]
    df = check_frame(events, "events")
    by_cols = by_columns(by)
    act = Activity(df, customer_col=customer_col, time_col=time_col, period=period, amount_col=amount_col)
    groups, customer_group = customer_groups(act, df, customers, by_cols, customer_col)

    k0, n = period_range(int(act.ordinal.min()), int(act.ordinal.max()), start, end, period, func=func)
    new, kept, back = _status(act)
    g = customer_group[act.customer]
    p = act.ordinal - k0  # period index of each pair, the previous period of k0 is -1
    seen = (p >= -1) & (p < n)
    inside = (p >= 0) & (p < n)
    shape = (groups.n, n)

    def count(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        w = None if weights is None else weights[mask]
        return counts(g[mask], p[mask], shape, w)

    active_all = counts(g[seen], p[seen] + 1, (groups.n, n + 1))
    s = active_all[:, :n]
    n_new = count(inside & new)
    retained = count(inside & kept)
    e = retained + n_new
    has_s = s > 0
    columns: dict[str, np.ndarray] = {
        "S": s,
        "N": n_new,
        "reactivated": count(inside & back),
        "lost": s - retained,
        "E": e,
        "active": active_all[:, 1:],
        "crr": ratio((e - n_new) * 100.0, s, has_s),
        "churn_rate": ratio(s - retained, s, has_s),
    }
    if act.amount is not None:
        rev_all = counts(g[seen], p[seen] + 1, (groups.n, n + 1), act.amount[seen])
        rev_start = rev_all[:, :n]
        rev_retained = count(inside & kept, act.amount)
        columns |= {
            "revenue_start": rev_start,
            "revenue_retained": rev_retained,
            "revenue_end": rev_all[:, 1:],
            "nrr": ratio(rev_retained, rev_start, has_s & (rev_start != 0)),
        }
    return assemble(groups, k0, n, period, columns)
