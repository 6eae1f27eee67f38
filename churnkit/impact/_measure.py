"""Treated vs control: churn rates, their difference with a 95 % interval, what was saved."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from churnkit._core import require_columns

__all__ = ["IMPACT_COLUMNS", "breakdown_levels", "difference_interval", "impact_by", "impact_table",
           "wilson_interval"]

Z95 = 1.959963984540054

IMPACT_COLUMNS: tuple[str, ...] = (
    "treated", "control", "churn_treated", "churn_control", "itt", "itt_low", "itt_high",
    "contacted_share", "cace", "cace_low", "cace_high", "customers_saved", "value_saved",
)
"""Columns of :func:`impact_table`: rates are shares; ``itt`` = churn_treated - churn_control."""


def wilson_interval(
    successes: float | np.ndarray, n: float | np.ndarray, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion.

    Examples
    --------
    >>> low, high = wilson_interval(0, 10)
    >>> float(low), round(float(high), 4)
    (0.0, 0.2775)
    """
    successes, n = np.broadcast_arrays(np.asarray(successes, dtype=np.float64),
                                       np.asarray(n, dtype=np.float64))
    p = np.divide(successes, n, out=np.full(n.shape, np.nan), where=n > 0)
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z / denom * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def difference_interval(
    x1: float | np.ndarray, n1: float | np.ndarray, x2: float | np.ndarray, n2: float | np.ndarray,
    z: float = Z95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference of two proportions ``x1/n1 - x2/n2`` with Newcombe's hybrid score interval.

    Newcombe (1998), method 10: it combines the Wilson intervals of both
    proportions and keeps its coverage near 95 % for small groups and rates
    near 0, where the Wald interval is too narrow.

    Returns
    -------
    difference, low, high : ndarray

    Examples
    --------
    >>> d, low, high = difference_interval(56, 70, 48, 80)  # Newcombe's example 1(a)
    >>> round(float(d), 4), round(float(low), 4), round(float(high), 4)
    (0.2, 0.0524, 0.3339)
    """
    x1, n1, x2, n2 = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x1, n1, x2, n2)))
    p1 = np.divide(x1, n1, out=np.full(n1.shape, np.nan), where=n1 > 0)
    p2 = np.divide(x2, n2, out=np.full(n2.shape, np.nan), where=n2 > 0)
    l1, u1 = wilson_interval(x1, n1, z)
    l2, u2 = wilson_interval(x2, n2, z)
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, low, high


def impact_table(frame: pd.DataFrame, *, value_horizon_months: float = 1.0) -> pd.Series:
    """Churn of the treated vs the control group, the effect of the lists and of a contact.

    Parameters
    ----------
    frame : DataFrame
        One row per customer: ``group`` ("treat"/"control"), ``churned`` (bool),
        optional ``value`` (per month) and ``contacted`` (bool, from the actions log).
    value_horizon_months : float, default 1.0
        Months of value a kept customer counts for (``scoring.value_horizon_months``).

    Returns
    -------
    Series
        Indexed by :data:`IMPACT_COLUMNS`. ``itt`` is the intent-to-treat effect
        (the churn rate of the treated group minus the control group's: negative
        means the list saved customers), with its 95 % Newcombe interval.
        ``cace`` is the effect on the customers actually contacted, ``itt``
        divided by the share contacted in the treated group minus the share in
        the control group (NaN without ``contacted``); its interval is the ITT
        interval scaled the same way. ``customers_saved`` = -itt x treated;
        ``value_saved`` = the value-weighted churn rate difference x the treated
        group's value x ``value_horizon_months``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"group": ["treat"] * 100 + ["control"] * 100,
    ...                       "churned": [True] * 10 + [False] * 90 + [True] * 20 + [False] * 80})
    >>> row = impact_table(frame)
    >>> float(row["itt"]), float(row["customers_saved"])
    (-0.1, 10.0)
    """
    require_columns(frame, ("group", "churned"), table="assignments",
                    fix="Join the assignments with the realised churn first.")
    treat = (frame["group"] == "treat").to_numpy()
    control = (frame["group"] == "control").to_numpy()
    y = frame["churned"].to_numpy(dtype=np.float64)
    n_t, n_c = int(treat.sum()), int(control.sum())
    x_t, x_c = float(y[treat].sum()), float(y[control].sum())
    d, low, high = difference_interval(x_t, n_t, x_c, n_c)
    if "contacted" in frame:
        c = frame["contacted"].to_numpy(dtype=np.float64)
        share_t = c[treat].mean() if n_t else np.nan
        share_c = c[control].mean() if n_c else 0.0
        compliance = share_t - share_c
    else:
        share_t, compliance = np.nan, np.nan
    ok = np.isfinite(compliance) and compliance > 0
    value = frame["value"].to_numpy(dtype=np.float64) if "value" in frame else np.ones(len(frame))
    value = np.nan_to_num(value)
    vt, vc = value[treat].sum(), value[control].sum()
    rate_t = (value[treat] * y[treat]).sum() / vt if vt > 0 else np.nan
    rate_c = (value[control] * y[control]).sum() / vc if vc > 0 else np.nan
    return pd.Series({
        "treated": n_t, "control": n_c,
        "churn_treated": x_t / n_t if n_t else np.nan,
        "churn_control": x_c / n_c if n_c else np.nan,
        "itt": float(d), "itt_low": float(low), "itt_high": float(high),
        "contacted_share": float(share_t),
        "cace": float(d) / compliance if ok else np.nan,
        "cace_low": float(low) / compliance if ok else np.nan,
        "cace_high": float(high) / compliance if ok else np.nan,
        "customers_saved": -float(d) * n_t,
        "value_saved": (rate_c - rate_t) * vt * value_horizon_months,
    })[list(IMPACT_COLUMNS)]


def breakdown_levels(values: pd.Series) -> pd.Series:
    """The level of each row as :func:`impact_by` names it: stripped text, ``(none)`` if empty."""
    return values.astype("string").fillna("").str.strip().replace("", "(none)")


def impact_by(frame: pd.DataFrame, by: Sequence[str], *, value_horizon_months: float = 1.0) -> pd.DataFrame:
    """:func:`impact_table` per level of each column in ``by``, stacked.

    Returns
    -------
    DataFrame
        Columns ``breakdown`` (the column), ``level`` (its value), then
        :data:`IMPACT_COLUMNS`; levels without a treated or a control customer
        are left out.
    """
    rows = []
    for col in by:
        if col not in frame:
            continue
        for level, part in frame.groupby(breakdown_levels(frame[col]).to_numpy(), sort=True):
            if not ((part["group"] == "treat").any() and (part["group"] == "control").any()):
                continue
            rows.append({"breakdown": col, "level": str(level),
                         **impact_table(part, value_horizon_months=value_horizon_months).to_dict()})
    return pd.DataFrame(rows, columns=["breakdown", "level", *IMPACT_COLUMNS])
