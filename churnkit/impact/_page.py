"""``impact.html``: overall effect, effect by playbook, reason, risk band and manager."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnkit._core import LITERAL, esc, html_page, img_tag, new_axes, png_bytes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["impact_page", "plot_effects"]


def plot_effects(table: pd.DataFrame, *, ax: Axes | None = None, title: str = "") -> Axes:
    """Horizontal bars of the ITT effect (points of churn) with their 95 % intervals.

    Parameters
    ----------
    table : DataFrame
        Rows of :func:`impact_by` (``level``, ``itt``, ``itt_low``, ``itt_high``).
    ax : matplotlib Axes, optional
        Drawn on a new figure when omitted.
    title : str, default ""

    Returns
    -------
    matplotlib Axes
    """
    ax = new_axes(ax, 6.5, 0.45 * max(len(table), 2) + 1.2)
    y = np.arange(len(table))
    itt = table["itt"].to_numpy(dtype=float) * 100
    low = table["itt_low"].to_numpy(dtype=float) * 100
    high = table["itt_high"].to_numpy(dtype=float) * 100
    colours = np.where(high < 0, "#2f855a", np.where(low > 0, "#c53030", "#718096"))
    ax.barh(y, itt, color=colours, alpha=0.8)
    ax.errorbar(itt, y, xerr=[itt - low, high - itt], fmt="none", ecolor="#1f2933", capsize=3)
    ax.axvline(0, color="#1f2933", linewidth=0.8)
    ax.set_yticks(y, [str(v)[:50] for v in table["level"]], **LITERAL)
    ax.invert_yaxis()
    ax.set_xlabel("churn of treated minus control (points; < 0 = customers saved)")
    if title:
        ax.set_title(title, **LITERAL)
    return ax


def _fmt(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "pts":
        return f"{100 * value:+.1f}"
    return f"{value:,.0f}"


_COLUMNS = [("treated", "Treated", "int"), ("control", "Control", "int"),
            ("churn_treated", "Churn treated", "pct"), ("churn_control", "Churn control", "pct"),
            ("itt", "ITT (pts)", "pts"), ("itt_low", "95% low", "pts"), ("itt_high", "95% high", "pts"),
            ("contacted_share", "Contacted", "pct"), ("cace", "Per contact (pts)", "pts"),
            ("customers_saved", "Saved", "int"), ("value_saved", "Value saved", "int")]


def _table(rows: pd.DataFrame, first: str) -> str:
    head = "".join(f'<th class="num">{esc(label)}</th>' for _, label, _ in _COLUMNS)
    body = []
    for row in rows.to_dict("records"):
        cells = "".join(f'<td class="num">{esc(_fmt(row[c], k))}</td>' for c, _, k in _COLUMNS)
        body.append(f"<tr><td>{esc(row[first])}</td>{cells}</tr>")
    return (f"<table><thead><tr><th>{esc(first)}</th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def impact_page(summary: dict[str, Any], overall: pd.DataFrame, breakdown: pd.DataFrame,
                *, title: str = "What the retention lists achieved", currency: str = "") -> str:
    """The self-contained HTML page of an impact measurement."""
    total = overall.iloc[-1]
    totals = [
        (f"{_fmt(total['itt'], 'pts')} pts", "churn, treated vs control"),
        (f"{_fmt(total['itt_low'], 'pts')} to {_fmt(total['itt_high'], 'pts')}", "95% interval"),
        (_fmt(total["customers_saved"], "int"), "customers saved"),
        (f"{currency}{_fmt(total['value_saved'], 'int')}", "value saved"),
        (_fmt(total["cace"], "pts"), "pts per customer contacted"),
    ]
    items = "".join(f"<li><b>{esc(v)}</b><span>{esc(k)}</span></li>" for v, k in totals)
    parts = [f"<h1>{esc(title)}</h1>",
             f'<p class="meta">{esc(summary.get("note", ""))}</p>',
             f'<ul class="totals">{items}</ul>', "<h2>By run</h2>", _table(overall, "run_id")]
    for name in breakdown["breakdown"].unique():
        rows = breakdown[breakdown["breakdown"] == name]
        ax = plot_effects(rows, title=f"Effect by {name.replace('_', ' ')}")
        parts += [f"<h2>By {esc(name.replace('_', ' '))}</h2>",
                  img_tag(png_bytes(ax.figure), f"Effect by {name}"), _table(rows, "level")]
    parts.append('<footer>ITT: intent to treat, churn rate of the listed (treated) group minus '
                 'the held-out control group over the horizon, Newcombe 95% interval. Per contact: '
                 'ITT divided by the share of the treated group the actions log shows contacted '
                 '(complier average effect).</footer>')
    return html_page(title, "\n".join(parts))
