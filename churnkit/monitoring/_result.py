"""The monitor's entry point, :func:`monitor`, and its result, :class:`MonitorResult`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import (
    atomic_write_text,
    esc,
    html_page,
    img_tag,
    new_axes,
    output_run,
    png_bytes,
    write_table,
)
from churnkit.config import Config, MonitorConfig
from churnkit.data import Dataset, load_dataset
from churnkit.exceptions import ConfigError
from churnkit.monitoring._drift import LEVELS
from churnkit.monitoring._monitor import (
    SCORE,
    feature_importance_share,
    realised_performance,
    retention_periods,
    run_drift,
    status_of,
)
from churnkit.monitoring._runs import read_runs

__all__ = ["EXIT_ACT", "MonitorResult", "monitor"]

EXIT_ACT = 3
"""Exit code of ``churnkit monitor`` when drift or degradation reaches the 'act' threshold."""


@dataclass
class MonitorResult:
    """What :func:`monitor` found.

    Attributes
    ----------
    summary : dict
        ``status`` (``ok``, ``watch`` or ``act``, that of the newest run's drift
        and of the newest run with known outcomes), ``reasons``, ``retrain``
        (with its evidence), and one entry per run (``runs``).
    drift : DataFrame
        One row per run, reference (``training``/``previous``) and feature.
    performance : DataFrame
        One row per run: realised metrics or how many outcomes are still unknown.
    retention : DataFrame
        CRR and churn rate per period from the first run on.
    """

    summary: dict[str, Any]
    drift: pd.DataFrame = field(repr=False)
    performance: pd.DataFrame = field(repr=False)
    retention: pd.DataFrame = field(repr=False)

    @property
    def exit_code(self) -> int:
        """0 unless the status is ``act``: then :data:`EXIT_ACT` (3)."""
        return EXIT_ACT if self.summary["status"] == "act" else 0

    def write(self, out: str | Path) -> dict[str, Path]:
        """Write ``monitor.json``, ``drift.csv``, ``performance.csv`` and ``monitor.html`` to ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        files = {"json": out / "monitor.json", "drift": out / "drift.csv",
                 "performance": out / "performance.csv", "html": out / "monitor.html"}
        with output_run(out, command="churnkit monitor") as run:
            atomic_write_text(run.stage(files["json"]),
                              json.dumps(self.summary, indent=1, default=str) + "\n")
            write_table(self.drift, run.stage(files["drift"]))
            write_table(self.performance, run.stage(files["performance"]))
            atomic_write_text(run.stage(files["html"]), self.to_html())
        return files

    def to_html(self) -> str:
        """A self-contained page: status, drift and performance over time, the drifted features."""
        s = self.summary
        body = [f"<h1>Monitoring: model {esc(s['model_version'])}</h1>",
                f'<p class="meta">{len(s["runs"])} run(s), status <span class="badge '
                f'badge-{_badge(s["status"])}">{esc(s["status"])}</span></p>']
        if s["reasons"]:
            body.append("<ul>" + "".join(f"<li>{esc(r)}</li>" for r in s["reasons"]) + "</ul>")
        for title, png in _plots(self):
            body.append(f"<h2>{esc(title)}</h2>{img_tag(png, title)}")
        body.append("<h2>Runs</h2><table><tr><th>as of</th><th>scored</th><th>status</th>"
                    "<th>score PSI</th><th>top drifted features</th><th>ROC-AUC</th>"
                    "<th>ECE</th><th>outcomes</th></tr>")
        for r in s["runs"]:
            perf = r["performance"]
            auc = perf.get("roc_auc")
            ece = perf.get("ece")
            outcome = (f"{perf.get('outcomes_unknown', 0):,} unknown until "
                       f"{perf.get('known_after')}" if perf.get("status") == "pending"
                       else perf.get("status", "no data"))
            body.append(
                f"<tr><td>{esc(r['as_of'])}</td><td class=num>{r['scored']:,}</td>"
                f'<td><span class="badge badge-{_badge(r["status"])}">{esc(r["status"])}</span></td>'
                f"<td class=num>{_num(r['score_psi'])}</td>"
                f"<td>{esc(', '.join(f['feature'] for f in r['top_drift']))}</td>"
                f"<td class=num>{_num(auc)}</td><td class=num>{_num(ece)}</td>"
                f"<td>{esc(outcome)}</td></tr>")
        body.append("</table>")
        if len(self.retention):
            body.append("<h2>Retention over the same periods</h2><table><tr><th>period</th>"
                        "<th>customers at start</th><th>lost</th><th>CRR %</th>"
                        "<th>churn rate</th></tr>")
            for row in self.retention.itertuples(index=False):
                body.append(f"<tr><td>{esc(row.period_start)}</td><td class=num>{row.S:,}</td>"
                            f"<td class=num>{row.lost:,}</td><td class=num>{_num(row.crr)}</td>"
                            f"<td class=num>{_num(row.churn_rate)}</td></tr>")
            body.append("</table>")
        return html_page(f"Monitoring {s['model_version']}", "\n".join(body))


def _badge(level: str) -> str:
    return {"ok": "low", "watch": "medium", "act": "high"}.get(level, "low")


def _num(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):.3f}"


def _plots(result: MonitorResult) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    runs = result.summary["runs"]
    if not runs:
        return out
    dates = np.array([np.datetime64(r["as_of"]) for r in runs])
    drift = result.drift[result.drift["against"] == "training"]
    ax = new_axes(None, 8, 3.5)
    top = list(dict.fromkeys(f["feature"] for r in runs for f in r["top_drift"]))[:5]
    for name in [SCORE, *top]:
        d = drift[drift["feature"] == name].set_index("as_of")["psi"]
        ax.plot(dates, [d.get(r["as_of"], float("nan")) for r in runs], marker="o", label=name)
    settings = result.summary["settings"]
    ax.axhline(settings["psi_watch"], ls="--", color="orange", lw=1)
    ax.axhline(settings["psi_act"], ls="--", color="red", lw=1)
    ax.set_ylabel("PSI against training")
    ax.legend(fontsize=7)
    out.append(("Drift against training", png_bytes(ax.figure)))
    known = [(d, r["performance"]) for d, r in zip(dates, runs, strict=True)
             if r["performance"].get("status") == "known"]
    if known:
        ax = new_axes(None, 8, 3.5)
        when = np.array([d for d, _ in known])
        ax.plot(when, [p["roc_auc"] for _, p in known], marker="o",
                label="realised ROC-AUC")
        val = known[0][1]["validation"].get("roc_auc")
        if val is not None:
            ax.axhline(val, ls="--", color="grey", lw=1, label="validation ROC-AUC")
            ax.axhline(val - settings["auc_margin"], ls=":", color="red", lw=1,
                       label="retrain below")
        ax.plot(when, [p["churn_rate"] for _, p in known], marker="s",
                label="observed churn")
        ax.plot(when, [p["mean_score"] for _, p in known], marker="^",
                label="expected churn (mean score)")
        ax.legend(fontsize=7)
        out.append(("Realised performance", png_bytes(ax.figure)))
    return out


def monitor(
    model: Any,
    runs: Iterable[str | Path],
    *,
    config: Config | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    dataset: Dataset | None = None,
    settings: MonitorConfig | None = None,
    max_features: int = 5,
) -> MonitorResult:
    """Compare scoring runs with the training data, with each other and with what happened.

    Parameters
    ----------
    model : ChurnModel
        The model that scored the runs, with its training profile (trained by
        :func:`churnkit.train`).
    runs : iterable of path-like
        Folders holding a ``run.json`` (or their parent folder, or the files).
    config : Config, optional
        Reads the data (customers, churn definition) for the realised
        performance and retention of past runs; its ``monitor:`` section gives
        the thresholds. Without it only drift is measured.
    tables : mapping of str to DataFrame, optional
        In-memory tables replacing the config's files.
    dataset : Dataset, optional
        Already loaded tables (instead of loading the config's).
    settings : MonitorConfig, optional
        Thresholds; default the config's, else the defaults.
    max_features : int, default 5
        Drifted features listed per run in the summary.

    Returns
    -------
    MonitorResult

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import churnkit as ck
    >>> from churnkit._core import builtin_config
    >>> config = ck.load_config(builtin_config("default.yaml"))
    >>> crm = ck.datasets.make_crm(600, random_state=0)
    >>> model = ck.train(config, tables=crm.tables).model
    >>> folder = Path(tempfile.mkdtemp())
    >>> for as_of in ["2025-06-01", "2025-07-01"]:
    ...     _ = ck.score(config, model, tables=crm.tables, as_of=as_of).write(
    ...         folder / as_of / "scores.csv")
    >>> result = ck.monitor(model, [folder], config=config, tables=crm.tables)
    >>> [r["as_of"] for r in result.summary["runs"]]
    ['2025-06-01', '2025-07-01']
    >>> [r["performance"]["status"] for r in result.summary["runs"]]
    ['known', 'known']
    """
    settings = settings or (config.monitor if config is not None else MonitorConfig())
    profile = getattr(model, "training_profile_", None)
    if profile is None:
        raise ConfigError("This model has no training profile, the reference of drift "
                          "monitoring: train it again with this churnkit ('churnkit train').")
    records = read_runs(runs)
    importance = feature_importance_share(model)
    if config is not None and dataset is None:
        dataset = load_dataset(config, tables)
    validation = {k: float(v) for k, v in getattr(model, "metrics_", {}).items()}
    drift_frames, perf_rows, summaries = [], [], []
    previous = None
    for rec in records:
        if rec.get("model_version") != model.version_:
            raise ConfigError(
                f"{rec['_path']} was scored by model {rec.get('model_version')}, not by "
                f"{model.version_}. Monitor each model's runs with that model (--model).")
        train = run_drift(profile, rec, importance=importance, settings=settings,
                          against="training")
        frames = [train]
        if previous is not None:
            prev = run_drift(previous, rec, importance=importance, settings=settings,
                             against="previous")
            frames.append(prev)
        drift = pd.concat(frames, ignore_index=True).assign(as_of=rec["as_of"],
                                                             run_id=rec["run_id"])
        drift_frames.append(drift)
        perf: dict[str, Any] = {"status": "no data"}
        if dataset is not None and config is not None:
            perf = realised_performance(rec, dataset, config, validation, settings)
        level, reasons = status_of(train, perf)
        flagged = train[(train["level"] != "ok") & (train["feature"] != SCORE)]
        score_row = train[train["feature"] == SCORE]
        summaries.append({
            "as_of": rec["as_of"], "run_id": rec["run_id"], "path": rec["_path"],
            "scored": rec["rows"]["scored"], "status": level, "reasons": reasons,
            "score_psi": float(score_row["psi"].iloc[0]) if len(score_row) else None,
            "top_drift": flagged.head(max_features)[["feature", "level", "psi", "js", "importance"]
                                          ].to_dict("records"),
            "performance": perf,
        })
        perf_rows.append({"as_of": rec["as_of"], "run_id": rec["run_id"],
                          **{k: v for k, v in perf.items()
                             if k not in ("calibration", "validation", "evidence")}})
        previous = rec
    retention = (retention_periods(dataset, config, [r["as_of"] for r in records])
                 if dataset is not None and config is not None else pd.DataFrame())
    status, reasons = _overall(summaries)
    retrain = [r for r in summaries if r["performance"].get("level") == "act"]
    summary = {
        "status": status, "reasons": reasons,
        "retrain": {"advised": bool(retrain) and retrain[-1] is _newest_known(summaries),
                    "evidence": [f"{r['as_of']}: {e}" for r in retrain
                                 for e in r["performance"]["evidence"]]},
        "model_version": model.version_,
        "validation": {k: validation.get(k) for k in ("roc_auc", "pr_auc", "top_decile_lift",
                                                      "ece")},
        "settings": settings.model_dump(),
        "runs": summaries,
        "retention": retention.to_dict("records"),
    }
    drift_all = (pd.concat(drift_frames, ignore_index=True) if drift_frames
                 else pd.DataFrame(columns=["as_of", "run_id", "against", "feature"]))
    lead = ["as_of", "run_id"]
    drift_all = drift_all[lead + [c for c in drift_all.columns if c not in lead]]
    return MonitorResult(summary, drift_all, pd.DataFrame(perf_rows), retention)


def _newest_known(summaries: list[dict[str, Any]]) -> dict[str, Any] | None:
    known = [r for r in summaries if r["performance"].get("status") == "known"]
    return known[-1] if known else None


def _overall(summaries: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """The status of the newest run's drift and of the newest run with known outcomes."""
    if not summaries:
        return "ok", []
    newest = summaries[-1]
    level = newest["status"]
    reasons = [f"{newest['as_of']}: {r}" for r in newest["reasons"]]
    known = _newest_known(summaries)
    if known is not None and known is not newest and known["performance"].get("level") == "act":
        level = "act"
        reasons += [f"{known['as_of']}: act: {e}; retrain the model"
                    for e in known["performance"]["evidence"]]
    return max(level, "ok", key=LEVELS.index), reasons
