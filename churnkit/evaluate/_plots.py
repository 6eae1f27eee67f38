"""Evaluation plots: ROC, precision-recall, gains, calibration, profit, global reasons.

Every function takes ``ax=None`` (a new :class:`matplotlib.figure.Figure` is
made when omitted, outside pyplot's global state), returns the Axes, imports
matplotlib lazily and sets no global style. ``scores`` maps a label (``model``,
``rule``, ``logistic``) to its scores, so baselines share each chart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

from churnkit._core import new_axes
from churnkit.evaluate._profit import profit_curve
from churnkit.model import calibration_table, cumulative_gains

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "plot_calibration",
    "plot_gains",
    "plot_importance",
    "plot_pr",
    "plot_profit",
    "plot_roc",
]

_STYLE = {"model": ("#d6404e", "-"), "rule": ("#7b8794", "--"), "logistic": ("#2b7bba", "-."),
          "lightgbm": ("#3a9a5b", ":")}


def _style(name: str) -> dict[str, Any]:
    color, ls = _STYLE.get(name, (None, "-"))
    return {"color": color, "linestyle": ls, "linewidth": 2.0 if name == "model" else 1.4}


def plot_roc(y: Any, scores: Mapping[str, Any], *, ax: Axes | None = None) -> Axes:
    """ROC curves of each scorer, with its AUC in the legend."""
    ax = new_axes(ax)
    y = np.asarray(y, dtype=bool)
    for name, p in scores.items():
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, p):.3f})", **_style(name))
    ax.plot([0, 1], [0, 1], color="#cbd2d9", linewidth=1)
    ax.set(xlabel="False positive rate", ylabel="True positive rate (recall)", title="ROC",
           xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_pr(y: Any, scores: Mapping[str, Any], *, ax: Axes | None = None) -> Axes:
    """Precision-recall curves, with average precision in the legend and the base rate."""
    ax = new_axes(ax)
    y = np.asarray(y, dtype=bool)
    for name, p in scores.items():
        precision, recall, _ = precision_recall_curve(y, p)
        ap = average_precision_score(y, p)
        ax.plot(recall, precision, label=f"{name} (AP {ap:.3f})", drawstyle="steps-post",
                **_style(name))
    ax.axhline(y.mean(), color="#cbd2d9", linewidth=1, label=f"churn rate {y.mean():.1%}")
    ax.set(xlabel="Recall", ylabel="Precision", title="Precision-recall", xlim=(0, 1),
           ylim=(0, 1.01))
    ax.legend(loc="upper right", fontsize=8)
    return ax


def plot_gains(y: Any, scores: Mapping[str, Any], *, ax: Axes | None = None) -> Axes:
    """Cumulative gains: share of churners reached by contacting the top x% by score.

    A second axis shows the model's lift at each depth.
    """
    ax = new_axes(ax)
    y = np.asarray(y, dtype=bool)
    for name, p in scores.items():
        g = cumulative_gains(y, p)
        ax.plot(g["depth"] * 100, g["capture"] * 100, label=name, **_style(name))
    ax.plot([0, 100], [0, 100], color="#cbd2d9", linewidth=1, label="random")
    ax.set(xlabel="Customers contacted, top % by score", ylabel="Churners reached (%)",
           title="Gains and lift", xlim=(0, 100), ylim=(0, 101))
    first = next(iter(scores))
    g = cumulative_gains(y, scores[first])
    lift_ax = ax.twinx()
    lift_ax.plot(g["depth"] * 100, g["lift"], color="#f0b429", linewidth=1,
                 label=f"lift ({first})")
    lift_ax.set_ylabel("Lift")
    lift_ax.set_ylim(bottom=0)
    handles, labels = ax.get_legend_handles_labels()
    h2, l2 = lift_ax.get_legend_handles_labels()
    ax.legend(handles + h2, labels + l2, loc="lower right", fontsize=8)
    return ax


def plot_calibration(y: Any, p: Any, *, bins: int = 10, ax: Axes | None = None) -> Axes:
    """Observed churn rate against mean predicted probability, by decile of the score."""
    ax = new_axes(ax)
    table = calibration_table(y, p, bins=bins)
    top = float(max(table["expected"].max(), table["observed"].max(), 0.05)) * 1.05
    ax.plot([0, top], [0, top], color="#cbd2d9", linewidth=1, label="perfect")
    ax.plot(table["expected"], table["observed"], marker="o", color=_STYLE["model"][0],
            label="deciles")
    ax.set(xlabel="Mean predicted probability", ylabel="Observed churn rate",
           title="Calibration", xlim=(0, min(1, top)), ylim=(0, min(1, top)))
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_profit(
    y: Any, scores: Mapping[str, Any], *, value: Any = None, campaign: Any = None,
    ax: Axes | None = None,
) -> Axes:
    """Expected campaign profit by targeting depth; the best depth is marked per scorer."""
    ax = new_axes(ax)
    for name, p in scores.items():
        curve = profit_curve(y, p, value=value, campaign=campaign, points=501)
        ax.plot(curve["depth"] * 100, curve["profit"], label=name, **_style(name))
        best = curve.loc[cast(Any, curve["profit"].idxmax())]
        ax.plot([best["depth"] * 100], [best["profit"]], marker="o",
                color=_style(name)["color"])
    ax.axhline(0, color="#cbd2d9", linewidth=1)
    ax.set(xlabel="Customers contacted, top % by score", ylabel="Expected profit",
           title="Retention campaign profit", xlim=(0, 100))
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_importance(importance: pd.Series, *, ax: Axes | None = None) -> Axes:
    """Horizontal bars of mean |SHAP| per feature (largest at the top)."""
    ax = new_axes(ax, 7.0, max(2.5, 0.28 * len(importance) + 1))
    imp = importance.iloc[::-1]
    ax.barh(np.arange(len(imp)), imp.to_numpy(), color=_STYLE["model"][0])
    ax.set_yticks(np.arange(len(imp)), [str(i) for i in imp.index], fontsize=8)
    ax.set(xlabel="Mean |SHAP value| (log-odds)", title="Global reasons")
    return ax
