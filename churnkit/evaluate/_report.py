"""The model report: one self-contained HTML page per evaluation.

Metrics against the baselines, per-fold figures, ROC and precision-recall
curves, gains and lift, calibration, the retention-campaign profit curve with
EMP, and the global reasons (mean absolute SHAP value per feature). Plots are
embedded as base64 PNG, the CSS is inline, every text is escaped: the page can
be mailed or archived and opens offline.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnkit._core import BASE_CSS, atomic_write_text, esc, html_page, img_tag, png_bytes
from churnkit.evaluate import _plots as plots
from churnkit.evaluate._backtest import HEADLINE, EvaluationResult, baselines_of
from churnkit.evaluate._baselines import PLAIN_LIGHTGBM
from churnkit.exceptions import SchemaError
from churnkit.model import TOP_SHARES, calibration_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["global_importance_table", "write_model_report"]

_CSS = BASE_CSS + """
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 16px; }
.grid img, img.wide { max-width: 100%; height: auto; border: 1px solid var(--line); }
table.narrow { width: auto; min-width: 50%; }
p.lead { font-size: 15px; }
"""
_LABELS = {
    "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC (average precision)", "log_loss": "Log loss",
    "brier": "Brier score", "top_decile_lift": "Top-decile lift", "ece": "Calibration error (ECE)",
    "profit_best": "Best campaign profit", "profit_best_depth": "Best targeting depth",
    "emp": "Expected maximum profit (EMP)", "emp_per_customer": "EMP per customer",
    "emp_depth": "EMP targeting depth",
}
_LOWER_IS_BETTER = {"log_loss", "brier", "ece"}


def _ax(width: float = 5.0, height: float = 4.0, *, left: float = 0.14, right: float = 0.95
        ) -> Axes:
    """A fresh Axes with fixed margins (faster to render than a layout engine)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=left, right=right, bottom=0.13, top=0.91)
    return fig.add_subplot()


def _png(ax: Axes) -> str:
    return img_tag(png_bytes(ax.figure, dpi=100), ax.get_title())


def _fmt(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if key.endswith("depth") or key.startswith("capture") or key == "positive_rate":
        return f"{value:.1%}"
    if key.startswith(("profit", "emp")) and key != "emp_per_customer":
        return f"{value:,.0f}"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:,.2f}"


def global_importance_table(model: Any, X: pd.DataFrame, *, max_features: int = 20
                            ) -> pd.Series:
    """The ``max_features`` largest mean absolute SHAP values (log-odds) over ``X``'s rows."""
    missing = [c for c in getattr(model, "feature_names_in_", []) if c not in X.columns]
    if missing:
        raise SchemaError(
            f"The model needs {len(missing)} feature(s) the evaluation sample lacks, e.g. "
            f"{missing[:5]}. Pass the evaluation's own model (result.last_model)."
        )
    contrib = model.explain(X).drop(columns="(expected)", errors="ignore")
    return contrib.abs().mean().sort_values(ascending=False).head(max_features)


def _metrics_table(result: EvaluationResult) -> str:
    m = result.metrics
    keys = [*HEADLINE]
    keys += [f"{p}_at_{round(s * 100)}" for s in TOP_SHARES for p in ("lift", "capture")
             if f"{p}_at_{round(s * 100)}" in m and round(s * 100) != 10]
    keys += ["ece", "profit_best", "profit_best_depth", "emp", "emp_per_customer", "emp_depth"]
    names = baselines_of(m["baseline"])
    head = "".join(f'<th class="num">{esc(b)}</th>' for b in names)
    rows = []
    for key in keys:
        label = _LABELS.get(key) or key.replace("_at_", " at top ").replace("_", " ") + (
            "%" if "_at_" in key else "")
        cells = "".join(
            f'<td class="num">{esc(_fmt(key, m["baseline"][b].get(key)))}</td>' for b in names
        )
        note = " (lower is better)" if key in _LOWER_IS_BETTER else ""
        rows.append(f"<tr><td>{esc(label)}<span class='small'>{esc(note)}</span></td>"
                    f'<td class="num"><b>{esc(_fmt(key, m.get(key)))}</b></td>{cells}</tr>')
    return (f"<table class='narrow'><thead><tr><th>Metric</th><th class='num'>model</th>{head}"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _plain_settings() -> str:
    return ", ".join(f"{k}={v}" for k, v in PLAIN_LIGHTGBM.items()) + ", native categoricals"


def _verdict(result: EvaluationResult) -> str:
    m = result.metrics
    parts = []
    for b in baselines_of(m["baseline"]):
        imp = m["improvement"][b]
        auc_b = m["baseline"][b]["roc_auc"]
        if not np.isfinite(auc_b) or not np.isfinite(m["roc_auc"]):
            continue
        ratio = imp["top_decile_lift_ratio"]
        word = "above" if imp["roc_auc"] >= 0 else "below"
        ratio_txt = f"{ratio:.2f}×" if np.isfinite(ratio) else "–"
        parts.append(
            f"{abs(imp['roc_auc']):.3f} ROC-AUC {word} the {b} baseline ({auc_b:.3f}), "
            f"top-decile lift {ratio_txt} the {b}'s, EMP {imp['emp']:+,.0f}"
        )
    return "The model scores " + "; ".join(parts) + "." if parts else ""


def _folds_table(result: EvaluationResult) -> str:
    f = result.folds
    cols = ["fold"]
    if "test_cutoff" in f:
        cols += ["test_cutoff", "last_label_end"]
    cols += ["n_train", "n_test", "positive_rate", "best_iteration"]
    names = baselines_of(result.metrics["baseline"])
    cols += [f"{s}_{k}" for k in ("roc_auc", "top_decile_lift") for s in ("model", *names)]
    head = "".join(f"<th>{esc(c.replace('_', ' '))}</th>" for c in cols)
    body = []
    for _, row in f.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if isinstance(v, pd.Timestamp):
                text = str(v.date())
            elif isinstance(v, float):
                text = _fmt(c, v)
            else:
                text = str(v)
            cells.append(f'<td class="num">{esc(text)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _campaign_text(result: EvaluationResult) -> str:
    c = result.campaign
    a, b = c.acceptance_beta
    m = result.metrics
    return (
        f"Contact cost {c.contact_cost:g}, offer cost {c.offer_cost:g}, acceptance rate "
        f"{c.acceptance_rate:.0%} (EMP: Beta({a:g}, {b:g}), mean {a / (a + b):.0%}); customer "
        f"value: the value column × scoring.value_horizon_months where known, else "
        f"{c.customer_value:g}. Contacting the top {m['profit_best_depth']:.1%} by model score "
        f"earns {m['profit_best']:,.0f} in expectation; the EMP is {m['emp']:,.0f} "
        f"({m['emp_per_customer']:,.2f} per customer) at an expected depth of {m['emp_depth']:.1%}."
    )


def _calibration_html(y: np.ndarray, p: np.ndarray) -> str:
    t: Any = calibration_table(y, p)  # rows read by attribute below
    rows = "".join(
        f"<tr><td class='num'>{int(r.bin)}</td><td class='num'>{int(r.n):,}</td>"
        f"<td class='num'>{r.expected:.3f}</td><td class='num'>{r.observed:.3f}</td></tr>"
        for r in t.itertuples()
    )
    return ("<table class='narrow'><thead><tr><th class='num'>decile</th><th class='num'>n</th>"
            "<th class='num'>expected</th><th class='num'>observed</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def write_model_report(result: EvaluationResult, out_dir: str | Path, *, model: Any = None
                       ) -> Path:
    """Write ``out_dir/model_report.html`` for an evaluation.

    Parameters
    ----------
    result : EvaluationResult
        From :func:`churnkit.evaluate.backtest`.
    out_dir : path-like
        Folder to write into (created if needed).
    model : ChurnModel, optional
        Adds the global reasons: mean absolute SHAP value of the top 20 features
        over ``result.features_sample`` (test rows of the newest fold). Use
        ``result.last_model`` or a model with the same features.

    Returns
    -------
    Path
        The written file (written atomically: readers never see half a page).
    """
    pred = result.predictions
    y = pred["label"].to_numpy(dtype=bool)
    scores = {name: pred[name].to_numpy(dtype=float)
              for name in ("model", *baselines_of(result.metrics["baseline"]))}
    value = pred["value"].to_numpy(dtype=float)
    m = result.metrics
    pooled = (", ".join(str(c.date()) for c in result.folds["test_cutoff"])
              if "test_cutoff" in result.folds else "")
    how = ("out of time: each test cutoff is predicted by a model trained only on earlier "
           f"cutoffs whose label horizon ended by then (test cutoffs pooled: {pooled})"
           if result.mode == "events" else
           "stratified K-fold cross-validation: every customer is predicted by a model that "
           "did not see it")
    imp = None
    if model is not None:  # explain first: a model that does not fit fails before any drawing
        if result.features_sample is None or result.features_sample.empty:
            raise SchemaError("The evaluation kept no feature sample to explain; rerun backtest.")
        imp = global_importance_table(model, result.features_sample)
    body = [
        f"<h1>Model report: {esc(result.name)}</h1>",
        f"<p class='meta'>{int(m['folds'])} folds, {how}. {int(m['n']):,} test predictions, "
        f"churn rate {m['positive_rate']:.1%}. Generated {date.today().isoformat()}.</p>",
        f"<p class='lead'>{esc(_verdict(result))}</p>",
        "<h2>Model against baselines</h2>", _metrics_table(result),
        "<p class='small'>Baselines fitted on the same folds: <b>rule</b> = "
        + esc("; ".join(dict.fromkeys(result.rules)))
        + "; <b>logistic</b> = logistic regression on the model's features (median "
        "imputation, standardisation, one-hot categoricals); <b>lightgbm</b> = a plain "
        "LightGBM with fixed, untuned settings (" + esc(_plain_settings()) + ") on "
        + ("the table's raw columns" if result.mode == "snapshot" else "the model's features")
        + (("; <b>btyd</b> = " + esc("; ".join(dict.fromkeys(result.folds["btyd"])))
            + ", a Pareto/NBD model fitted at each cutoff on the purchases before it")
           if "btyd" in result.folds else "")
        + ". Metrics pool every test prediction; lift and capture are tie-aware.</p>",
        "<h2>Folds</h2>", _folds_table(result),
        "<h2>Curves</h2><div class='grid'>",
        _png(plots.plot_roc(y, scores, ax=_ax())), _png(plots.plot_pr(y, scores, ax=_ax())),
        _png(plots.plot_gains(y, scores, ax=_ax(right=0.88))),
        _png(plots.plot_calibration(y, scores["model"], ax=_ax())),
        _png(plots.plot_profit(y, scores, value=value, campaign=result.campaign,
                               ax=_ax(left=0.18))), "</div>",
        "<h2>Calibration by decile (model)</h2>", _calibration_html(y, scores["model"]),
        "<h2>Retention campaign</h2>", f"<p>{esc(_campaign_text(result))}</p>",
    ]
    if imp is not None:
        assert result.features_sample is not None
        rows = "".join(f"<tr><td>{esc(f)}</td><td class='num'>{v:.4f}</td></tr>"
                       for f, v in imp.items())
        longest = max((len(str(f)) for f in imp.index), default=10)
        width = 7.0
        left = min(0.6, 0.02 + 0.075 * longest / width)
        bars = plots.plot_importance(imp, ax=_ax(width, max(2.5, 0.28 * len(imp) + 1), left=left))
        body += [
            "<h2>Global reasons</h2>",
            f"<p class='small'>Mean absolute SHAP value (log-odds) over "
            f"{len(result.features_sample):,} test rows of the newest fold; top {len(imp)}.</p>",
            f"<div class='grid'><div>{_png(bars)}</div><div><table "
            f"class='narrow'><thead><tr><th>feature</th><th class='num'>mean |SHAP|</th></tr>"
            f"</thead><tbody>{rows}</tbody></table></div></div>",
        ]
    page = html_page(f"Model report: {result.name}", "\n".join(body), css=_CSS)
    return atomic_write_text(Path(out_dir) / "model_report.html", page)
