"""Distances between binned distributions: population stability index and Jensen-Shannon.

A distribution here is the counts of a training profile or a run record
(see :func:`churnkit.model.training_profile`): counts per bin, plus missing
values (and, for categories, values unseen in training) as bins of their own,
so a feature whose values go missing drifts as much as one whose values move.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["LEVELS", "distribution", "drift_level", "js_distance", "psi"]

LEVELS = ("ok", "watch", "act")
_FLOOR = 1e-4


def distribution(entry: Mapping[str, Any]) -> np.ndarray:
    """The bin counts of a profile or run entry, with missing and unseen as two more bins."""
    return np.array([*entry["counts"], entry.get("missing", 0), entry.get("unseen", 0)],
                    dtype=float)


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    if total <= 0:
        return np.full(len(counts), 1.0 / max(len(counts), 1))
    return counts / total


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index ``sum((a - e) * ln(a / e))`` over bins.

    Empty bins count as a share of 0.0001, so that a bin seen on one side only
    gives a large, finite index.

    Examples
    --------
    >>> psi(np.array([50, 50]), np.array([50, 50]))
    0.0
    >>> round(psi(np.array([50, 50]), np.array([80, 20])), 3)
    0.416
    """
    e = np.maximum(_shares(np.asarray(expected, dtype=float)), _FLOOR)
    a = np.maximum(_shares(np.asarray(actual, dtype=float)), _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def js_distance(expected: np.ndarray, actual: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2): 0 for equal distributions, 1 for disjoint ones.

    Examples
    --------
    >>> js_distance(np.array([1, 0]), np.array([0, 1]))
    1.0
    >>> js_distance(np.array([3, 1]), np.array([3, 1]))
    0.0
    """
    p = _shares(np.asarray(expected, dtype=float))
    q = _shares(np.asarray(actual, dtype=float))
    m = (p + q) / 2

    def kl(x: np.ndarray) -> float:
        keep = x > 0
        return float(np.sum(x[keep] * np.log2(x[keep] / m[keep])))

    return float(np.sqrt(max(0.0, (kl(p) + kl(q)) / 2)))


def drift_level(value: float, watch: float, act: float) -> str:
    """``ok``, ``watch`` or ``act`` for a drift measure and its two thresholds.

    Examples
    --------
    >>> drift_level(0.05, 0.1, 0.25), drift_level(0.1, 0.1, 0.25), drift_level(0.3, 0.1, 0.25)
    ('ok', 'watch', 'act')
    """
    if not np.isfinite(value) or value < watch:
        return "ok"
    return "act" if value >= act else "watch"
