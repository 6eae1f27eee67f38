"""Uplift metrics on experiment data: Qini curve and coefficient, AUUC, uplift at k.

Conventions: ``saved`` is the outcome that contact should raise (1 = stayed,
i.e. not churned), ``treat`` is 1 for the treated group and 0 for control, and
``score`` ranks customers (highest first) by how much contact is expected to
help. Ties in ``score`` are broken by the order of the rows.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["auuc", "qini_coefficient", "qini_curve", "uplift_at_k"]


def _sorted(saved: ArrayLike, treat: ArrayLike, score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(saved, dtype=np.float64)
    t = np.asarray(treat, dtype=np.float64)
    s = np.asarray(score, dtype=np.float64)
    if not (y.shape == t.shape == s.shape) or y.ndim != 1:
        raise ValueError(f"saved, treat and score must be 1-d of one length. Got shapes "
                         f"{y.shape}, {t.shape}, {s.shape} instead.")
    order = np.argsort(-s, kind="stable")
    return y[order], t[order]


def qini_curve(saved: ArrayLike, treat: ArrayLike, score: ArrayLike) -> np.ndarray:
    """Incremental customers saved when contacting the top ``i`` customers, ``i = 0..n``.

    ``Q(i) = S_t(i) - S_c(i) * N_t(i) / N_c(i)``: saved among the treated of the
    top ``i``, minus what the control group of the top ``i`` says they would
    have kept anyway (0 while the top holds no control customer).

    Examples
    --------
    >>> qini_curve([1, 0, 1, 0], [1, 1, 0, 0], [4, 3, 2, 1]).tolist()
    [0.0, 1.0, 1.0, -1.0, 0.0]
    """
    y, t = _sorted(saved, treat, score)
    st, sc = np.cumsum(y * t), np.cumsum(y * (1 - t))
    nt, nc = np.cumsum(t), np.cumsum(1 - t)
    q = st - np.divide(sc * nt, nc, out=np.zeros_like(st), where=nc > 0)
    return np.r_[0.0, q]


def qini_coefficient(saved: ArrayLike, treat: ArrayLike, score: ArrayLike) -> float:
    """Area between the Qini curve and the random-targeting line, per customer.

    Positive: the ranking finds the customers contact helps better than
    chance; 0 for a random order; negative when it puts the harmed first.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> treat = rng.random(2000) < 0.5
    >>> helped = rng.random(2000) < 0.3  # contact keeps these customers
    >>> saved = np.where(treat & helped, 1, rng.random(2000) < 0.5)
    >>> score = helped.astype(float)
    >>> qini_coefficient(saved, treat, score) > qini_coefficient(saved, treat, -score) + 0.05
    True
    """
    q = qini_curve(saved, treat, score)
    n = len(q) - 1
    if n == 0:
        return float("nan")
    random = np.linspace(0.0, q[-1], n + 1)
    area = _trapezoid(q - random, 1.0 / n)
    return float(area / n)


def auuc(saved: ArrayLike, treat: ArrayLike, score: ArrayLike) -> float:
    """Area under the uplift curve: the Qini curve's average, per customer (random: Q(n)/2n)."""
    q = qini_curve(saved, treat, score)
    n = len(q) - 1
    return float(_trapezoid(q, 1.0 / n) / n) if n else float("nan")


def uplift_at_k(saved: ArrayLike, treat: ArrayLike, score: ArrayLike, k: float = 0.1) -> float:
    """Stay rate of the treated minus the control among the top ``k`` share of the ranking.

    Examples
    --------
    >>> uplift_at_k([1, 0, 1, 0], [1, 0, 1, 0], [4, 3, 2, 1], k=0.5)
    1.0
    """
    if not 0 < k <= 1:
        raise ValueError(f"The 'k' parameter of uplift_at_k must be in (0, 1]. Got {k!r} instead.")
    y, t = _sorted(saved, treat, score)
    top = max(1, int(round(k * len(y))))
    y, t = y[:top], t[:top]
    if t.sum() == 0 or (1 - t).sum() == 0:
        return float("nan")
    return float(y[t == 1].mean() - y[t == 0].mean())


def _trapezoid(y: np.ndarray, dx: float) -> float:
    """The trapezoid rule on evenly spaced points (``numpy.trapezoid`` needs numpy 2)."""
    y = np.asarray(y, dtype=float)
    return float(dx * (y.sum() - (y[0] + y[-1]) / 2)) if len(y) > 1 else 0.0
