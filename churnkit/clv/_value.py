"""Discounted customer lifetime value from a purchase model and a spend per purchase."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from churnkit.clv._btyd import FloatArray

__all__ = ["customer_clv"]


class PurchaseModel(Protocol):
    """Anything with ``expected_purchases(horizon, frequency, recency, T)``."""

    def expected_purchases(self, horizon: float, frequency: Any, recency: Any,
                           T: Any) -> FloatArray:  # noqa: N803
        """Expected purchases in the next ``horizon`` time units."""


def customer_clv(model: PurchaseModel, frequency: Any, recency: Any, T: Any,  # noqa: N803
                 spend: Any, *, horizon: float, steps: int = 12, discount_rate: float = 0.0,
                 margin: float = 1.0) -> FloatArray:
    """Expected discounted value of each customer's purchases over the next ``horizon``.

    The horizon is cut into ``steps`` equal periods; the purchases expected in period k
    (the increase of the model's cumulative expectation) are valued at ``spend × margin``
    and discounted by ``(1 + discount_rate) ** k``.

    Parameters
    ----------
    model : fitted BGNBD or ParetoNBD
        The purchase model.
    frequency, recency, T : array-like
        The customers' summary in the model's time unit.
    spend : array-like or float
        Expected spend per purchase (e.g. ``GammaGamma.expected_spend``).
    horizon : float
        Length of the future counted, in the model's time unit.
    steps : int, default 12
        Periods the horizon is cut into for discounting.
    discount_rate : float, default 0.0
        Discount rate per period.
    margin : float, default 1.0
        Share of spend that is profit.

    Returns
    -------
    ndarray
        Value per customer.

    Examples
    --------
    >>> from churnkit.clv import BGNBD, customer_clv
    >>> m = BGNBD().fit([0, 2, 5, 1], [0.0, 10.0, 30.0, 2.0], [40.0, 35.0, 38.0, 30.0])
    >>> v = customer_clv(m, [5, 0], [30.0, 0.0], [38.0, 38.0], 20.0, horizon=52,
    ...                  discount_rate=0.01)
    >>> bool(v[0] > v[1] > 0)
    True
    """
    if not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"The 'steps' parameter of customer_clv must be an int >= 1. "
                         f"Got {steps!r} instead.")
    if not horizon > 0:
        raise ValueError(f"The 'horizon' parameter of customer_clv must be > 0. "
                         f"Got {horizon!r} instead.")
    if not discount_rate > -1:
        raise ValueError(f"The 'discount_rate' parameter of customer_clv must be > -1. "
                         f"Got {discount_rate!r} instead.")
    cumulative = [np.zeros(np.broadcast(np.asarray(frequency), np.asarray(T)).shape)]
    for k in range(1, steps + 1):
        cumulative.append(model.expected_purchases(horizon * k / steps, frequency, recency, T))
    value = np.zeros_like(cumulative[0], dtype=float)
    for k in range(1, steps + 1):
        value += (cumulative[k] - cumulative[k - 1]) / (1.0 + discount_rate) ** k
    return np.asarray(value * np.asarray(spend, dtype=float) * margin, dtype=float)
