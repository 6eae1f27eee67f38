"""Buy-till-you-die purchase models: BG/NBD and Pareto/NBD.

Both describe a customer by three numbers measured in one time unit: ``frequency``
(repeat purchases, x), ``recency`` (time of the last purchase since the first, t_x) and
``T`` (time from the first purchase to the end of observation). Parameters are fitted by
maximum likelihood on their logarithms with L-BFGS-B; the log-likelihoods are the closed
forms of Fader, Hardie and Lee (2005) for BG/NBD and of Fader and Hardie (2005, "A note
on deriving the Pareto/NBD model and related expressions") for Pareto/NBD, evaluated for
all customers at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1
from sklearn.base import BaseEstimator

from churnkit.exceptions import ModelError, NotFittedError, SchemaError

__all__ = ["BGNBD", "ParetoNBD"]

FloatArray = npt.NDArray[np.float64]


def check_rft(frequency: Any, recency: Any, T: Any, *, name: str) -> tuple[  # noqa: N803
        FloatArray, FloatArray, FloatArray]:
    """Validate and broadcast (frequency, recency, T) as float arrays.

    Raises
    ------
    SchemaError
        If a value is missing or negative, a frequency is not whole, recency exceeds T,
        or a customer with no repeat purchase has a recency other than 0.
    """
    x, t_x, t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    x, t_x, t = np.broadcast_arrays(x, t_x, t)
    for label, v in (("frequency", x), ("recency", t_x), ("T", t)):
        bad = np.flatnonzero(~np.isfinite(v) | (v < 0))
        if bad.size:
            raise SchemaError(
                f"{name}: {label} must be finite and >= 0; rows {bad[:5].tolist()} are not "
                f"(e.g. {v[bad[0]]!r}). Summarise purchases with churnkit.clv.rfm_summary.")
    checks = (
        (x != np.round(x), "frequency must be a whole number of repeat purchases"),
        (t_x > t + 1e-9, "recency must be <= T"),
        ((x == 0) & (t_x != 0), "recency must be 0 where frequency is 0"),
    )
    for mask, what in checks:
        bad = np.flatnonzero(mask)
        if bad.size:
            raise SchemaError(f"{name}: {what}; rows {bad[:5].tolist()} break it. "
                              "Summarise purchases with churnkit.clv.rfm_summary.")
    return x.astype(float), t_x.astype(float), t.astype(float)


def fit_log_params(neg_ll: Any, n_params: int, *, name: str, max_iter: int,
                   tol: float) -> FloatArray:
    """Minimise ``neg_ll(log_params)`` with L-BFGS-B from log-parameters 0 (parameters 1)."""
    with np.errstate(all="ignore"):  # trial points may overflow; neg_ll maps them to 1e300
        res = minimize(neg_ll, np.zeros(n_params), method="L-BFGS-B",
                       bounds=[(-15.0, 15.0)] * n_params,
                       options={"maxiter": max_iter, "ftol": tol, "gtol": tol * 1e3})
    if not np.isfinite(res.fun):
        raise ModelError(f"{name}: the likelihood could not be evaluated ({res.message}). "
                         "Check that the summary has enough repeat buyers.")
    return np.exp(res.x)


def _weights(sample_weight: Any, n: int, name: str) -> FloatArray:
    if sample_weight is None:
        return np.ones(n)
    w = np.broadcast_to(np.asarray(sample_weight, dtype=float), (n,))
    if not np.all(np.isfinite(w) & (w >= 0)) or w.sum() <= 0:
        raise SchemaError(f"{name}: sample_weight must be finite, >= 0 and not all 0.")
    return np.array(w)


class _BTYD(BaseEstimator):
    """Shared fit/validation of the purchase models."""

    _param_names: tuple[str, ...] = ()
    params_: dict[str, float]

    def __init__(self, *, max_iter: int = 2000, tol: float = 1e-12) -> None:
        self.max_iter = max_iter
        self.tol = tol

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' with frequency, recency and T first.")

    @staticmethod
    def _loglik(p: FloatArray, x: FloatArray, t_x: FloatArray, t: FloatArray) -> FloatArray:
        raise NotImplementedError

    def fit(self, frequency: Any, recency: Any, T: Any,  # noqa: N803
            sample_weight: Any = None) -> _BTYD:
        """Fit the parameters by maximum likelihood.

        Parameters
        ----------
        frequency, recency, T : array-like of shape (n_customers,)
            Repeat purchases, time of the last purchase after the first, and time from
            the first purchase to the end of observation, in one time unit.
        sample_weight : array-like, optional
            Number of customers each row stands for (e.g. counts of identical rows).

        Returns
        -------
        self
        """
        name = type(self).__name__
        for p, v in (("max_iter", self.max_iter), ("tol", self.tol)):
            if not (isinstance(v, int | float) and v > 0):
                raise ValueError(f"The '{p}' parameter of {name} must be > 0. Got {v!r} instead.")
        x, t_x, t = check_rft(frequency, recency, T, name=name)
        if x.size == 0:
            raise SchemaError(f"{name}: no customers to fit on.")
        # identical (x, t_x, T) rows share one likelihood term
        rows = np.column_stack([x, t_x, t])
        w = _weights(sample_weight, x.size, name)
        uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
        wu = np.bincount(inverse.ravel(), weights=w, minlength=len(uniq))
        xu, txu, tu = uniq[:, 0], uniq[:, 1], uniq[:, 2]
        total = wu.sum()

        def neg_ll(logp: FloatArray) -> float:
            ll = self._loglik(np.exp(logp), xu, txu, tu)
            value = -float(np.dot(wu, ll)) / total
            return value if np.isfinite(value) else 1e300

        params = fit_log_params(neg_ll, len(self._param_names), name=name,
                                max_iter=int(self.max_iter), tol=float(self.tol))
        self.params_ = dict(zip(self._param_names, map(float, params), strict=True))
        self.log_likelihood_ = -neg_ll(np.log(params)) * total
        self.n_customers_ = int(round(total))
        return self

    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> FloatArray:  # noqa: N803
        """Per-customer log-likelihood under the fitted parameters."""
        self._check_fitted()
        x, t_x, t = check_rft(frequency, recency, T, name=type(self).__name__)
        return self._loglik(self._p(), x, t_x, t)

    def _p(self) -> FloatArray:
        return np.array([self.params_[k] for k in self._param_names])


class BGNBD(_BTYD):
    """Beta-geometric/NBD purchase model (Fader, Hardie and Lee, 2005).

    While alive a customer buys at a Poisson rate λ ~ Gamma(r, α); after each purchase
    the customer dies with probability p ~ Beta(a, b).

    Parameters
    ----------
    max_iter : int, default 2000
        Iterations of L-BFGS-B.
    tol : float, default 1e-12
        Relative tolerance on the mean negative log-likelihood.

    Attributes
    ----------
    params_ : dict
        Fitted ``r``, ``alpha``, ``a``, ``b``.
    log_likelihood_ : float
        Total log-likelihood at the fitted parameters.

    Examples
    --------
    >>> from churnkit.clv import BGNBD
    >>> m = BGNBD().fit([0, 2, 5, 1], [0.0, 10.0, 30.0, 2.0], [40.0, 35.0, 38.0, 30.0])
    >>> sorted(m.params_)
    ['a', 'alpha', 'b', 'r']
    >>> bool(m.p_alive([5], [30.0], [38.0])[0] > m.p_alive([5], [5.0], [38.0])[0])
    True
    """

    _param_names = ("r", "alpha", "a", "b")

    @staticmethod
    def _loglik(p: FloatArray, x: FloatArray, t_x: FloatArray, t: FloatArray) -> FloatArray:
        r, alpha, a, b = p
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = betaln(a, b + x) - betaln(a, b)
        a3 = -(r + x) * np.log(alpha + t)
        with np.errstate(divide="ignore", invalid="ignore"):
            a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                          - (r + x) * np.log(alpha + t_x), -np.inf)
        return np.asarray(a1 + a2 + np.logaddexp(a3, a4), dtype=float)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray:  # noqa: N803
        """Probability that each customer is still alive at the end of observation."""
        self._check_fitted()
        x, t_x, t = check_rft(frequency, recency, T, name="BGNBD")
        r, alpha, a, b = self._p()
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds = (np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                        + (r + x) * (np.log(alpha + t) - np.log(alpha + t_x)))
        return np.where(x > 0, 1.0 / (1.0 + np.exp(log_odds)), 1.0)

    def expected_purchases(self, horizon: float, frequency: Any, recency: Any,
                           T: Any) -> FloatArray:  # noqa: N803
        """Expected purchases of each customer in the next ``horizon`` time units."""
        self._check_fitted()
        x, t_x, t = check_rft(frequency, recency, T, name="BGNBD")
        r, alpha, a, b = self._p()
        h = float(horizon)
        z = h / (alpha + t + h)
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
        first = (a + b + x - 1) / (a - 1)
        second = 1.0 - np.exp((r + x) * np.log((alpha + t) / (alpha + t + h))) * hyp
        out = first * second * self.p_alive(x, t_x, t)
        return np.asarray(out, dtype=float)


def _log_a0(r: float, alpha: float, s: float, beta: float, x: FloatArray, t_x: FloatArray,
            t: FloatArray) -> FloatArray:
    """Log A0 of the Pareto/NBD likelihood, with Euler's transform of 2F1 for stability.

    With c = r+s+x+1, ``2F1(c-1, b; c; z) = (1-z)^(1-b) 2F1(1, c-b; c; z)`` keeps the
    series moderate whatever x is; the branch on α ≥ β keeps z in [0, 1).
    """
    c = r + s + x + 1
    b_: float | FloatArray
    if alpha >= beta:
        m, d, b_ = alpha, alpha - beta, s + 1
    else:
        m, d, b_ = beta, beta - alpha, r + x

    def log_term(u: FloatArray) -> FloatArray:
        z = d / (m + u)
        # 2F1(c-1, b; c; z) = (1-z)^(1-b) 2F1(1, c-b; c; z)
        log_hyp = (1 - b_) * np.log1p(-z) + np.log(hyp2f1(1.0, c - b_, c, z))
        return np.asarray(log_hyp - (r + s + x) * np.log(m + u), dtype=float)

    l1, l2 = log_term(t_x), log_term(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(l1 + np.log(-np.expm1(np.minimum(l2 - l1, -1e-300))), dtype=float)


class ParetoNBD(_BTYD):
    """Pareto/NBD purchase model (Schmittlein, Morrison and Colombo, 1987).

    While alive a customer buys at a Poisson rate λ ~ Gamma(r, α) and dies at an
    exponential rate μ ~ Gamma(s, β).

    Parameters
    ----------
    max_iter : int, default 2000
        Iterations of L-BFGS-B.
    tol : float, default 1e-12
        Relative tolerance on the mean negative log-likelihood.

    Attributes
    ----------
    params_ : dict
        Fitted ``r``, ``alpha``, ``s``, ``beta``.
    log_likelihood_ : float
        Total log-likelihood at the fitted parameters.

    Examples
    --------
    >>> from churnkit.clv import ParetoNBD
    >>> m = ParetoNBD().fit([0, 2, 5, 1, 0], [0.0, 10.0, 30.0, 2.0, 0.0],
    ...                     [40.0, 35.0, 38.0, 30.0, 20.0])
    >>> sorted(m.params_)
    ['alpha', 'beta', 'r', 's']
    >>> bool(m.expected_purchases(10.0, [5], [37.0], [38.0])[0] > 0)
    True
    """

    _param_names = ("r", "alpha", "s", "beta")

    @staticmethod
    def _loglik(p: FloatArray, x: FloatArray, t_x: FloatArray, t: FloatArray) -> FloatArray:
        r, alpha, s, beta = (float(v) for v in p)
        head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        first = -(r + x) * np.log(alpha + t) - s * np.log(beta + t)
        second = np.log(s / (r + s + x)) + _log_a0(r, alpha, s, beta, x, t_x, t)
        return np.asarray(head + np.logaddexp(first, second), dtype=float)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray:  # noqa: N803
        """Probability that each customer is still alive at the end of observation."""
        self._check_fitted()
        x, t_x, t = check_rft(frequency, recency, T, name="ParetoNBD")
        r, alpha, s, beta = (float(v) for v in self._p())
        log_ratio = (np.log(s / (r + s + x)) + (r + x) * np.log(alpha + t)
                     + s * np.log(beta + t) + _log_a0(r, alpha, s, beta, x, t_x, t))
        return np.asarray(1.0 / (1.0 + np.exp(log_ratio)), dtype=float)

    def expected_purchases(self, horizon: float, frequency: Any, recency: Any,
                           T: Any) -> FloatArray:  # noqa: N803
        """Expected purchases of each customer in the next ``horizon`` time units."""
        self._check_fitted()
        x, t_x, t = check_rft(frequency, recency, T, name="ParetoNBD")
        r, alpha, s, beta = (float(v) for v in self._p())
        h = float(horizon)
        if abs(s - 1.0) < 1e-9:
            rate = (r + x) * (beta + t) / (alpha + t) * np.log((beta + t + h) / (beta + t))
        else:
            rate = ((r + x) * (beta + t) / ((alpha + t) * (s - 1))
                    * (1.0 - ((beta + t) / (beta + t + h)) ** (s - 1)))
        return np.asarray(rate * self.p_alive(x, t_x, t), dtype=float)
