r"""Customer retention rate (CRR), churn rate and net revenue retention, contractual mode.

The customer retention rate of a period is the textbook

.. math:: CRR = \frac{E - N}{S} \times 100

with ``S`` the customers at the start of the period, ``E`` those at the end and
``N`` the new customers acquired during it. In contractual mode a customer is
present from its signup date until its end (contract end or churn) date.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from churnkit._core import require_columns
from churnkit.exceptions import SchemaError
from churnkit.retention._common import (
    PERIODS,
    Groups,
    Period,
    assemble,
    by_columns,
    check_frame,
    check_period,
    contract_dates,
    counts,
    numeric_column,
    period_ordinal,
    period_range,
    periods_per_year,
    ratio,
)

__all__ = ["annualise", "churn_rate", "crr", "net_revenue_retention"]

#: Columns of the tables returned by :func:`crr` and :func:`activity_crr` that are
#: not grouping columns.
METRIC_COLUMNS = (
    "period_start",
    "period_end",
    "S",
    "N",
    "lost",
    "new_lost",
    "reactivated",
    "E",
    "active",
    "crr",
    "churn_rate",
    "revenue_start",
    "revenue_retained",
    "revenue_end",
    "nrr",
)

_ArrayLike = TypeVar("_ArrayLike", float, np.ndarray, pd.Series)


def crr(
    customers: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    signup_col: str = "signup_date",
    end_col: str = "end_date",
    period: Period = "M",
    start: Any = None,
    end: Any = None,
    by: str | Sequence[str] | None = None,
    value_col: str | None = None,
) -> pd.DataFrame:
    """Compute the customer retention rate per calendar period (contractual mode).

    Parameters
    ----------
    customers : DataFrame
        One row per customer.
    customer_col : str, default "customer_id"
        Customer id column; ids must be unique.
    signup_col : str, default "signup_date"
        Date the customer was acquired (datetime64 or ISO 8601 text; required).
    end_col : str, default "end_date"
        Date the customer left (contract end or churn); missing (NaT) = still a customer.
    period : {"M", "Q", "Y"}, default "M"
        Calendar month, quarter or year.
    start, end : date-like, optional
        First and last period to report (any date inside them). Default: from the
        period of the earliest signup to that of the latest signup or end date.
        The last period is partial if the data stop in the middle of it.
    by : str or list of str, optional
        Customer column(s) to break the figures down by (e.g. ``"segment"``).
        Missing values form their own group.
    value_col : str, optional
        Revenue per month of each customer; adds revenue and NRR columns.

    Returns
    -------
    DataFrame
        One row per period (and group), ordered by period then group:

        - ``period_start``, ``period_end``: first and last day of the period;
        - the ``by`` columns;
        - ``S``: customers at the start: ``signup < period_start`` and
          (``end`` is NaT or ``end >= period_start``);
        - ``N``: customers acquired in the period (``signup`` within it);
        - ``lost``: customers of ``S`` whose end date falls in the period;
        - ``new_lost``: customers of ``N`` who also left within the period;
        - ``E``: customers at the end, ``E = S + N - lost - new_lost`` (the ``S``
          of the next period);
        - ``crr``: ``(E - N) / S * 100`` (NaN when ``S = 0``);
        - ``churn_rate``: ``lost / S``;
        - with ``value_col``: ``revenue_start`` (monthly value of ``S``),
          ``revenue_retained`` (of the customers of ``S`` still there at the end),
          ``revenue_end`` (of ``E``) and ``nrr = revenue_retained / revenue_start``.

    Notes
    -----
    ``N`` counts every customer acquired in the period, including those who left
    again before its end (``new_lost``); they are part of "all who left", so
    ``E = S + N - lost - new_lost`` holds exactly and ``crr`` is the textbook
    figure: a new customer lost within the period lowers it, so ``crr`` can be
    below ``100 * (1 - churn_rate)`` by ``100 * new_lost / S``. ``churn_rate``
    concerns the customers of ``S`` only. With short periods ``new_lost`` is small;
    it is reported so that either view can be taken.

    A static ``value_col`` cannot show expansion or contraction, so ``nrr`` here
    equals gross revenue retention (at most 1).

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({
    ...     "customer_id": ["a", "b", "c", "d"],
    ...     "signup_date": pd.to_datetime(["2023-11-03", "2023-12-10", "2024-01-15", "2023-10-01"]),
    ...     "end_date": pd.to_datetime([None, "2024-01-20", None, "2023-12-31"]),
    ... })
    >>> crr(customers, start="2024-01-01", end="2024-01-31")[["S", "N", "lost", "E", "crr"]]
       S  N  lost  E   crr
    0  2  1     1  2  50.0
    """
    func = "crr"
    period = check_period(period, func=func)  # type: ignore[assignment]
    df = check_frame(customers, "customers")
    by_cols = by_columns(by)
    value_cols = [value_col] if value_col is not None else []
    require_columns(
        df,
        [customer_col, signup_col, end_col, *by_cols, *value_cols],
        table="customers",
        fix="Pass the names as keyword arguments, e.g. "
        "crr(customers, signup_col='joined', end_col='left', by='segment').",
    )
    dup = df[customer_col].duplicated(keep=False).to_numpy()
    if dup.any():
        raise SchemaError(
            f"customers.{customer_col}: {int(dup.sum())} rows share a customer id "
            f"(e.g. {df[customer_col].to_numpy()[dup][:5].tolist()}). The customers table needs "
            "one row per customer; keep the latest contract per customer."
        )
    signup, ended, active = contract_dates(df, customer_col=customer_col, signup_col=signup_col,
                                           end_col=end_col)
    values = (numeric_column(df, "customers", value_col, customer_col=customer_col)
              if value_col is not None else None)
    groups = Groups(df, by_cols)

    k_s = period_ordinal(signup, period)
    k_e = period_ordinal(ended, period)
    last = int(k_s.max()) if active.all() else max(int(k_s.max()), int(k_e[~active].max()))
    k0, n = period_range(int(k_s.min()), last, start, end, period, func=func)
    if end is None and n > 1200 // PERIODS[period]:
        raise SchemaError(
            f"customers.{end_col}: dates reach {pd.Timestamp(ended[~active].max()).date()}, "
            f"which would make {n} periods. Store active customers' end date as missing "
            "(NaT) rather than a far-future placeholder, or pass end=... ."
        )

    # Period index of signup and end, clipped to -1 (before) .. n (after), shifted by 1.
    i_s = np.clip(k_s - k0, -1, n) + 1
    i_e = np.where(active, n, np.clip(k_e - k0, -1, n)) + 1
    shape = (groups.n, n + 2)
    codes = groups.codes
    cnt_s = counts(codes, i_s, shape)
    cnt_e = counts(codes, i_e, shape)
    same = (i_s == i_e) & (i_s >= 1) & (i_s <= n)
    new_lost = counts(codes[same], i_s[same], shape)[:, 1 : n + 1]
    # Customers present at the start of period p: signed up before it, not ended before it.
    s = (np.cumsum(cnt_s, axis=1) - np.cumsum(cnt_e, axis=1))[:, :n]
    new = cnt_s[:, 1 : n + 1]
    left = cnt_e[:, 1 : n + 1]
    e = s + new - left
    has_s = s > 0
    columns: dict[str, np.ndarray] = {
        "S": s,
        "N": new,
        "lost": left - new_lost,
        "new_lost": new_lost,
        "E": e,
        "crr": ratio((e - new) * 100.0, s, has_s),
        "churn_rate": ratio(left - new_lost, s, has_s),
    }
    if values is not None:
        w_s = counts(codes, i_s, shape, values)
        w_e = counts(codes, i_e, shape, values)
        rev_start = (np.cumsum(w_s, axis=1) - np.cumsum(w_e, axis=1))[:, :n]
        rev_start = np.where(has_s, rev_start, 0.0)  # no rounding residue on empty periods
        old = ~same
        rev_lost = counts(codes[old], i_e[old], shape, values[old])[:, 1 : n + 1]
        rev_retained = rev_start - rev_lost
        rev_end = rev_start + w_s[:, 1 : n + 1] - w_e[:, 1 : n + 1]
        columns |= {
            "revenue_start": rev_start,
            "revenue_retained": rev_retained,
            "revenue_end": np.where(e > 0, rev_end, 0.0),
            "nrr": ratio(rev_retained, rev_start, has_s & (rev_start != 0)),
        }
    return assemble(groups, k0, n, period, columns)


def _retention_table(table: Any, needed: Sequence[str], func: str) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{func} expects a DataFrame; got {type(table).__name__}.")
    require_columns(
        table,
        ["period_start", "period_end", *needed],
        table="table",
        fix=f"{func} takes the table returned by crr(...) or activity_crr(...)"
        + (" called with value_col=/amount_col=." if "nrr" in needed else "."),
    )
    return table


def _grouping(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c not in METRIC_COLUMNS]


def infer_period(table: pd.DataFrame) -> str:
    """Tell the period ("M", "Q" or "Y") of a retention table from its first row."""
    if len(table) == 0:
        raise SchemaError("table is empty: cannot tell its period; pass period='M'|'Q'|'Y'.")
    first = pd.Timestamp(table["period_start"].iloc[0])
    after = pd.Timestamp(table["period_end"].iloc[0]) + pd.Timedelta(days=1)
    months = (after.year - first.year) * 12 + after.month - first.month
    for key, length in PERIODS.items():
        if months == length and first.day == 1 and after.day == 1:
            return key
    raise SchemaError(
        f"table: period_start {first.date()} / period_end {(after - pd.Timedelta(days=1)).date()} "
        "is not a calendar month, quarter or year; pass period='M'|'Q'|'Y'."
    )


def annualise(rate: _ArrayLike, period: Period) -> _ArrayLike:
    """Annualise a per-period churn rate: ``1 - (1 - rate) ** periods_per_year``.

    Parameters
    ----------
    rate : float, ndarray or Series
        Churn rate(s) per period, between 0 and 1 (NaN is passed through).
    period : {"M", "Q", "Y"}
        Period the rate refers to (12, 4 or 1 per year).

    Returns
    -------
    float, ndarray or Series
        Annual churn rate, same type as ``rate``.

    Examples
    --------
    >>> round(annualise(0.02, "M"), 4)
    0.2153
    >>> round(annualise(0.1, "Y"), 4)
    0.1
    """
    check_period(period, func="annualise")
    arr = np.asarray(rate, dtype="float64")
    with np.errstate(invalid="ignore"):
        outside = (arr < 0) | (arr > 1)
    if np.any(outside):
        raise ValueError(
            "The 'rate' parameter of annualise must be between 0 and 1. "
            f"Got {arr[outside].ravel()[0]!r} instead."
        )
    out = 1.0 - (1.0 - arr) ** periods_per_year(period)
    if isinstance(rate, pd.Series):
        return pd.Series(out, index=rate.index, name=rate.name)
    if np.ndim(rate) == 0:
        return float(out)  # type: ignore[return-value]
    return out  # type: ignore[return-value]


def churn_rate(
    table: pd.DataFrame, *, annualised: bool = False, period: Period | None = None
) -> pd.DataFrame:
    """Churn rate per period (and group) from a retention table.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`crr` or :func:`activity_crr`.
    annualised : bool, default False
        Add ``churn_rate_annualised = 1 - (1 - churn_rate) ** periods_per_year``.
    period : {"M", "Q", "Y"}, optional
        Period of ``table``; by default told from its first row.

    Returns
    -------
    DataFrame
        ``period_start, period_end, [by...], S, lost, churn_rate`` and, if asked,
        ``churn_rate_annualised``. ``churn_rate = lost / S`` (NaN when ``S = 0``).

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({
    ...     "customer_id": ["a", "b", "c"],
    ...     "signup_date": pd.to_datetime(["2023-01-05", "2023-02-01", "2023-02-11"]),
    ...     "end_date": pd.to_datetime([None, "2023-03-15", None]),
    ... })
    >>> table = crr(customers, start="2023-03-01", end="2023-03-31")
    >>> churn_rate(table, annualised=True)[["S", "lost", "churn_rate", "churn_rate_annualised"]]
       S  lost  churn_rate  churn_rate_annualised
    0  3     1    0.333333               0.992293
    """
    table = _retention_table(table, ["S", "lost", "churn_rate"], "churn_rate")
    keys = ["period_start", "period_end", *_grouping(table)]
    out = table[[*keys, "S", "lost", "churn_rate"]].copy()
    if annualised:
        per = infer_period(table) if period is None else check_period(period, func="churn_rate")
        out["churn_rate_annualised"] = annualise(out["churn_rate"], per)  # type: ignore[arg-type]
    return out


def net_revenue_retention(table: pd.DataFrame) -> pd.DataFrame:
    """Net revenue retention per period (and group) from a retention table.

    ``nrr = revenue_retained / revenue_start``: the revenue at the end of the
    period from the customers present at its start, over their revenue at the
    start. Above 1 means expansion outweighs churn and contraction.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`crr` called with ``value_col=`` (monthly value per
        customer; a static value gives gross revenue retention) or of
        :func:`activity_crr` called with ``amount_col=`` (revenue in the period
        from the customers active in the previous one, over their revenue then).

    Returns
    -------
    DataFrame
        ``period_start, period_end, [by...], revenue_start, revenue_retained, nrr``.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({
    ...     "customer_id": ["a", "b"],
    ...     "signup_date": pd.to_datetime(["2023-01-05", "2023-01-20"]),
    ...     "end_date": pd.to_datetime([None, "2023-02-10"]),
    ...     "mrr": [300.0, 100.0],
    ... })
    >>> table = crr(customers, value_col="mrr", start="2023-02-01", end="2023-02-28")
    >>> net_revenue_retention(table)[["revenue_start", "revenue_retained", "nrr"]]
       revenue_start  revenue_retained   nrr
    0          400.0             300.0  0.75
    """
    table = _retention_table(table, ["revenue_start", "revenue_retained", "nrr"], "nrr")
    keys = ["period_start", "period_end", *_grouping(table)]
    return table[[*keys, "revenue_start", "revenue_retained", "nrr"]].copy()
