"""Explanation plots: global reasons, a beeswarm of SHAP values, one customer's waterfall.

Every function takes ``ax=None`` (a new :class:`matplotlib.figure.Figure` is
made when omitted, outside pyplot's global state), returns the Axes, imports
matplotlib lazily and sets no global style.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.special import expit

from churnkit._core import new_axes
from churnkit.exceptions import SchemaError
from churnkit.explain._reasons import (
    EXPECTED_COLUMN,
    ReasonConfig,
    global_importance,
    humanize_feature,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_beeswarm", "plot_global_reasons", "plot_waterfall"]

_POS, _NEG, _MISSING = "#d6404e", "#2b7bba", "#9aa5b1"


def _despine(ax: Axes, *sides: str) -> Axes:
    for side in sides:
        ax.spines[side].set_visible(False)
    return ax


def _features(contrib: pd.DataFrame) -> list[str]:
    return [str(c) for c in contrib.columns if c != EXPECTED_COLUMN]


def plot_global_reasons(
    contrib: pd.DataFrame,
    reasons: ReasonConfig | str | Path | None = None,
    *,
    max_reasons: int = 15,
    ax: Axes | None = None,
) -> Axes:
    """Bar chart of mean absolute contribution per reason group.

    Parameters
    ----------
    contrib : DataFrame
        SHAP values, one column per feature.
    reasons : ReasonConfig, path or None
        Reason groups; ``None`` uses the built-in ``configs/reasons.yaml``.
    max_reasons : int, default 15
        Show this many groups, the most important at the top.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    table = global_importance(contrib, reasons).reasons.head(max_reasons).iloc[::-1]
    ax = new_axes(ax, 7, 0.4 * len(table) + 1.2)
    ax.barh(table["label"].astype(object), table["mean_abs_contribution"], color=_POS)
    ax.set_xlabel("mean |SHAP value| (log-odds)")
    ax.set_title("What drives churn risk")
    return _despine(ax, "top", "right")


def _colour_values(values: pd.Series) -> np.ndarray:
    """Feature values scaled to [0, 1] (5th-95th percentile), NaN where missing."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy(dtype=float)
        codes[codes < 0] = np.nan
        span = max(len(values.cat.categories) - 1, 1)
        return codes / span
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(numeric).all():
        return numeric
    lo, hi = np.nanpercentile(numeric, [5, 95])
    if hi <= lo:
        lo, hi = np.nanmin(numeric), np.nanmax(numeric)
    return np.clip((numeric - lo) / (hi - lo), 0, 1) if hi > lo else np.full_like(numeric, 0.5)


def _swarm_offsets(x: np.ndarray, bins: int = 60) -> np.ndarray:
    """Vertical offsets in [-0.4, 0.4] stacking points that share an x bin."""
    if len(x) == 0:
        return x
    lo, hi = float(x.min()), float(x.max())
    which = np.zeros(len(x), dtype=int) if hi <= lo else ((x - lo) / (hi - lo) * (bins - 1)).round()
    order = np.argsort(which, kind="stable")
    sorted_bins = np.asarray(which)[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_bins)) + 1]
    rank_sorted = np.arange(len(x)) - np.repeat(starts, np.diff(np.r_[starts, len(x)]))
    rank = np.empty(len(x), dtype=int)
    rank[order] = rank_sorted
    level = (rank + 1) // 2 * np.where(rank % 2 == 1, 1, -1)
    return level * 0.4 / max(int(np.abs(level).max()), 1)


def plot_beeswarm(
    contrib: pd.DataFrame,
    X: pd.DataFrame,
    max_features: int = 15,
    ax: Axes | None = None,
    *,
    max_points: int = 2000,
    random_state: int = 0,
    colorbar: bool = True,
) -> Axes:
    """Beeswarm of SHAP values per feature, coloured by the feature's value.

    Parameters
    ----------
    contrib : DataFrame
        SHAP values, same index as ``X``.
    X : DataFrame
        Feature values (numeric or categorical; missing values are grey).
    max_features : int, default 15
        The features with the largest mean |SHAP|, most important at the top.
    ax : matplotlib Axes, optional
    max_points : int, default 2000
        Customers drawn (a seeded random sample if there are more).
    random_state : int, default 0
        Seed of that sample.
    colorbar : bool, default True
        Add a low-to-high feature value colour bar next to ``ax``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib as mpl

    if not contrib.index.equals(X.index):
        raise SchemaError("contrib and X must have the same index (SHAP values computed from X).")
    features = _features(contrib)
    values = contrib[features].to_numpy(dtype=float)
    rows = np.arange(len(values))
    if len(rows) > max_points:
        rows = np.sort(np.random.default_rng(random_state).choice(rows, max_points, replace=False))
    top = np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:max_features]
    ax = new_axes(ax, 8, 0.45 * len(top) + 1.5)
    cmap = mpl.colormaps["coolwarm"]
    for y, j in enumerate(top[::-1]):
        x = values[rows, j]
        colour = _colour_values(X[features[j]].iloc[rows]) if features[j] in X else np.full(
            len(rows), np.nan
        )
        ys = y + _swarm_offsets(x)
        missing = np.isnan(colour)
        ax.scatter(x[missing], ys[missing], s=9, c=_MISSING, linewidths=0, alpha=0.8)
        ax.scatter(
            x[~missing], ys[~missing], s=9, c=colour[~missing], cmap=cmap, vmin=0, vmax=1,
            linewidths=0, alpha=0.8,
        )
    ax.axvline(0, color="#52606d", linewidth=0.8)
    ax.set_yticks(range(len(top)), [humanize_feature(features[j]) for j in top[::-1]])
    ax.set_ylim(-0.6, len(top) - 0.4)
    ax.set_xlabel("SHAP value (log-odds; > 0 raises churn risk)")
    _despine(ax, "top", "right", "left")
    if colorbar:
        mappable = mpl.cm.ScalarMappable(norm=mpl.colors.Normalize(0, 1), cmap=cmap)
        bar = ax.figure.colorbar(mappable, ax=ax, ticks=[0, 1], aspect=40, pad=0.02)
        bar.set_ticklabels(["low", "high"])
        bar.set_label("feature value")
        bar.outline.set_visible(False)
    return ax


def _short(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    if isinstance(value, float | np.floating):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"
    return str(value)


def plot_waterfall(
    contrib_row: pd.Series,
    x_row: pd.Series,
    max_features: int = 10,
    ax: Axes | None = None,
) -> Axes:
    """Waterfall of one customer's contributions, from the expected value to the score.

    Parameters
    ----------
    contrib_row : Series
        One row of SHAP values (feature -> contribution), ideally with the
        ``"(expected)"`` entry as the starting point (0 otherwise).
    x_row : Series
        The same customer's feature values, shown next to the feature names.
    max_features : int, default 10
        Largest contributions shown; the rest are summed into one bar.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    base = float(contrib_row.get(EXPECTED_COLUMN, 0.0))
    parts = contrib_row.drop(EXPECTED_COLUMN, errors="ignore").astype(float)
    parts = parts.iloc[np.argsort(-parts.abs().to_numpy(), kind="stable")]
    shown, rest = parts.iloc[:max_features], parts.iloc[max_features:]
    labels = [f"{humanize_feature(str(f))} = {_short(x_row.get(f))}" for f in shown.index]
    deltas: list[float] = shown.to_numpy(dtype=float).tolist()
    if len(rest):
        labels.append(f"{len(rest)} other features")
        deltas.append(float(rest.sum()))
    labels, deltas = labels[::-1], deltas[::-1]  # drawn bottom-up: the largest ends at the top
    ax = new_axes(ax, 8, 0.45 * len(deltas) + 1.5)
    start = base + np.r_[0, np.cumsum(deltas)[:-1]]
    colours = [_POS if d > 0 else _NEG for d in deltas]
    ax.barh(range(len(deltas)), deltas, left=start, color=colours, height=0.6)
    span = max(abs(float(np.sum(np.abs(deltas)))), 1e-9)
    for y, (left, d) in enumerate(zip(start, deltas, strict=True)):
        ax.text(left + d + (0.01 if d >= 0 else -0.01) * span, y, f"{d:+.2f}", va="center",
                ha="left" if d >= 0 else "right", fontsize=8)
    final = base + float(np.sum(deltas))
    ends = np.r_[start, start + np.asarray(deltas), base, final]
    lo, hi = float(ends.min()), float(ends.max())
    pad = 0.15 * max(hi - lo, 1e-6)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(-0.6, len(deltas) - 0.1)
    for x, text, style in ((base, f"expected {base:+.2f}", "--"), (final, f"{final:+.2f}", "-")):
        ax.axvline(x, color="#52606d", linewidth=0.8, linestyle=style)
        ax.text(x, len(deltas) - 0.3, text, ha="center", va="bottom", fontsize=8, color="#52606d")
    ax.set_yticks(range(len(deltas)), labels)
    ax.set_xlabel(f"log-odds (this customer: churn probability {expit(final):.0%})")
    return _despine(ax, "top", "right")
