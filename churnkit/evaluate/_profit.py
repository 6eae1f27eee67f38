r"""What a retention campaign driven by the scores would earn: profit curve and EMP.

The campaign model follows Neslin et al. (2006) and Verbraken, Verbeke and
Baesens (2013), "A novel profit maximizing metric for measuring classification
performance of customer churn prediction models", IEEE TKDE 25(5). Customers
are contacted in order of descending score. Contacting one costs ``f``
(``contact_cost``). A contacted churner accepts the retention offer with
probability ``γ`` (``acceptance_rate``), stays, and is worth its value ``v``
minus the offer's cost ``d`` (``offer_cost``); a contacted non-churner takes the
offer too, which costs ``d``. The expected profit of contacting the top ``k``
customers is

.. math:: P_k(γ) = γ A_k - B_k, \\quad
          A_k = \\sum_{i \\le k} y_i (v_i - d), \\quad
          B_k = \\sum_{i \\le k} \\big(f + (1 - y_i) d\\big).

The **profit curve** is :math:`P_k` at the configured ``γ`` for every depth
``k``; its maximum is the best targeting depth. The **expected maximum profit**
(EMP) does not fix ``γ``: it averages the best achievable profit over a
Beta(a, b) distribution ``h`` of acceptance rates,

.. math:: \\mathrm{EMP} = \\int_0^1 \\max_k P_k(γ)\\, h(γ)\\, dγ .

Because each :math:`P_k` is a line in ``γ``, :math:`\\max_k P_k` is their upper
envelope, a convex piecewise-linear function. We build the envelope with the
convex-hull trick and integrate it segment by segment in closed form with the
Beta CDF: on a segment ``[lo, hi]`` where line ``k`` is best,
:math:`\\int (γ A_k - B_k) h = A_k \\frac{a}{a+b}\\,[G(hi) - G(lo)] - B_k [F(hi) - F(lo)]`
with ``F`` the CDF of Beta(a, b) and ``G`` that of Beta(a + 1, b). This is exact
up to floating point, so no quadrature grid needs tuning. ``emp_per_customer``
divides by the number of customers (Verbraken's normalisation) and ``depth`` is
the expected optimal share of customers to contact.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import beta as beta_dist

from churnkit.config import CampaignConfig
from churnkit.exceptions import SchemaError
from churnkit.model import check_scores, sorted_cumulative

__all__ = ["best_profit", "customer_values", "expected_max_profit", "profit_curve"]


def _campaign(campaign: Any) -> Any:
    return campaign if campaign is not None else CampaignConfig()


def customer_values(value: Any, n: int, campaign: Any = None) -> np.ndarray:
    """Per-customer value: ``value`` where given and known, else the campaign's constant."""
    campaign = _campaign(campaign)
    if value is None:
        return np.full(n, float(campaign.customer_value))
    v = np.asarray(value, dtype=float)
    if v.shape != (n,):
        raise SchemaError(f"value must have one entry per customer ({n}); got shape {v.shape}.")
    return np.where(np.isfinite(v), v, float(campaign.customer_value))


def _terms(y: Any, p: Any, value: Any, campaign: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative ``A_k`` and ``B_k`` (tie-aware) and the scores."""
    y, p = check_scores(y, p, "profit_curve")
    c = _campaign(campaign)
    v = customer_values(value, len(y), c)
    gain = np.where(y, v - c.offer_cost, 0.0)
    cost = c.contact_cost + np.where(y, 0.0, c.offer_cost)
    return sorted_cumulative(gain, p), sorted_cumulative(cost, p), p


def profit_curve(
    y: Any, p: Any, *, value: Any = None, campaign: Any = None, points: int | None = None
) -> pd.DataFrame:
    """Expected campaign profit when contacting the top ``k`` customers, for every ``k``.

    Parameters
    ----------
    y : array-like of bool
        Churn labels.
    p : array-like of float
        Scores; higher = contacted first.
    value : array-like of float, optional
        Customer value per row; missing entries and ``None`` use ``campaign.customer_value``.
    campaign : CampaignConfig, optional
        Costs and acceptance rate.
    points : int, optional
        Return this many evenly spaced depths instead of all ``n + 1``.

    Returns
    -------
    DataFrame
        ``targeted`` (customers contacted), ``depth`` (their share) and ``profit``.

    Examples
    --------
    >>> from churnkit.config import CampaignConfig
    >>> c = CampaignConfig(contact_cost=1, offer_cost=10, acceptance_rate=0.5, customer_value=100)
    >>> profit_curve([1, 0, 1, 0], [0.9, 0.8, 0.3, 0.1], campaign=c)["profit"].tolist()
    [0.0, 44.0, 33.0, 77.0, 66.0]
    """
    c = _campaign(campaign)
    a, b, _ = _terms(y, p, value, c)
    n = len(a) - 1
    k = np.arange(n + 1)
    if points is not None and points < n + 1:
        k = np.unique(np.rint(np.linspace(0, n, points)).astype(int))
    profit = c.acceptance_rate * a[k] - b[k]
    return pd.DataFrame({"targeted": k, "depth": k / max(n, 1), "profit": profit})


def best_profit(y: Any, p: Any, *, value: Any = None, campaign: Any = None) -> tuple[float, float]:
    """The most profitable targeting depth (share of customers) and its expected profit."""
    curve = profit_curve(y, p, value=value, campaign=campaign)
    i = int(np.argmax(curve["profit"].to_numpy()))
    return float(curve["depth"].iloc[i]), float(curve["profit"].iloc[i])


def _upper_envelope(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the lines ``γ a_k - b_k`` forming the upper envelope, and breakpoints.

    Returns the line indices in order of increasing slope and the ``γ`` at
    which each next line takes over (length one less).
    """
    order = np.lexsort((b, a))  # by slope, then by cost: the cheapest line of a slope first
    order = order[np.r_[True, a[order][1:] != a[order][:-1]]]
    hull: list[int] = []
    for k in order:
        while len(hull) >= 2:
            i, j = hull[-2], hull[-1]
            # j is useless if k overtakes i no later than j does
            if (b[k] - b[i]) * (a[j] - a[i]) <= (b[j] - b[i]) * (a[k] - a[i]):
                hull.pop()
            else:
                break
        hull.append(int(k))
    idx = np.asarray(hull, dtype=int)
    breaks = (b[idx[1:]] - b[idx[:-1]]) / (a[idx[1:]] - a[idx[:-1]])
    return idx, breaks


def expected_max_profit(
    y: Any, p: Any, *, value: Any = None, campaign: Any = None
) -> dict[str, float]:
    """Expected maximum profit (EMP) over a Beta distribution of acceptance rates.

    Parameters
    ----------
    y, p, value, campaign
        As in :func:`profit_curve`; the acceptance rate follows
        ``Beta(*campaign.acceptance_beta)`` instead of ``campaign.acceptance_rate``.

    Returns
    -------
    dict
        ``emp`` (expected profit of the best depth, in value units),
        ``emp_per_customer`` (divided by the number of customers) and ``depth``
        (expected share of customers contacted at the optimum).

    Examples
    --------
    A perfect ranking without contact cost earns every churner's value minus the
    offer cost times the mean acceptance rate ``a / (a + b)``:

    >>> from churnkit.config import CampaignConfig
    >>> c = CampaignConfig(contact_cost=0, offer_cost=10, customer_value=110,
    ...                    acceptance_beta=(2, 6))
    >>> round(expected_max_profit([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1], campaign=c)["emp"], 6)
    50.0
    """
    c = _campaign(campaign)
    a_all, b_all, p_arr = _terms(y, p, value, c)
    n = len(a_all) - 1
    # only whole tie groups can be optimal (profit is linear inside a group)
    s = np.sort(p_arr)[::-1]
    ends = np.r_[0, np.flatnonzero(np.r_[s[1:] != s[:-1], True]) + 1]
    a, b = a_all[ends], b_all[ends]
    idx, breaks = _upper_envelope(a, b)
    lo = np.clip(np.r_[0.0, breaks], 0.0, 1.0)
    hi = np.clip(np.r_[breaks, 1.0], 0.0, 1.0)
    alpha, beta = c.acceptance_beta
    mass = beta_dist.cdf(hi, alpha, beta) - beta_dist.cdf(lo, alpha, beta)
    first_moment = alpha / (alpha + beta) * (
        beta_dist.cdf(hi, alpha + 1, beta) - beta_dist.cdf(lo, alpha + 1, beta)
    )
    mass = np.where(hi > lo, mass, 0.0)
    first_moment = np.where(hi > lo, first_moment, 0.0)
    emp = float(np.sum(a[idx] * first_moment - b[idx] * mass))
    depth = float(np.sum(ends[idx] / max(n, 1) * mass))
    return {"emp": emp, "emp_per_customer": emp / max(n, 1), "depth": depth}
