"""Customer-level lifetime value from a purchase log: Pareto/NBD purchases × Gamma-Gamma spend.

Where customers leave without telling anyone, the value of each one is what a
"buy till you die" model expects it to buy: a Pareto/NBD model (purchases and
P(alive)) and a Gamma-Gamma model (spend per purchase) fitted on the purchases strictly
before ``as_of`` (:mod:`churnkit.clv`). The value at risk of a customer is what it would
still bring if it were surely alive, less what it is expected to bring:
``clv / p_alive − clv``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import require_columns
from churnkit.clv import GammaGamma, ParetoNBD, customer_clv, rfm_summary
from churnkit.exceptions import SchemaError
from churnkit.retention._common import Groups, by_columns, check_frame

__all__ = ["CLV_COLUMNS", "clv_by_segment", "customer_clv_table"]

_WEEK = 7.0
_MONTH_WEEKS = 365.25 / 12 / _WEEK
CLV_COLUMNS = ("customers", "clv_total", "clv_mean", "clv_median", "p_alive_mean",
               "expected_purchases", "value_at_risk", "share_of_clv")
"""Columns of :func:`clv_by_segment` that are not grouping columns."""


def customer_clv_table(
    purchases: pd.DataFrame,
    *,
    as_of: Any,
    amount_col: str,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
    months: int = 12,
    margin: float = 1.0,
    discount_rate: float = 0.0,
) -> pd.DataFrame:
    """Expected purchases, spend and discounted value of each customer over the next months.

    Parameters
    ----------
    purchases : DataFrame
        One row per purchase: customer id, time and amount.
    as_of : date-like
        Only purchases strictly before it are used; the value is counted from it.
    amount_col : str
        Purchase amount column.
    customer_col, time_col : str
        Customer id and purchase time columns.
    months : int, default 12
        Months of future purchases counted.
    margin : float, default 1.0
        Share of spend that is profit.
    discount_rate : float, default 0.0
        Monthly discount rate.

    Returns
    -------
    DataFrame
        One row per customer with a purchase before ``as_of``: ``customer_id``,
        ``frequency`` (repeat purchase days), ``recency_weeks``, ``age_weeks``,
        ``p_alive``, ``expected_purchases`` (in the ``months``), ``expected_spend``
        (per purchase), ``clv`` (discounted, × margin) and ``value_at_risk``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> n = 600
    >>> tx = pd.DataFrame({"customer_id": rng.integers(0, 80, n),
    ...                    "timestamp": pd.Timestamp("2024-01-01")
    ...                    + pd.to_timedelta(rng.integers(0, 330, n), unit="D"),
    ...                    "amount": rng.gamma(3.0, 10.0, n)})
    >>> t = customer_clv_table(tx, as_of="2024-12-01", amount_col="amount")
    >>> bool((t["clv"] > 0).all() and (t["p_alive"] <= 1).all())
    True
    """
    func = "customer_clv_table"
    df = check_frame(purchases, "purchases")
    require_columns(df, [customer_col, time_col, amount_col], table="purchases",
                    fix=f"Pass the column names, e.g. {func}(tx, amount_col='amount').")
    if not (isinstance(months, int) and months >= 1):
        raise ValueError(f"The 'months' parameter of {func} must be an int >= 1. "
                         f"Got {months!r} instead.")
    frame = pd.DataFrame({"customer_id": df[customer_col].to_numpy(),
                          "timestamp": pd.to_datetime(df[time_col]).to_numpy(),
                          "amount": pd.to_numeric(df[amount_col], errors="coerce").to_numpy()})
    s = rfm_summary(frame, pd.Timestamp(as_of), amount_col="amount", unit_days=_WEEK)
    if int((s["frequency"] > 0).sum()) < 3:
        raise SchemaError(
            f"purchases: fewer than 3 customers bought on two different days before {as_of}; "
            "a purchase model cannot be fitted. Use a longer purchase history.")
    x, t_x, t = s["frequency"], s["recency"], s["T"]
    purchase_model = ParetoNBD().fit(x, t_x, t)
    p_alive = purchase_model.p_alive(x, t_x, t)
    horizon = months * _MONTH_WEEKS
    expected = purchase_model.expected_purchases(horizon, x, t_x, t)
    # a first purchase is not a repeat one: Gamma-Gamma learns from the repeat purchases
    # and gives one-time buyers the population mean
    try:
        spend = GammaGamma().fit(x, s["monetary"]).expected_spend(x, s["monetary"])
    except SchemaError:  # too few repeat buyers with positive spend: their plain mean
        spend = np.full(len(s), float(np.nanmean(np.where(x > 0, s["monetary"],
                                                          s["first_amount"]))))
    if not np.all(np.isfinite(spend) & (spend >= 0)):  # q <= 1: the mean spend is unbounded
        spend = np.where(x > 0, s["monetary"], s["first_amount"]).astype(float)
    value = customer_clv(purchase_model, x, t_x, t, spend, horizon=horizon, steps=months,
                         discount_rate=discount_rate, margin=margin)
    with np.errstate(divide="ignore", invalid="ignore"):
        at_risk = np.where(p_alive > 0, value / p_alive - value, 0.0)
    return pd.DataFrame({
        "customer_id": s.index.to_numpy(),
        "frequency": x.to_numpy(), "recency_weeks": t_x.to_numpy(), "age_weeks": t.to_numpy(),
        "p_alive": p_alive, "expected_purchases": expected, "expected_spend": spend,
        "clv": value, "value_at_risk": at_risk,
    })


def clv_by_segment(table: pd.DataFrame, customers: pd.DataFrame | None = None, *,
                   by: str | Sequence[str] | None = None, customer_col: str = "customer_id"
                   ) -> pd.DataFrame:
    """Customer-level CLV summed and averaged per segment.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`customer_clv_table`.
    customers : DataFrame, optional
        One row per customer with the ``by`` columns (needed with ``by``).
    by : str or list of str, optional
        Segment column(s); one row for everybody if None.
    customer_col : str, default "customer_id"
        Id column of ``customers``.

    Returns
    -------
    DataFrame
        One row per segment, highest ``clv_total`` first: ``customers``, ``clv_total``,
        ``clv_mean``, ``clv_median``, ``p_alive_mean``, ``expected_purchases`` (sum),
        ``value_at_risk`` (sum) and ``share_of_clv``. Customers missing from
        ``customers`` count under a missing segment.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"customer_id": ["a", "b", "c"], "clv": [10.0, 30.0, 60.0],
    ...                   "p_alive": [0.5, 1.0, 0.9], "expected_purchases": [1.0, 2.0, 3.0],
    ...                   "value_at_risk": [10.0, 0.0, 6.0]})
    >>> c = pd.DataFrame({"customer_id": ["a", "b", "c"], "segment": ["x", "x", "y"]})
    >>> clv_by_segment(t, c, by="segment")[["segment", "customers", "clv_total", "clv_mean"]]
      segment  customers  clv_total  clv_mean
    0       y          1       60.0      60.0
    1       x          2       40.0      20.0
    """
    by_cols = by_columns(by)
    require_columns(table, ["customer_id", "clv", "p_alive", "expected_purchases",
                            "value_at_risk"], table="table",
                    fix="Pass the output of customer_clv_table(...).")
    frame = table.copy()
    if by_cols:
        if customers is None:
            raise ValueError("clv_by_segment needs customers= to break the value down by "
                             f"{by_cols}.")
        require_columns(customers, [customer_col, *by_cols], table="customers",
                        fix="Pass the customers table that has the segment columns.")
        seg = customers[[customer_col, *by_cols]].drop_duplicates(customer_col).copy()
        seg[customer_col] = seg[customer_col].astype(str)
        frame["customer_id"] = frame["customer_id"].astype(str)
        frame = frame.merge(seg, left_on="customer_id", right_on=customer_col, how="left",
                            suffixes=("", "_seg"))
    groups = Groups(frame, by_cols)
    codes = groups.codes
    out = groups.labels.copy()
    count = np.bincount(codes, minlength=groups.n)
    clv = frame["clv"].to_numpy(dtype=float)
    out["customers"] = count
    out["clv_total"] = np.bincount(codes, weights=clv, minlength=groups.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["clv_mean"] = out["clv_total"] / np.where(count > 0, count, np.nan)
        out["clv_median"] = [float(np.median(clv[codes == g])) if count[g] else np.nan
                             for g in range(groups.n)]
        out["p_alive_mean"] = np.bincount(codes, weights=frame["p_alive"].to_numpy(dtype=float),
                                          minlength=groups.n) / np.where(count > 0, count, np.nan)
    out["expected_purchases"] = np.bincount(
        codes, weights=frame["expected_purchases"].to_numpy(dtype=float), minlength=groups.n)
    out["value_at_risk"] = np.bincount(
        codes, weights=frame["value_at_risk"].to_numpy(dtype=float), minlength=groups.n)
    total = out["clv_total"].sum()
    out["share_of_clv"] = out["clv_total"] / total if total > 0 else np.nan
    return out.sort_values("clv_total", ascending=False, kind="stable").reset_index(drop=True)
