"""Retention report: CSV tables and one self-contained HTML page."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from churnkit._core import (
    __version__,
    atomic_write_text,
    esc,
    html_page,
    img_tag,
    literal_legend,
    png_bytes,
    write_table,
)
from churnkit.retention._activity import activity_crr
from churnkit.retention._clv import clv_by_segment, customer_clv_table
from churnkit.retention._cohorts import activity_cohort_matrix, cohort_matrix
from churnkit.retention._common import by_columns, check_period
from churnkit.retention._plots import plot_clv_distribution, plot_cohorts, plot_crr, plot_value
from churnkit.retention._rates import churn_rate, crr, net_revenue_retention
from churnkit.retention._value import value_by_segment

__all__ = ["retention_report"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:1100px;color:#1d2330;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #d0d5dd;padding-bottom:.2rem}
.muted{color:#5b6475;font-size:.9rem}
.kpis{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.kpi{border:1px solid #d0d5dd;border-radius:6px;padding:.5rem .9rem;min-width:9rem}
.kpi b{display:block;font-size:1.3rem}
table{border-collapse:collapse;font-size:.82rem;margin:.6rem 0}
th,td{border:1px solid #e1e4ea;padding:.2rem .5rem;text-align:right}
th{background:#f3f5f8}td:first-child,th:first-child{text-align:left}
img{max-width:100%;height:auto}
"""

_PERCENT = {
    "churn_rate",
    "churn_rate_annualised",
    "nrr",
    "share_of_revenue",
    "share_of_wallet",
    "retention_rate",
    "share_of_clv",
    "p_alive_mean",
}
_MONEY = {
    "revenue",
    "revenue_start",
    "revenue_retained",
    "revenue_end",
    "value_per_customer",
    "clv",
    "clv_total",
    "clv_mean",
    "clv_median",
    "value_at_risk",
}
_HTML_ROWS = 60


def _fmt(col: str, *, percent: bool = False) -> Callable[[Any], str]:
    def number(v: Any) -> str:
        if isinstance(v, pd.Timestamp):
            return v.strftime("%Y-%m-%d")
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return "–"
        if isinstance(v, float | np.floating):
            if math.isinf(v):
                return "∞"
            if percent or col in _PERCENT:
                return f"{v:.1%}"
            if col in _MONEY:
                return f"{v:,.0f}"
            return f"{v:,.1f}"
        if isinstance(v, int | np.integer):
            return f"{v:,}"
        return str(v)

    return number


def _table(
    df: pd.DataFrame, *, caption: str | None = None, index: bool = False, percent: bool = False
) -> str:
    """Escaped HTML table of (at most the last ``_HTML_ROWS`` rows of) ``df``."""
    note = ""
    if len(df) > _HTML_ROWS:
        note = f"<p class='muted'>Last {_HTML_ROWS} of {len(df)} rows; see the CSV file.</p>"
        df = df.tail(_HTML_ROWS)
    shown = pd.DataFrame({c: df[c].map(_fmt(str(c), percent=percent)).astype(object) for c in df.columns})
    shown.index = df.index
    if index:
        shown.index = [_fmt("")(i) for i in df.index]
    text = shown.to_html(index=index, escape=True, border=0, na_rep="–")
    cap = f"<p class='muted'>{esc(caption)}</p>" if caption else ""
    return cap + text + note


def _png(draw: Callable[[Any], Any], size: tuple[float, float] = (8.0, 4.0)) -> str:
    """Render ``draw(ax)`` on an off-screen figure; return an ``<img>`` tag with a data URI."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    draw(fig.add_subplot())
    return img_tag(png_bytes(fig, dpi=100), "plot")


def _plot_lines(table: pd.DataFrame, overall: pd.DataFrame, metric: str, title: str) -> str:
    def draw(ax: Any) -> None:
        if table is not overall:
            plot_crr(table, metric=metric, ax=ax)
        scale = 1.0 if metric == "crr" else 100.0
        ax.plot(
            overall["period_start"],
            overall[metric] * scale,
            color="black",
            ls="--",
            lw=2,
            label="all customers",
        )
        if table is overall:
            ylabel = {"crr": "Customer retention rate (%)", "nrr": "Net revenue retention (%)"}
            ax.set_ylabel(ylabel.get(metric, "Churn rate (%)"))
            ax.set_xlabel("Period start")
            ax.grid(True, alpha=0.3)
        literal_legend(ax, fontsize="small")
        ax.set_title(title)

    return _png(draw)


def _latest(overall: pd.DataFrame) -> pd.Series | None:
    rows = overall[overall["S"] > 0]
    return None if rows.empty else rows.iloc[-1]


def _num(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(value)


def retention_report(
    customers: pd.DataFrame | None,
    *,
    out_dir: str | os.PathLike[str],
    events: pd.DataFrame | None = None,
    period: str = "M",
    by: str | Sequence[str] | None = None,
    value_col: str | None = None,
    wallet_col: str | None = None,
    total_spend_col: str | None = None,
    amount_col: str | None = None,
    customer_col: str = "customer_id",
    signup_col: str = "signup_date",
    end_col: str = "end_date",
    time_col: str = "timestamp",
    start: Any = None,
    end: Any = None,
    margin: float = 1.0,
    discount_rate: float = 0.0,
    title: str = "Retention report",
    purchases: pd.DataFrame | None = None,
    purchase_amount_col: str | None = None,
    clv_by: Sequence[str] | None = None,
    clv_months: int = 12,
    as_of: Any = None,
) -> dict[str, Any]:
    """Write the retention tables as CSV and a self-contained ``retention.html``.

    Parameters
    ----------
    customers : DataFrame or None
        One row per customer. Required in contractual mode; in activity mode
        it is optional and supplies the ``by`` and ``value_col`` columns.
    out_dir : str or path
        Folder for the outputs (created if missing). Files are written
        atomically (temporary file, then rename).
    events : DataFrame, optional
        Event table; if given, retention is measured from activity
        (:func:`activity_crr`) instead of signup/end dates (:func:`crr`).
    period : {"M", "Q", "Y"}, default "M"
        Period of the CRR and churn tables (cohorts are always monthly).
    by : str or list of str, optional
        Segment column(s) of ``customers``.
    value_col : str, optional
        Monthly value per customer: adds NRR (contractual mode) and the value /
        CLV by segment tables.
    wallet_col, total_spend_col : str, optional
        Share-of-wallet inputs, see :func:`value_by_segment`.
    amount_col : str, optional
        Event amount column for revenue and NRR in activity mode.
    customer_col, signup_col, end_col, time_col : str
        Column names.
    start, end : date-like, optional
        First and last period to report.
    margin, discount_rate : float
        CLV inputs, see :func:`customer_lifetime_value`.
    title : str, default "Retention report"
        Page title.
    purchases : DataFrame, optional
        Purchase log (``customer_col``, ``time_col``, ``purchase_amount_col``): adds the
        customer-level lifetime value of :func:`customer_clv_table` (Pareto/NBD purchases
        × Gamma-Gamma spend over ``clv_months``, with ``margin`` and ``discount_rate``),
        summed and averaged per ``clv_by`` column by :func:`clv_by_segment`. Contractual
        mode values the current customers only (no end date).
    purchase_amount_col : str, optional
        Amount column of ``purchases``.
    clv_by : list of str, optional
        Customer columns to break the customer-level value down by, one table each
        (default: ``by``).
    clv_months : int, default 12
        Months of future purchases in the customer-level value.
    as_of : date-like, optional
        Purchases strictly before it are used; default: the day after the last one.

    Returns
    -------
    dict
        ``mode``, ``period``, ``latest_period`` (start date, ISO text),
        ``crr``, ``churn_rate``, ``churn_rate_annualised`` and ``nrr`` of the
        latest period with customers at its start (all customers), ``customers``
        (at the end of it; in activity mode all active ones), ``html`` (path)
        and ``files`` (name → path of each CSV), ready to print or dump as JSON; with
        ``purchases`` also ``clv`` (``as_of``, ``months``, ``customers`` valued, ``total``
        and ``mean`` CLV, ``value_at_risk``).

    Notes
    -----
    Files written: ``retention.html``; ``crr.csv`` (all customers); ``crr_by_segment.csv`` (with
    ``by``); ``churn.csv`` (with annualised rates); ``nrr.csv`` (with revenue);
    ``cohorts.csv`` (monthly cohort shares); ``value_by_segment.csv`` (with
    ``value_col``); ``customer_clv.csv``, ``clv.csv`` (everybody) and ``clv_by_<column>.csv``
    (with ``purchases``).

    Examples
    --------
    >>> import pandas as pd, tempfile
    >>> customers = pd.DataFrame({
    ...     "customer_id": ["a", "b", "c", "d"],
    ...     "segment": ["smb", "smb", "ent", "ent"],
    ...     "signup_date": pd.to_datetime(["2024-01-02", "2024-01-09", "2024-02-01", "2024-02-20"]),
    ...     "end_date": pd.to_datetime([None, "2024-03-10", None, None]),
    ...     "mrr": [100.0, 120.0, 900.0, 1100.0],
    ... })
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     summary = retention_report(customers, out_dir=tmp, by="segment", value_col="mrr")
    >>> summary["latest_period"], round(summary["crr"], 1)
    ('2024-03-01', 75.0)
    """
    period = check_period(period, func="retention_report")
    by_cols = by_columns(by)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}

    def save_csv(name: str, frame: pd.DataFrame, *, index: bool = False) -> None:
        path = out / f"{name}.csv"
        write_table(frame, path, index=index, date_format="%Y-%m-%d")
        files[name] = str(path)

    if events is None:
        if customers is None:
            raise ValueError("retention_report needs customers (contractual) or events=.")
        mode = "contractual"
        common = {
            "customer_col": customer_col,
            "signup_col": signup_col,
            "end_col": end_col,
            "start": start,
            "end": end,
            "value_col": value_col,
        }
        overall = crr(customers, period=period, **common)  # type: ignore[arg-type]
        table = crr(customers, period=period, by=by_cols, **common) if by_cols else overall  # type: ignore[arg-type]
        cohorts = cohort_matrix(customers, customer_col=customer_col, signup_col=signup_col, end_col=end_col)
        monthly = None
        has_revenue = value_col is not None
    else:
        mode = "activity"
        common = {
            "customer_col": customer_col,
            "time_col": time_col,
            "start": start,
            "end": end,
            "amount_col": amount_col,
        }
        overall = activity_crr(events, period=period, **common)  # type: ignore[arg-type]
        table = (
            activity_crr(events, period=period, by=by_cols, customers=customers, **common)  # type: ignore[arg-type]
            if by_cols
            else overall
        )
        cohorts = activity_cohort_matrix(events, customer_col=customer_col, time_col=time_col)
        monthly = None
        if value_col is not None and customers is not None:
            monthly = activity_crr(
                events,
                customer_col=customer_col,
                time_col=time_col,
                start=start,
                end=end,
                period="M",
                by=by_cols or None,
                customers=customers if by_cols else None,
            )
        has_revenue = amount_col is not None

    churn = churn_rate(table, annualised=True, period=period)  # type: ignore[arg-type]
    churn_all = churn_rate(overall, annualised=True, period=period)  # type: ignore[arg-type]
    save_csv("crr", overall)
    if by_cols:
        save_csv("crr_by_segment", table)
    save_csv("churn", churn)
    if has_revenue:
        save_csv("nrr", net_revenue_retention(table))
    save_csv("cohorts", cohorts, index=True)
    value = None
    if value_col is not None and customers is not None:
        value = value_by_segment(
            customers,
            value_col=value_col,
            by=by_cols or None,
            customer_col=customer_col,
            signup_col=signup_col,
            end_col=end_col,
            margin=margin,
            discount_rate=discount_rate,
            wallet_col=wallet_col,
            total_spend_col=total_spend_col,
            start=start,
            end=end,
            churn=monthly,
        )
        save_csv("value_by_segment", value)

    clv_parts: list[tuple[str, pd.DataFrame, pd.DataFrame]] = []
    clv_summary: dict[str, Any] | None = None
    if purchases is not None:
        if purchase_amount_col is None:
            raise ValueError("retention_report: pass purchase_amount_col with purchases.")
        when = (pd.Timestamp(as_of) if as_of is not None else
                pd.to_datetime(purchases[time_col]).max().normalize() + pd.Timedelta(days=1))
        buyers = purchases
        if mode == "contractual" and customers is not None and end_col in customers:
            ended = pd.to_datetime(customers[end_col])
            gone = set(customers.loc[ended.notna() & (ended <= when), customer_col].astype(str))
            buyers = purchases[~purchases[customer_col].astype(str).isin(gone)]
        per_customer = customer_clv_table(
            buyers, as_of=when, amount_col=purchase_amount_col, customer_col=customer_col,
            time_col=time_col, months=clv_months, margin=margin, discount_rate=discount_rate)
        save_csv("customer_clv", per_customer)
        everybody = clv_by_segment(per_customer)
        save_csv("clv", everybody)
        clv_parts.append(("all customers", everybody, per_customer))
        for col in (list(clv_by) if clv_by is not None else by_cols):
            if customers is None or col not in customers:
                continue
            seg = customers[[customer_col, col]].drop_duplicates(customer_col)
            joined = per_customer.assign(customer_id=per_customer["customer_id"].astype(str)).merge(
                seg.assign(**{customer_col: seg[customer_col].astype(str)}).rename(
                    columns={customer_col: "customer_id"}),
                on="customer_id", how="left")
            part = clv_by_segment(joined, joined, by=col)
            save_csv(f"clv_by_{col}", part)
            clv_parts.append((col, part, joined))
        clv_summary = {
            "as_of": when.strftime("%Y-%m-%d"), "months": clv_months,
            "customers": int(len(per_customer)),
            "total": round(float(per_customer["clv"].sum()), 2),
            "mean": round(float(per_customer["clv"].mean()), 2),
            "value_at_risk": round(float(per_customer["value_at_risk"].sum()), 2),
        }

    latest = _latest(overall)
    latest_churn = churn_all.loc[cast(Any, latest.name)] if latest is not None else None
    summary: dict[str, Any] = {
        "churnkit_version": __version__,
        "mode": mode,
        "period": period,
        "by": by_cols,
        "periods": int(len(overall)),
        "latest_period": None if latest is None else latest["period_start"].strftime("%Y-%m-%d"),
        "crr": None if latest is None else _num(latest["crr"]),
        "churn_rate": None if latest is None else _num(latest["churn_rate"]),
        "churn_rate_annualised": (
            None if latest_churn is None else _num(latest_churn["churn_rate_annualised"])
        ),
        "nrr": _num(latest["nrr"]) if latest is not None and "nrr" in latest else None,
        "customers": None if latest is None else int(latest.get("active", latest["E"])),
        "html": str(out / "retention.html"),
        "files": files,
    }
    if clv_summary is not None:
        summary["clv"] = clv_summary

    page = _html(
        title=title,
        summary=summary,
        overall=overall,
        table=table,
        churn=churn,
        cohorts=cohorts,
        value=value,
        has_revenue=has_revenue,
        clv_parts=clv_parts,
    )
    atomic_write_text(out / "retention.html", page)
    return summary


def _clv_drawer(table: pd.DataFrame, by: str | None) -> Callable[[Any], Any]:
    def draw(ax: Any) -> Any:
        return plot_clv_distribution(table, by=by, ax=ax,
                                     title="CLV distribution (5th–95th percentile whiskers)")

    return draw


def _html(
    *,
    title: str,
    summary: dict[str, Any],
    overall: pd.DataFrame,
    table: pd.DataFrame,
    churn: pd.DataFrame,
    cohorts: pd.DataFrame,
    value: pd.DataFrame | None,
    has_revenue: bool,
    clv_parts: list[tuple[str, pd.DataFrame, pd.DataFrame]] | None = None,
) -> str:
    period_name = {"M": "month", "Q": "quarter", "Y": "year"}[summary["period"]]
    by = ", ".join(summary["by"]) or "all customers"

    def kpi(label: str, value: float | None, fmt: str) -> str:
        shown = "–" if value is None else format(value, fmt)
        return f"<div class='kpi'>{esc(label)}<b>{esc(shown)}</b></div>"

    mode_text = (
        "Contractual: a customer counts from its signup date until its end date. New "
        "customers who leave within the period they joined count in N and in 'all who "
        "left' (new_lost), which lowers CRR; churn_rate counts customers of S only."
        if summary["mode"] == "contractual"
        else "Activity-based: a customer is active in a period when it has an event in it; "
        "customers returning after a gap are counted as reactivated, not retained."
    )
    parts = [
        f"<h1>{esc(title)}</h1>",
        f"<p class='muted'>{esc(mode_text)} Periods: calendar {period_name}s; "
        f"breakdown: {esc(by)}. CRR = (E − N) / S × 100 with S customers at the start, "
        "E at the end and N acquired in the period.</p>",
        f"<p class='muted'>Latest period with customers at its start: "
        f"{esc(str(summary['latest_period']))}.</p>",
        "<div class='kpis'>",
        kpi("CRR", summary["crr"], ".1f"),
        kpi("Churn rate", summary["churn_rate"], ".1%"),
        kpi("Churn rate, annualised", summary["churn_rate_annualised"], ".1%"),
        kpi("Net revenue retention", summary["nrr"], ".1%"),
        kpi("Customers", summary["customers"], ","),
        "</div>",
        f"<h2>Customer retention rate by {esc(period_name)}</h2>",
        _plot_lines(table, overall, "crr", "Customer retention rate"),
        _table(overall, caption="All customers."),
    ]
    if table is not overall:
        parts.append(_table(table, caption=f"By {by}."))
    parts += [
        "<h2>Churn rate</h2>",
        _plot_lines(table, overall, "churn_rate", "Churn rate (lost / S)"),
        _table(churn, caption="Annualised: 1 − (1 − churn rate) ^ periods per year."),
    ]
    if has_revenue:
        parts += [
            "<h2>Net revenue retention</h2>",
            "<p class='muted'>Revenue at the end of the period from the customers present at "
            "its start, over their revenue at the start.</p>",
            _plot_lines(table, overall, "nrr", "Net revenue retention"),
        ]
    age = str(cohorts.columns.name or "months")
    shown = cohorts[cohorts.iloc[:, 0].notna()]  # empty cohorts are left out of the page
    size = (8.0, max(3.0, min(12.0, 0.28 * len(shown) + 1.5)))
    what = "still customers" if age == "months_since_signup" else "with an event in the month"
    parts += [
        "<h2>Cohorts</h2>",
        f"<p class='muted'>Share of each monthly cohort {what}, by "
        f"{esc(age.replace('_', ' '))}; months with no new customer are not shown.</p>",
    ]
    if len(shown):
        parts += [
            _png(lambda ax: plot_cohorts(shown, ax=ax, title="Cohort retention"), size),
            _table(shown, index=True, percent=True),
        ]
    if value is not None:
        parts += [
            "<h2>Value and customer lifetime value by segment</h2>",
            "<p class='muted'>Churn rate: average monthly (lost / customers at risk). "
            "Lifetime = 1 / churn rate (months). CLV = margin × value × (1 + d) / (1 + d − r), "
            "r = 1 − churn rate, d = monthly discount rate. Ranked by total CLV.</p>",
            _png(lambda ax: plot_value(value, ax=ax, title="Total CLV by segment")),
            _table(value),
        ]
    if clv_parts:
        info = summary["clv"]
        parts += [
            "<h2>Customer lifetime value from each customer's purchases</h2>",
            f"<p class='muted'>Per customer, a Pareto/NBD model of the purchases before "
            f"{esc(info['as_of'])} gives P(alive) and the purchases expected in the next "
            f"{info['months']} months; a Gamma-Gamma model gives the spend per purchase. "
            "CLV = their product, monthly discounted, × margin. Value at risk = the value a "
            "customer would bring if surely alive, less its CLV.</p>",
            "<div class='kpis'>",
            kpi("Customers valued", info["customers"], ","),
            kpi("Total CLV", info["total"], ",.0f"),
            kpi("Mean CLV", info["mean"], ",.1f"),
            kpi("Value at risk", info["value_at_risk"], ",.0f"),
            "</div>",
        ]
        for col, part, joined in clv_parts:
            by_col = None if col == "all customers" else col
            parts.append(f"<h3>{esc('All customers' if by_col is None else 'By ' + col)}</h3>")
            parts.append(_png(_clv_drawer(joined, by_col), (8.0, max(2.5, 0.45 * len(part) + 1.2))))
            parts.append(_table(part))
    return html_page(title, "\n".join(parts), css=_CSS)
