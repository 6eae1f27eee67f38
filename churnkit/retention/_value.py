"""Value by segment: revenue, churn, expected lifetime, CLV and share of wallet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import require_columns
from churnkit.exceptions import SchemaError
from churnkit.retention._common import (
    Groups,
    by_columns,
    check_frame,
    date_column,
    numeric_column,
    to_timestamp,
)
from churnkit.retention._rates import crr, infer_period

__all__ = ["customer_lifetime_value", "value_by_segment"]

#: Columns of :func:`value_by_segment` that are not grouping columns.
VALUE_COLUMNS = (
    "customers",
    "revenue",
    "value_per_customer",
    "churn_rate",
    "retention_rate",
    "lifetime_months",
    "clv",
    "clv_total",
    "share_of_revenue",
    "share_of_wallet",
    "rank",
)


def _check_rate(value: float, name: str, func: str, *, low: float, high: float | None) -> float:
    ok = isinstance(value, int | float | np.floating) and not isinstance(value, bool)
    if ok and np.isfinite(value) and value >= low and (high is None or value <= high):
        return float(value)
    upper = "" if high is None else f" and {high}"
    raise ValueError(
        f"The {name!r} parameter of {func} must be a number between {low}{upper}. Got {value!r} instead."
    )


def customer_lifetime_value(
    value: float | np.ndarray,
    churn_rate: float | np.ndarray,
    *,
    margin: float = 1.0,
    discount_rate: float = 0.0,
) -> float | np.ndarray:
    r"""Compute the customer lifetime value with constant monthly retention and discounting.

    .. math:: CLV = m \, v \, \frac{1 + d}{1 + d - r}, \qquad r = 1 - c

    with ``m`` the margin, ``v`` the monthly value, ``c`` the monthly churn
    rate and ``d`` the monthly discount rate. It is the sum over months
    ``t = 0, 1, ...`` of ``m v r**t / (1 + d)**t``: the margin of the current
    month is earned now, undiscounted, and the customer stays each further
    month with probability ``r``. With ``d = 0`` it is ``m v / c``, i.e.
    margin × value × expected lifetime (``1 / c`` months).

    Parameters
    ----------
    value : float or ndarray
        Revenue per month.
    churn_rate : float or ndarray
        Monthly churn rate, 0–1. With ``churn_rate = 0`` and ``discount_rate = 0``
        the value is infinite.
    margin : float, default 1.0
        Gross margin as a fraction of revenue (0–1).
    discount_rate : float, default 0.0
        Monthly discount rate; for an annual rate ``a`` use ``(1 + a) ** (1 / 12) - 1``.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> customer_lifetime_value(100.0, 0.05, margin=0.3)
    600.0
    >>> round(customer_lifetime_value(100.0, 0.05, margin=0.3, discount_rate=0.01), 2)
    505.0
    """
    func = "customer_lifetime_value"
    margin = _check_rate(margin, "margin", func, low=0.0, high=1.0)
    d = _check_rate(discount_rate, "discount_rate", func, low=0.0, high=None)
    c = np.asarray(churn_rate, dtype="float64")
    v = np.asarray(value, dtype="float64")
    with np.errstate(invalid="ignore"):
        if np.any((c < 0) | (c > 1)):
            raise ValueError(
                f"The 'churn_rate' parameter of {func} must be between 0 and 1. Got {churn_rate!r} instead."
            )
    den = d + c
    factor = np.full(np.broadcast(den).shape, np.inf)
    np.divide(1.0 + d, den, out=factor, where=den > 0)
    factor = np.where(np.isnan(c), np.nan, factor)
    out = margin * v * factor
    return float(out) if np.ndim(out) == 0 else out


def _pooled_churn(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Average monthly churn per group: total lost over total customer-months at risk."""
    if by:
        sums = table.groupby(by, dropna=False, sort=True, observed=True)[["S", "lost"]].sum()
        sums = sums.reset_index()
    else:
        sums = table[["S", "lost"]].sum().to_frame().T
    s = sums["S"].to_numpy(dtype="float64")
    rate = np.full(len(s), np.nan)
    np.divide(sums["lost"].to_numpy(dtype="float64"), s, out=rate, where=s > 0)
    sums["churn_rate"] = rate
    return sums[[*by, "churn_rate"]]


def value_by_segment(
    customers: pd.DataFrame,
    *,
    value_col: str,
    by: str | Sequence[str] | None = None,
    customer_col: str = "customer_id",
    signup_col: str = "signup_date",
    end_col: str = "end_date",
    margin: float = 1.0,
    discount_rate: float = 0.0,
    wallet_col: str | None = None,
    total_spend_col: str | None = None,
    start: Any = None,
    end: Any = None,
    as_of: Any = None,
    churn: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Tabulate customers, revenue, churn, lifetime, CLV and share of wallet per segment.

    Parameters
    ----------
    customers : DataFrame
        One row per customer.
    value_col : str
        Revenue per month of each customer.
    by : str or list of str, optional
        Segment column(s); one row for everybody if None.
    customer_col, signup_col, end_col : str
        Customer id, signup date and end date (NaT = still a customer) columns.
    margin : float, default 1.0
        Gross margin as a fraction of revenue (0–1).
    discount_rate : float, default 0.0
        Monthly discount rate of the CLV (see :func:`customer_lifetime_value`).
    wallet_col : str, optional
        Share of the customer's category spend that goes to us (0–1).
    total_spend_col : str, optional
        The customer's total monthly category spend (ours plus competitors');
        an alternative to ``wallet_col``.
    start, end : date-like, optional
        Months over which the churn rate is averaged (default: the whole data).
    as_of : date-like, optional
        Customers counted are those with ``end`` NaT or after ``as_of`` (and,
        when given, signed up on or before it). Default: ``end`` is NaT.
    churn : DataFrame, optional
        Monthly table from :func:`crr` or :func:`activity_crr` with the same
        ``by``, used instead of computing churn from signup/end dates (e.g. in
        non-contractual mode). ``end_col`` is then optional.

    Returns
    -------
    DataFrame
        One row per segment, most profitable first:

        - ``customers``: current customers; ``revenue``: their summed monthly
          value; ``value_per_customer`` = revenue / customers;
        - ``churn_rate``: average monthly churn, total ``lost`` over total ``S``
          across the months (a customer-month weighted mean);
          ``retention_rate`` = 1 − churn_rate;
        - ``lifetime_months`` = 1 / churn_rate (expected remaining lifetime);
        - ``clv`` = margin × value_per_customer × (1 + d) / (1 + d − r), with
          ``r`` the retention rate and ``d`` the monthly discount rate (infinite
          when nobody churned and ``d = 0``);
        - ``clv_total`` = clv × customers (the value of the segment's book);
        - ``share_of_revenue``; ``share_of_wallet`` (mean of ``wallet_col``
          over the customers where it is known, or sum of ``value_col`` over sum
          of ``total_spend_col``), when either column is given;
        - ``rank``: 1 = highest ``clv_total`` (profitability ranking).

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({
    ...     "customer_id": ["a", "b", "c", "d"],
    ...     "segment": ["smb", "smb", "ent", "ent"],
    ...     "signup_date": pd.to_datetime(["2024-01-02"] * 4),
    ...     "end_date": pd.to_datetime([None, "2024-02-10", None, None]),
    ...     "mrr": [100.0, 100.0, 900.0, 1100.0],
    ... })
    >>> out = value_by_segment(customers, value_col="mrr", by="segment", end="2024-04-30")
    >>> out[["segment", "customers", "revenue", "churn_rate", "clv", "rank"]]
      segment  customers  revenue  churn_rate    clv  rank
    0     ent          2   2000.0        0.00    inf     1
    1     smb          1    100.0        0.25  400.0     2
    """
    func = "value_by_segment"
    df = check_frame(customers, "customers")
    by_cols = by_columns(by)
    margin = _check_rate(margin, "margin", func, low=0.0, high=1.0)
    d = _check_rate(discount_rate, "discount_rate", func, low=0.0, high=None)
    if wallet_col is not None and total_spend_col is not None:
        raise ValueError(f"Pass wallet_col or total_spend_col to {func}, not both.")
    extra = [c for c in (wallet_col, total_spend_col) if c is not None]
    dates = [signup_col, end_col] if churn is None else []
    require_columns(
        df,
        [customer_col, value_col, *by_cols, *dates, *extra],
        table="customers",
        fix=f"Pass the names as keyword arguments, e.g. {func}(customers, value_col='mrr', by='segment').",
    )
    values = numeric_column(df, "customers", value_col, customer_col=customer_col)

    if churn is None:
        table = crr(
            df,
            customer_col=customer_col,
            signup_col=signup_col,
            end_col=end_col,
            period="M",
            start=start,
            end=end,
            by=by_cols or None,
        )
    else:
        require_columns(
            churn,
            ["period_start", "period_end", "S", "lost", *by_cols],
            table="churn",
            fix="Pass the monthly table of crr(...) or activity_crr(...) with the same 'by'.",
        )
        if infer_period(churn) != "M":
            raise SchemaError("churn: expected a monthly table (period='M').")
        table = churn
    rates = _pooled_churn(table, by_cols)

    current = np.ones(len(df), dtype=bool)
    as_of_ts = to_timestamp(as_of, "as_of", func=func)
    if end_col in df.columns:
        ended = date_column(df, "customers", end_col, customer_col=customer_col, allow_missing=True)
        current = np.isnat(ended)
        if as_of_ts is not None:
            current |= ended > as_of_ts.to_datetime64()
    if as_of_ts is not None and signup_col in df.columns:
        signup = date_column(df, "customers", signup_col, customer_col=customer_col, allow_missing=True)
        current &= ~(signup > as_of_ts.to_datetime64())

    groups = Groups(df, by_cols)
    codes = groups.codes[current]
    count = np.bincount(codes, minlength=groups.n)
    revenue = np.bincount(codes, weights=values[current], minlength=groups.n)
    out = groups.labels.copy()
    out["customers"] = count
    out["revenue"] = revenue
    per = np.full(groups.n, np.nan)
    np.divide(revenue, count, out=per, where=count > 0)
    out["value_per_customer"] = per
    c = (
        out[by_cols].merge(rates, on=by_cols, how="left")["churn_rate"].to_numpy(dtype="float64")
        if by_cols
        else np.full(1, rates["churn_rate"].iloc[0], dtype="float64")
    )
    out["churn_rate"] = c
    out["retention_rate"] = 1.0 - c
    life = np.full(groups.n, np.inf)
    np.divide(1.0, c, out=life, where=c > 0)
    out["lifetime_months"] = np.where(np.isnan(c), np.nan, life)
    out["clv"] = customer_lifetime_value(per, c, margin=margin, discount_rate=d)
    out["clv_total"] = customer_lifetime_value(revenue, c, margin=margin, discount_rate=d)
    total = revenue.sum()
    out["share_of_revenue"] = revenue / total if total > 0 else np.nan

    if wallet_col is not None:
        wallet = numeric_column(
            df, "customers", wallet_col, customer_col=customer_col, allow_missing=True, lower=0.0, upper=1.0
        )
        known = current & ~np.isnan(wallet)
        n_known = np.bincount(groups.codes[known], minlength=groups.n)
        s_w = np.bincount(groups.codes[known], weights=wallet[known], minlength=groups.n)
        share = np.full(groups.n, np.nan)
        np.divide(s_w, n_known, out=share, where=n_known > 0)
        out["share_of_wallet"] = share
    elif total_spend_col is not None:
        spend = numeric_column(df, "customers", total_spend_col, customer_col=customer_col,
                               allow_missing=True, lower=0.0)
        known = current & ~np.isnan(spend)
        ours = np.bincount(groups.codes[known], weights=values[known], minlength=groups.n)
        theirs = np.bincount(groups.codes[known], weights=spend[known], minlength=groups.n)
        share = np.full(groups.n, np.nan)
        np.divide(ours, theirs, out=share, where=theirs > 0)
        out["share_of_wallet"] = share

    out["rank"] = out["clv_total"].rank(ascending=False, method="min", na_option="bottom")
    out["rank"] = out["rank"].astype("int64")
    return out.sort_values(["rank", *by_cols], kind="stable").reset_index(drop=True)
