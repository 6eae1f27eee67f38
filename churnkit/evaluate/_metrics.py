"""Evaluation metrics: every score metric of :mod:`churnkit.model` plus the campaign profit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from churnkit.config import CampaignConfig
from churnkit.evaluate._profit import best_profit, expected_max_profit
from churnkit.model import TOP_SHARES, check_scores, classification_metrics

__all__ = ["evaluation_metrics"]


def evaluation_metrics(
    y: Any,
    p: Any,
    *,
    value: Any = None,
    campaign: Any = None,
    shares: Sequence[float] = TOP_SHARES,
) -> dict[str, float]:
    """Every headline metric of one set of scores.

    Parameters
    ----------
    y : array-like of bool
        Churn labels.
    p : array-like of float
        Churn probabilities (or any score; ``log_loss``/``brier`` then mean little).
    value : array-like of float, optional
        Customer value per row for the profit curve; default the campaign's constant.
    campaign : CampaignConfig, optional
        Profit parameters (default :class:`churnkit.config.CampaignConfig`).
    shares : sequence of float
        Targeting depths for lift and capture rate.

    Returns
    -------
    dict
        ``roc_auc``, ``pr_auc``, ``log_loss``, ``brier``, ``top_decile_lift``,
        ``lift_at_5``/``capture_at_5``..., ``ece`` (expected calibration error
        over deciles), ``profit_best_depth``, ``profit_best``, ``emp``,
        ``emp_per_customer``, ``emp_depth``, ``n``, ``positive_rate``.
        Ranking metrics are NaN when only one class is present.
    """
    y, p = check_scores(y, p, "evaluation_metrics")
    campaign = campaign or CampaignConfig()
    out = classification_metrics(y, p, shares=shares)
    depth, profit = best_profit(y, p, value=value, campaign=campaign)
    out["profit_best_depth"] = depth
    out["profit_best"] = profit
    emp = expected_max_profit(y, p, value=value, campaign=campaign)
    out.update(emp=emp["emp"], emp_per_customer=emp["emp_per_customer"], emp_depth=emp["depth"])
    return out
