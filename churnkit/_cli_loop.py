"""The ``churnkit`` commands that follow the lists out: ``rank``, ``impact``, ``monitor``.

After ``score`` and ``report`` the lists go to the account managers. These
commands close the loop: rank customers by what contacting them saves (the uplift
model), measure what the lists achieved against their held-out control group, and
watch the scoring runs for drift and degraded performance. :func:`add_commands`
registers them on the app of :mod:`churnkit.cli`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from churnkit import jobs
from churnkit._cli_common import (
    ConfigOpt,
    Format,
    FormatOpt,
    MlflowOpt,
    MlflowUriOpt,
    ModelOpt,
    TrustPickleOpt,
    err,
    errors,
    mlflow_setting,
    out,
    print_mlflow,
    print_summary,
    steps,
)
from churnkit.config import load_config
from churnkit.model import load_model

__all__ = ["add_commands", "impact", "monitor", "rank"]


def rank(
    config: ConfigOpt,
    uplift: Annotated[Path, typer.Option(help="Uplift model folder ('churnkit train --uplift').")],
    scores: Annotated[Path, typer.Option(help="Scores file written by 'churnkit score'.")],
    out_file: Annotated[Path, typer.Option("--out", help="The uplift-ranked list (.csv/.parquet).")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Rank scored customers by expected saved value (uplift x value - cost); flag do-not-contact."""
    with errors():
        cfg = load_config(config)
        with steps() as progress:
            progress("Ranking by uplift")
            fitted = jobs.load_uplift(uplift)
            ranked = jobs.rank_by_uplift(cfg, fitted, jobs.read_scores(scores))
            jobs.write_uplift_list(ranked, out_file)
        print_summary(f"Uplift-ranked list → {out_file}", {
            "customers": len(ranked), "do_not_contact": int(ranked["do_not_contact"].sum()),
            "expected_saved_value_top_10pct": float(
                ranked["expected_saved_value"].head(max(1, len(ranked) // 10)).sum()),
        }, fmt)


def impact(
    config: ConfigOpt,
    assignments: Annotated[list[Path], typer.Option(
        help="assignments.csv of a 'churnkit report --holdout' run; repeat for several runs.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for impact.html, .json, .csv.")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Measure what the lists achieved: churn of the listed vs the held-out control group."""
    with errors():
        cfg = load_config(config)
        with steps() as progress:
            progress("Joining assignments with realised churn and the actions log")
            result = jobs.impact(cfg, assignments)
            progress("Writing impact.html")
            paths = result.write(out_dir)
        if fmt is Format.json:
            out.print_json(json.dumps({**result.to_json(), "files": {k: str(v) for k, v in
                                                                     paths.items()}}))
            return
        summary = {k: v for k, v in result.summary.items() if k != "note"}
        print_summary(f"Impact → {out_dir}", summary, fmt)
        err.print(escape(result.summary["note"]))


_RunsOpt = Annotated[list[Path], typer.Option(
    "--runs", help="A folder holding the run.json that 'churnkit score' writes beside its "
                   "scores, or a folder of such folders; repeat for more.")]
_MonitorConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", help="YAML configuration: its data give the realised performance of "
                           "runs whose horizon has passed, its monitor: section the "
                           "thresholds.")]
_MonitorOutOpt = Annotated[Path | None, typer.Option(
    "--out", help="Write monitor.html, monitor.json, drift.csv and performance.csv here.")]


def monitor(
    model: ModelOpt, runs: _RunsOpt, config: _MonitorConfigOpt = None, out_dir: _MonitorOutOpt = None,
    trust_pickle: TrustPickleOpt = False, fmt: FormatOpt = Format.table,
    mlflow: MlflowOpt = False, mlflow_uri: MlflowUriOpt = None,
) -> None:
    """Check past scoring runs for drift and degraded performance.

    Exit code 0 when all is fine (or only worth watching), 3 when the newest run
    drifted beyond the 'act' thresholds or the newest run with known outcomes
    performed below the model's validation figures (retrain), 1 on errors.
    """
    with errors():
        cfg = load_config(config) if config is not None else None
        fitted = load_model(model, trust_pickle=trust_pickle)
        with steps() as progress:
            result = jobs.monitor(fitted, runs, config=cfg, out_dir=out_dir, progress=progress,
                                  mlflow=mlflow_setting(mlflow, mlflow_uri, cfg))
        _print_monitoring(result.summary, fmt)
    raise typer.Exit(result.exit_code)


def _print_monitoring(summary: dict[str, Any], fmt: Format) -> None:
    """The monitoring summary: JSON, or one table row per run and the reasons on stderr."""
    if fmt is Format.json:
        out.print_json(json.dumps(summary, default=str))
        return
    print_summary(f"Monitoring {len(summary['runs'])} run(s) of model "
                  f"{summary['model_version']}", {
                      "status": summary["status"],
                      "retrain advised": summary["retrain"]["advised"],
                      **{r["as_of"]: _run_line(r) for r in summary["runs"]},
                  }, fmt)
    for reason in summary["reasons"]:
        err.print(escape(reason))
    print_mlflow(summary)


def _run_line(run: dict[str, Any]) -> str:
    perf = run["performance"]
    top = ", ".join(f["feature"] for f in run["top_drift"][:3]) or "none"
    if perf.get("status") == "known":
        known = f"ROC-AUC {perf['roc_auc']:.3f}, ECE {perf['ece']:.3f}"
    elif perf.get("status") == "pending":
        known = f"{perf['outcomes_unknown']:,} outcomes unknown until {perf['known_after']}"
    else:
        known = "outcomes not checked (no --config)"
    return f"{run['status']}; score PSI {run['score_psi']:.3f}; drifted: {top}; {known}"


def add_commands(app: typer.Typer) -> None:
    """Register ``rank``, ``impact`` and ``monitor`` on ``app``, in that order."""
    for command in (rank, impact, monitor):
        app.command()(command)
