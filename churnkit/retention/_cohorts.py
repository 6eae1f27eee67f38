"""Cohort retention matrices: signup (or first-activity) month × months since."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import require_columns
from churnkit.exceptions import SchemaError
from churnkit.retention._activity import Activity
from churnkit.retention._common import (
    check_frame,
    contract_dates,
    counts,
    ordinal_of,
    ordinal_start,
    period_ordinal,
    to_timestamp,
)

__all__ = ["activity_cohort_matrix", "cohort_matrix"]


def _shape(first_cohort: int, as_of_month: int, max_months: int | None, func: str) -> tuple[int, int]:
    """Rows (cohorts from the first to ``as_of``) and columns (months since) of the matrix."""
    if max_months is not None and (not isinstance(max_months, int | np.integer) or max_months < 0):
        raise ValueError(
            f"The 'max_months' parameter of {func} must be a non-negative int. Got {max_months!r} instead."
        )
    span = max(as_of_month - first_cohort, 0)
    width = (span if max_months is None else min(span, int(max_months))) + 1
    return as_of_month - first_cohort + 1, width


def _finish(
    counts: np.ndarray,
    first_cohort: int,
    as_of_month: int,
    *,
    normalize: bool,
    age_name: str,
) -> pd.DataFrame:
    """Mask unobserved cells, optionally divide by cohort size, and label the matrix."""
    n_cohorts, width = counts.shape
    cohort = np.arange(n_cohorts)[:, None] + first_cohort
    observed = cohort + np.arange(width)[None, :] <= as_of_month
    index = ordinal_start(np.arange(first_cohort, first_cohort + n_cohorts), "M")
    index.name = "cohort"
    columns = pd.RangeIndex(width, name=age_name)
    if normalize:
        size = counts[:, :1].astype("float64")
        values = np.full(counts.shape, np.nan)
        np.divide(counts, size, out=values, where=observed & (size > 0))
        return pd.DataFrame(values, index=index, columns=columns)
    frame = pd.DataFrame(counts, index=index, columns=columns).astype("Int64")
    return frame.where(observed)  # the missing value of Int64 columns: pd.NA


def cohort_matrix(
    customers: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    signup_col: str = "signup_date",
    end_col: str = "end_date",
    as_of: Any = None,
    max_months: int | None = None,
    normalize: bool = True,
) -> pd.DataFrame:
    """Share of each monthly signup cohort still a customer, by months since signup.

    Parameters
    ----------
    customers : DataFrame
        One row per customer.
    customer_col, signup_col, end_col : str
        Customer id, signup date and end date (NaT = still a customer) columns.
    as_of : date-like, optional
        Observation date; default the latest signup or end date. Later signups
        are left out and cells after ``as_of`` are NaN (not yet observed).
    max_months : int, optional
        Keep at most this many months since signup (columns ``0..max_months``).
    normalize : bool, default True
        Shares (0–1) if True, customer counts (nullable ``Int64``) if False.

    Returns
    -------
    DataFrame
        Index ``cohort`` (first day of the signup month, one row per month from
        the first cohort to ``as_of``), columns ``months_since_signup`` ``0, 1, ...``.
        Cell ``(c, m)`` counts the customers of cohort ``c`` whose end date is NaT
        or on/after the first day of month ``c + m``, i.e. who were still
        customers at the start of that month (the ``S`` of :func:`crr`). Column 0
        is the cohort size (share 1.0). Empty cohorts have NaN shares.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({
    ...     "customer_id": ["a", "b", "c", "d"],
    ...     "signup_date": pd.to_datetime(["2024-01-03", "2024-01-20", "2024-01-30", "2024-02-11"]),
    ...     "end_date": pd.to_datetime(["2024-02-15", None, "2024-03-02", None]),
    ... })
    >>> cohort_matrix(customers, as_of="2024-03-31")  # doctest: +NORMALIZE_WHITESPACE
    months_since_signup    0    1         2
    cohort
    2024-01-01           1.0  1.0  0.666667
    2024-02-01           1.0  1.0       NaN
    2024-03-01           NaN  NaN       NaN
    """
    func = "cohort_matrix"
    df = check_frame(customers, "customers")
    require_columns(
        df,
        [customer_col, signup_col, end_col],
        table="customers",
        fix="Pass the names as keyword arguments, e.g. "
        "cohort_matrix(customers, signup_col='joined', end_col='left').",
    )
    signup, ended, active = contract_dates(df, customer_col=customer_col, signup_col=signup_col,
                                           end_col=end_col)
    as_of_ts = to_timestamp(as_of, "as_of", func=func)
    if as_of_ts is None:
        last = signup.max() if active.all() else max(signup.max(), ended[~active].max())
        as_of_ts = pd.Timestamp(last)
    as_of_month = ordinal_of(as_of_ts, "M")

    cohort = period_ordinal(signup, "M")
    keep = cohort <= as_of_month
    if not keep.any():
        raise SchemaError(f"customers.{signup_col}: no signup on or before as_of={as_of_ts.date()}.")
    cohort, ended, active = cohort[keep], ended[keep], active[keep]
    first = int(cohort.min())
    shape = _shape(first, as_of_month, max_months, func)
    width = shape[1]
    # Last month (since signup) at whose start the customer was still there.
    last_age = np.where(active, width - 1, np.clip(period_ordinal(ended, "M") - cohort, 0, width - 1))
    ends = counts(cohort - first, last_age, shape)
    present = np.cumsum(ends[:, ::-1], axis=1)[:, ::-1]
    return _finish(present, first, as_of_month, normalize=normalize, age_name="months_since_signup")


def activity_cohort_matrix(
    events: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
    as_of: Any = None,
    max_months: int | None = None,
    normalize: bool = True,
) -> pd.DataFrame:
    """Share of each first-activity cohort active again, by months since the first event.

    Parameters
    ----------
    events : DataFrame
        Event table (purchases, logins, ...).
    customer_col, time_col : str
        Customer id and event time columns.
    as_of : date-like, optional
        Observation date; default the latest event. Cells after it are NaN.
    max_months : int, optional
        Keep at most this many months since the first event.
    normalize : bool, default True
        Shares (0–1) if True, customer counts (``Int64``) if False.

    Returns
    -------
    DataFrame
        Index ``cohort`` (month of the customer's first event), columns
        ``months_since_first`` ``0, 1, ...``; cell ``(c, m)`` is the share of
        cohort ``c`` with at least one event in month ``c + m`` (not
        cumulative: a customer can skip months and come back).

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b", "c"],
    ...     "timestamp": pd.to_datetime(["2024-01-03", "2024-03-09", "2024-01-20",
    ...                                  "2024-02-01", "2024-02-14"]),
    ... })
    >>> activity_cohort_matrix(events)  # doctest: +NORMALIZE_WHITESPACE
    months_since_first    0    1    2
    cohort
    2024-01-01          1.0  0.5  0.5
    2024-02-01          1.0  0.0  NaN
    2024-03-01          NaN  NaN  NaN
    """
    func = "activity_cohort_matrix"
    df = check_frame(events, "events")
    act = Activity(df, customer_col=customer_col, time_col=time_col, period="M", amount_col=None)
    as_of_ts = to_timestamp(as_of, "as_of", func=func)
    as_of_month = int(act.ordinal.max()) if as_of_ts is None else ordinal_of(as_of_ts, "M")
    cohort = act.first[act.customer]
    age = act.ordinal - cohort
    first = int(act.first.min())
    if first > as_of_month:
        raise SchemaError(f"events.{time_col}: no event on or before as_of={as_of_ts}.")
    shape = _shape(first, as_of_month, max_months, func)
    keep = (cohort <= as_of_month) & (age < shape[1])
    active = counts(cohort[keep] - first, age[keep], shape)
    return _finish(active, first, as_of_month, normalize=normalize, age_name="months_since_first")
