"""Ranking, probability and targeting metrics of churn scores: the one place they are defined.

Targeting metrics (lift, capture rate, gains) are *tie-aware*: when several
customers share a score at the targeting boundary, the boundary group counts
with the share of it that fits, i.e. the expected value under a random order
within ties. Rules with few distinct scores (a contract type) and isotonic-
calibrated probabilities (steps) are then measured fairly, independent of the
row order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from churnkit.exceptions import SchemaError

__all__ = [
    "TOP_SHARES",
    "calibration_table",
    "check_scores",
    "classification_metrics",
    "cumulative_gains",
    "lift_at",
    "sorted_cumulative",
]

TOP_SHARES = (0.05, 0.10, 0.20)
"""Targeting depths reported as ``lift_at_5``, ``capture_at_10``... (share of customers)."""


def check_scores(y: Any, p: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    p = np.asarray(p, dtype=float)
    if y.ndim != 1 or p.ndim != 1 or len(y) != len(p):
        raise SchemaError(
            f"{where}: y and scores must be 1-D and of equal length; got shapes "
            f"{y.shape} and {p.shape}."
        )
    if np.isnan(p).any():
        rows = np.flatnonzero(np.isnan(p))[:5].tolist()
        raise SchemaError(f"{where}: scores contain NaN at rows {rows}. Score every row.")
    return y.astype(bool), p


def _depth(share: float, n: int) -> int:
    """Customers in the top ``share`` of ``n`` (at least 1), rounded down."""
    return max(1, int(np.floor(share * n + 1e-9)))


def sorted_cumulative(values: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Cumulative sums of ``values`` over customers sorted by descending score.

    Returns an array of length ``n + 1`` (starting at 0) whose entry ``k`` is the
    expected sum over the top ``k`` customers when ties in ``p`` are broken at
    random: inside a group of equal scores the sum grows linearly.

    Examples
    --------
    >>> sorted_cumulative(np.array([1.0, 0.0, 1.0]), np.array([0.5, 0.9, 0.5])).tolist()
    [0.0, 0.0, 1.0, 2.0]
    >>> sorted_cumulative(np.array([1.0, 0.0]), np.array([0.5, 0.5])).tolist()
    [0.0, 0.5, 1.0]
    """
    values = np.asarray(values, dtype=float)
    order = np.argsort(-p, kind="stable")
    v, s = values[order], p[order]
    n = len(v)
    out = np.zeros(n + 1)
    if n == 0:
        return out
    cum = np.cumsum(v)
    new_group = np.r_[True, s[1:] != s[:-1]]
    start = np.flatnonzero(new_group)                   # first index of each tie group
    stop = np.r_[start[1:], n]                          # one past its last index
    group = np.cumsum(new_group) - 1                    # group of each sorted position
    before = np.where(start > 0, cum[start - 1], 0.0)   # sum before each group
    inside = cum[stop - 1] - before                     # sum of each group
    k = np.arange(1, n + 1)
    frac = (k - start[group]) / (stop - start)[group]
    out[1:] = before[group] + frac * inside[group]
    return out


def lift_at(y: Any, p: Any, share: float) -> tuple[float, float]:
    """Lift and capture rate of targeting the top ``share`` of customers by score.

    Lift is the churn rate among the targeted divided by the overall churn rate;
    capture rate is the share of all churners that are targeted.

    Examples
    --------
    >>> lift_at([1, 0, 0, 1, 0, 0, 0, 0, 0, 0], [.9, .8, .7, .6, .5, .4, .3, .2, .1, 0], 0.2)
    (2.5, 0.5)
    """
    y, p = check_scores(y, p, "lift_at")
    if not 0 < share <= 1:
        raise ValueError(f"The 'share' parameter of lift_at must be in (0, 1]. Got {share!r}.")
    positives = y.sum()
    if positives == 0:
        return float("nan"), float("nan")
    k = _depth(share, len(y))
    caught = sorted_cumulative(y.astype(float), p)[k]
    return float(caught / k / y.mean()), float(caught / positives)


def cumulative_gains(y: Any, p: Any, *, points: int = 101) -> pd.DataFrame:
    """Gains and lift by targeting depth.

    Returns
    -------
    DataFrame
        ``depth`` (share of customers targeted, 0..1), ``capture`` (share of
        churners reached) and ``lift`` at ``points`` evenly spaced depths.
    """
    y, p = check_scores(y, p, "cumulative_gains")
    n = len(y)
    cum = sorted_cumulative(y.astype(float), p)
    depth = np.linspace(0, 1, points)
    k = np.rint(depth * n).astype(int)
    total = max(y.sum(), 1)
    capture = cum[k] / total
    with np.errstate(invalid="ignore", divide="ignore"):
        lift = np.where(k > 0, capture / np.maximum(depth, 1e-12), np.nan)
    return pd.DataFrame({"depth": depth, "capture": capture, "lift": lift})


def calibration_table(y: Any, p: Any, *, bins: int = 10) -> pd.DataFrame:
    """Expected against observed churn rate by bin of predicted probability.

    Customers are sorted by score and split into ``bins`` groups of (nearly)
    equal size, deciles by default.

    Returns
    -------
    DataFrame
        ``bin`` (1 = lowest scores), ``n``, ``expected`` (mean predicted
        probability), ``observed`` (churn rate), ``min_score``, ``max_score``.

    Examples
    --------
    >>> t = calibration_table([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], bins=2)
    >>> t[["n", "expected", "observed"]].to_numpy().tolist()
    [[2.0, 0.15000000000000002, 0.0], [2.0, 0.8, 1.0]]
    """
    y, p = check_scores(y, p, "calibration_table")
    order = np.argsort(p, kind="stable")
    rows = []
    for b, idx in enumerate(np.array_split(order, min(bins, max(len(y), 1)))):
        if len(idx) == 0:
            continue
        rows.append({
            "bin": b + 1, "n": float(len(idx)), "expected": float(p[idx].mean()),
            "observed": float(y[idx].mean()), "min_score": float(p[idx].min()),
            "max_score": float(p[idx].max()),
        })
    return pd.DataFrame(rows, columns=["bin", "n", "expected", "observed", "min_score",
                                       "max_score"])


def classification_metrics(
    y: Any, p: Any, *, shares: Sequence[float] = TOP_SHARES
) -> dict[str, float]:
    """Ranking, probability and targeting metrics of one set of scores.

    Parameters
    ----------
    y : array-like of bool
        Churn labels.
    p : array-like of float
        Churn probabilities (or any score; ``log_loss``/``brier``/``ece`` are then NaN
        unless the scores lie in [0, 1]).
    shares : sequence of float
        Targeting depths for lift and capture rate.

    Returns
    -------
    dict
        ``n``, ``positive_rate``, ``roc_auc``, ``pr_auc``, ``log_loss``, ``brier``,
        ``lift_at_5``/``capture_at_5``..., ``top_decile_lift`` (tie-aware, see
        :func:`lift_at`) and ``ece`` (expected calibration error over deciles).
        Ranking metrics are NaN when only one class is present.

    Examples
    --------
    >>> m = classification_metrics([1, 0, 0, 0] * 5, [0.5] * 20)
    >>> m["top_decile_lift"], m["roc_auc"]
    (1.0, 0.5)
    """
    y, p = check_scores(y, p, "classification_metrics")
    nan = float("nan")
    out: dict[str, float] = {"n": float(len(y)), "positive_rate": float(y.mean()) if len(y) else nan}
    two = len(np.unique(y)) == 2
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    out["roc_auc"] = float(roc_auc_score(y, p)) if two else nan
    out["pr_auc"] = float(average_precision_score(y, p)) if two else nan
    probs = bool(len(p)) and p.min() >= 0 and p.max() <= 1
    out["log_loss"] = float(log_loss(y, clipped, labels=[False, True])) if probs and len(y) else nan
    out["brier"] = float(brier_score_loss(y, p)) if probs and len(y) else nan
    for share in shares:
        pct = round(share * 100)
        lift, capture = lift_at(y, p, share) if len(y) else (nan, nan)
        out[f"lift_at_{pct}"] = lift
        out[f"capture_at_{pct}"] = capture
    out["top_decile_lift"] = out.get("lift_at_10", lift_at(y, p, 0.1)[0] if len(y) else nan)
    if probs and len(y):
        cal = calibration_table(y, p)
        out["ece"] = float((cal["n"] * (cal["expected"] - cal["observed"]).abs()).sum() / len(y))
    else:
        out["ece"] = nan
    return out
