"""Gamma-Gamma model of spend per purchase (Fader, Hardie and Lee, 2005; Colombo and Jiang, 1999).

A customer's purchases are Gamma(p, ν) around a personal mean, with ν ~ Gamma(q, γ). It
is fitted on repeat buyers only: ``frequency`` (repeat purchases, x ≥ 1) and
``monetary`` (their mean spend, m_x).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import gammaln
from sklearn.base import BaseEstimator

from churnkit.clv._btyd import FloatArray, fit_log_params
from churnkit.exceptions import NotFittedError, SchemaError

__all__ = ["GammaGamma"]


def _check(frequency: Any, monetary: Any, name: str) -> tuple[FloatArray, FloatArray]:
    x, m = np.broadcast_arrays(np.asarray(frequency, dtype=float),
                               np.asarray(monetary, dtype=float))
    for label, v in (("frequency", x), ("monetary", m)):
        bad = np.flatnonzero(~np.isfinite(v) | (v < 0))
        if bad.size:
            raise SchemaError(f"{name}: {label} must be finite and >= 0; rows "
                              f"{bad[:5].tolist()} are not (e.g. {v[bad[0]]!r}).")
    return x.astype(float), m.astype(float)


class GammaGamma(BaseEstimator):
    """Gamma-Gamma spend model.

    Parameters
    ----------
    max_iter : int, default 2000
        Iterations of L-BFGS-B.
    tol : float, default 1e-12
        Relative tolerance on the mean negative log-likelihood.

    Attributes
    ----------
    params_ : dict
        Fitted ``p``, ``q``, ``gamma``.
    n_customers_ : int
        Repeat buyers (frequency ≥ 1, monetary > 0) the fit used.

    Examples
    --------
    >>> from churnkit.clv import GammaGamma
    >>> gg = GammaGamma().fit([1, 3, 2, 5, 1, 2], [10.0, 30.0, 20.0, 25.0, 12.0, 40.0])
    >>> sorted(gg.params_)
    ['gamma', 'p', 'q']
    >>> spend = gg.expected_spend([0, 5], [0.0, 25.0])
    >>> bool(spend[0] > 0 and spend[1] > 0)
    True
    """

    params_: dict[str, float]

    def __init__(self, *, max_iter: int = 2000, tol: float = 1e-12) -> None:
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, frequency: Any, monetary: Any) -> GammaGamma:
        """Fit on the customers with at least one repeat purchase and positive spend.

        Parameters
        ----------
        frequency : array-like of shape (n_customers,)
            Repeat purchases.
        monetary : array-like of shape (n_customers,)
            Mean spend of those purchases; rows with frequency 0 or spend 0 are ignored.

        Returns
        -------
        self
        """
        x, m = _check(frequency, monetary, "GammaGamma")
        keep = (x > 0) & (m > 0)
        if keep.sum() < 3:
            raise SchemaError("GammaGamma: fewer than 3 customers with a repeat purchase and "
                              "positive spend; the spend model cannot be fitted.")
        x, m = x[keep], m[keep]

        def neg_ll(logp: FloatArray) -> float:
            value = -float(np.mean(self._loglik(np.exp(logp), x, m)))
            return value if np.isfinite(value) else 1e300

        params = fit_log_params(neg_ll, 3, name="GammaGamma", max_iter=int(self.max_iter),
                                tol=float(self.tol))
        self.params_ = dict(zip(("p", "q", "gamma"), map(float, params), strict=True))
        self.n_customers_ = int(keep.sum())
        return self

    @staticmethod
    def _loglik(params: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
        p, q, g = params
        px = p * x
        return np.asarray(gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
                          + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(g + m * x),
                          dtype=float)

    def expected_spend(self, frequency: Any, monetary: Any) -> FloatArray:
        """Expected mean spend per future purchase of each customer.

        Customers with no repeat purchase get the population mean ``p γ / (q − 1)``.
        """
        if not hasattr(self, "params_"):
            raise NotFittedError("This GammaGamma instance is not fitted yet. Call 'fit' "
                                 "with frequency and monetary first.")
        x, m = _check(frequency, monetary, "GammaGamma")
        p, q, g = self.params_["p"], self.params_["q"], self.params_["gamma"]
        return np.asarray((g + m * x) * p / (p * x + q - 1), dtype=float)
