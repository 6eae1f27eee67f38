"""Risk bands and value at risk."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import STR_DTYPE
from churnkit.exceptions import SchemaError

__all__ = ["DEFAULT_BANDS", "band_order", "risk_band", "value_at_risk"]

DEFAULT_BANDS: Mapping[str, float] = {"high": 0.5, "medium": 0.2}
"""Lower probability bounds of each band; below all of them is ``"low"``."""

ArrayLike = pd.Series | np.ndarray | Sequence[float]


def _check_bands(bands: Mapping[str, float] | None, default: str) -> list[tuple[str, float]]:
    """Validate ``bands`` and return ``(name, threshold)`` sorted high to low."""
    if bands is None:
        bands = DEFAULT_BANDS
    problem = None
    if not isinstance(bands, Mapping) or not bands:
        problem = "a non-empty mapping of band name to lower probability bound"
    else:
        for name, bound in bands.items():
            if not isinstance(name, str) or not name.strip():
                problem = f"band names must be non-empty strings (got {name!r})"
            elif name == default:
                problem = f"{name!r} is the name of the band below all thresholds ('default')"
            elif (
                isinstance(bound, bool)
                or not isinstance(bound, int | float)
                or not 0 <= float(bound) <= 1
            ):
                problem = f"thresholds must be numbers in [0, 1] (got {name!r}: {bound!r})"
        bounds = [float(b) for b in bands.values()] if problem is None else []
        if problem is None and len(set(bounds)) != len(bounds):
            problem = "thresholds must be distinct"
    if problem:
        raise ValueError(
            f"The 'bands' parameter of risk_band must be {problem}, e.g. "
            f"{{'high': 0.5, 'medium': 0.2}}. Got {bands!r} instead."
        )
    return sorted(((n, float(b)) for n, b in bands.items()), key=lambda nb: -nb[1])


def band_order(bands: Mapping[str, float] | None = None, *, default: str = "low") -> list[str]:
    """Band names from the highest risk to the lowest, e.g. ``['high', 'medium', 'low']``."""
    return [name for name, _ in _check_bands(bands, default)] + [default]


def _probabilities(prob: ArrayLike, name: str = "prob") -> tuple[np.ndarray, pd.Index]:
    index = prob.index if isinstance(prob, pd.Series) else pd.RangeIndex(len(prob))
    try:
        values = np.asarray(prob, dtype=float)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"{name} must be numeric churn probabilities: {exc}") from exc
    bad = np.isnan(values) | (values < 0) | (values > 1)
    if bad.any():
        rows = index[bad][:5].tolist()
        raise SchemaError(
            f"{name}: {int(bad.sum())} value(s) outside [0, 1] or missing at rows {rows} "
            f"(e.g. {values[bad][0]!r}). Pass calibrated probabilities from predict_proba."
        )
    return values, index


def risk_band(
    prob: ArrayLike,
    bands: Mapping[str, float] | None = None,
    *,
    default: str = "low",
) -> pd.Series:
    """Put each churn probability in a risk band.

    Parameters
    ----------
    prob : array-like of float
        Churn probabilities in [0, 1].
    bands : mapping, default ``{"high": 0.5, "medium": 0.2}``
        Band name to the lowest probability that belongs to it (inclusive).
    default : str, default "low"
        Band of probabilities below every threshold.

    Returns
    -------
    Series of str
        Named ``risk_band``, with ``prob``'s index if it is a Series.

    Examples
    --------
    >>> risk_band([0.05, 0.2, 0.7]).tolist()
    ['low', 'medium', 'high']
    """
    ordered = _check_bands(bands, default)
    values, index = _probabilities(prob)
    names = np.array([default] + [name for name, _ in reversed(ordered)], dtype=object)
    bounds = np.array([bound for _, bound in reversed(ordered)])
    labels = names[np.searchsorted(bounds, values, side="right")]
    return pd.Series(labels, index=index, name="risk_band", dtype=STR_DTYPE)


def value_at_risk(
    prob: ArrayLike, monthly_value: ArrayLike, value_horizon_months: float = 12
) -> pd.Series:
    """Compute the expected value lost: churn probability x monthly value x horizon.

    Parameters
    ----------
    prob : array-like of float
        Churn probabilities in [0, 1].
    monthly_value : array-like of float
        Revenue per month, in the same order as ``prob``. Missing, infinite and
        negative amounts give a missing value at risk (:func:`churnkit.load_dataset`
        lists such values among the rejects).
    value_horizon_months : float, default 12
        How many months of revenue a churner takes away.

    Returns
    -------
    Series of float
        Named ``value_at_risk``, with ``prob``'s index if it is a Series.

    Examples
    --------
    >>> value_at_risk([0.5], [100.0]).tolist()
    [600.0]
    >>> value_at_risk([0.5, 0.5], [float("inf"), -5.0]).tolist()
    [nan, nan]
    """
    if (
        isinstance(value_horizon_months, bool)
        or not isinstance(value_horizon_months, int | float)
        or not math.isfinite(value_horizon_months)
        or value_horizon_months <= 0
    ):
        raise ValueError(
            "The 'value_horizon_months' parameter of value_at_risk must be a positive number. "
            f"Got {value_horizon_months!r} instead."
        )
    values, index = _probabilities(prob)
    money = pd.to_numeric(pd.Series(np.asarray(monthly_value, dtype=object)), errors="coerce")
    if len(money) != len(values):
        raise SchemaError(
            f"monthly_value has {len(money)} entries but prob has {len(values)}; "
            "pass one per customer."
        )
    amount = money.to_numpy(dtype=float, na_value=np.nan, copy=True)
    amount[~np.isfinite(amount) | (amount < 0)] = np.nan  # no amount, rather than a wrong one
    out: Any = values * amount * float(value_horizon_months)
    return pd.Series(out, index=index, name="value_at_risk", dtype=float)
