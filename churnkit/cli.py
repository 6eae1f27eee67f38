"""The ``churnkit`` command line: thin wrappers over the Python API.

Exit codes: 0 success, 1 data or configuration error (one clear message; the
traceback only with ``--debug``), 2 usage error.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from pandas.errors import OutOfBoundsDatetime, OutOfBoundsTimedelta
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from churnkit import jobs
from churnkit._core import __version__, cap_text, check_table_path, resolve_as_of, run_lock
from churnkit.config import Config, MlflowConfig, load_config
from churnkit.data import load_dataset
from churnkit.exceptions import ChurnkitError
from churnkit.labels import label_population, labels_from_config
from churnkit.model import load_model
from churnkit.scoring import score_paths, write_table

app = typer.Typer(
    name="churnkit",
    help="Predict which customers will leave, explain why, and tell their owners what to do.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# no emoji codes: a path or column named like ':x:' is shown as written
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
out = Console(highlight=False, emoji=False)
_STATE = {"debug": False}


class Format(StrEnum):
    """Output format of summaries."""

    table = "table"
    json = "json"


def _print_version(value: bool) -> None:
    if value:
        out.print(f"churnkit {__version__} (distribution churnkit-crm)")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print the version and exit.",
    )] = False,
) -> None:
    _STATE["debug"] = debug


_OS_FIXES = {
    errno.ENOSPC: "The disk is full: free some space, or write to another folder.",
    errno.EDQUOT: "The disk quota is used up: free some space, or write to another folder.",
    errno.EROFS: "The file system is read-only: write to a folder on a writable disk.",
    errno.EACCES: "Permission denied: write to a folder you may write to, or ask for access.",
    errno.EPERM: "Permission denied: write to a folder you may write to, or ask for access.",
    errno.EISDIR: "It is a folder: give a file name.",
    errno.ENOTDIR: "A part of the path is a file, not a folder: check the path.",
    errno.ENOENT: "No such file or folder: check the path.",
}


def _message(exc: BaseException) -> str:
    """One paragraph about ``exc``: what, where, and the fix."""
    if isinstance(exc, OSError) and not isinstance(exc, ChurnkitError):
        where = " ".join(repr(str(f)) for f in (exc.filename, exc.filename2) if f is not None)
        what = exc.strerror or str(exc)
        fix = _OS_FIXES.get(exc.errno or 0, "Check the path and the disk.")
        return f"{what}{' (' + where + ')' if where else ''}. {fix}"
    if isinstance(exc, OutOfBoundsDatetime | OutOfBoundsTimedelta):
        return (f"{cap_text(str(exc))}: a date or a number of days is beyond what churnkit can "
                "work with (years 1678-2261). Check the dates and day counts in the "
                "configuration and the data.")
    return str(exc)


def _fail(exc: BaseException) -> None:
    if _STATE["debug"]:
        err.print_exception()
    kind = type(exc).__name__
    err.print(f"[bold red]Error[/] ({kind}): {escape(_message(exc))}")
    raise typer.Exit(1)


@contextmanager
def _errors() -> Iterator[None]:
    """Data, configuration and file-system problems: one message, exit 1. Bugs: a traceback."""
    try:
        yield
    except (ChurnkitError, OSError, OutOfBoundsDatetime, OutOfBoundsTimedelta) as exc:
        _fail(exc)


def _as_of(value: str | None) -> str | None:
    """Check an ``--as-of`` date up front: a date without a time zone (else exit 2)."""
    if value is not None:
        try:
            resolve_as_of(value, pd.Timestamp.max)  # only the text here; the range later
        except ChurnkitError as exc:
            raise typer.BadParameter(str(exc).removeprefix("as_of: ")) from None
    return value


@contextmanager
def _steps() -> Iterator[Callable[[str], None]]:
    """A status line on stderr that each pipeline step updates.

    While the steps run, whatever libraries print (LightGBM, Dask workers
    started meanwhile) goes to stderr too, so that stdout carries only the
    summary, e.g. the JSON of ``--format json``.
    """
    start = time.perf_counter()
    with _stdout_to_stderr(), err.status("Starting") as status:

        def progress(message: str) -> None:
            err.log(f"{escape(message)}…") if _STATE["debug"] else None
            status.update(f"{escape(message)}…  [dim]{time.perf_counter() - start:.0f}s[/]")

        yield progress


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send this process's stdout, and that of the processes it starts, to stderr."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # no usable file descriptors (an embedding host): Python-level only
        saved = None
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _print_summary(title: str, summary: dict[str, Any], fmt: Format) -> None:
    if fmt is Format.json:
        out.print_json(json.dumps(summary, default=str))
        return
    table = Table(title=escape(title), show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, float):
            value = f"{value:,.4f}" if abs(value) < 10 else f"{value:,.0f}"
        table.add_row(escape(key.replace("_", " ")), escape(str(value)))
    out.print(table)


def _print_population(population: Any) -> None:
    """The label population: rows and churn rate per cutoff."""
    table = Table(title="Label population (customers active at each cutoff, churned in the "
                        "horizon)", title_justify="left")
    for col in ("cutoff", "rows", "churned", "churn rate"):
        table.add_column(col, justify="left" if col == "cutoff" else "right")
    for row in population.itertuples(index=False):
        table.add_row(row.cutoff, f"{row.rows:,}", f"{row.churned:,}", f"{row.churn_rate:.1%}")
    out.print(table)


ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="YAML configuration file.")]
FormatOpt = Annotated[Format, typer.Option("--format", help="Summary format.")]
ModelOpt = Annotated[Path, typer.Option(help="Model folder written by 'churnkit train'.")]
TrustPickleOpt = Annotated[bool, typer.Option(
    "--trust-pickle", help="Also load a model saved by an older churnkit as a pickle "
                           "(model.joblib). Loading a pickle runs code: only for a model from a "
                           "trusted source.")]
AsOfOpt = Annotated[str | None, typer.Option(
    help="As of this date, YYYY-MM-DD (default: end of data).", callback=_as_of)]
SchedulerOpt = Annotated[str | None, typer.Option(
    help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local cluster).")]
PartitionsOpt = Annotated[int | None, typer.Option(
    min=1, help="Partitions of customers (dask: default 2 per worker thread; chunked: 8).")]


MlflowOpt = Annotated[bool, typer.Option(
    "--mlflow", help="Log the run to MLflow: parameters, metrics, tags and files (needs "
                     "churnkit-crm[mlflow]; where: the config's mlflow: section, else "
                     "MLFLOW_TRACKING_URI, else MLflow's local default).")]
MlflowUriOpt = Annotated[str | None, typer.Option(
    "--mlflow-uri", help="MLflow tracking URI, e.g. http://host:5000 or sqlite:///mlflow.db; "
                         "implies --mlflow.")]


def _mlflow(on: bool, uri: str | None, cfg: Config | None) -> bool | MlflowConfig:
    """The jobs' ``mlflow`` argument from ``--mlflow`` and ``--mlflow-uri``."""
    if uri is None:
        return on
    settings = cfg.mlflow if cfg is not None else MlflowConfig()
    return settings.model_copy(update={"tracking_uri": uri})


class Engine(StrEnum):
    """Where scoring runs."""

    local = "local"
    chunked = "chunked"
    dask = "dask"


class TrainEngine(StrEnum):
    """Where training runs."""

    local = "local"
    dask = "dask"


class Period(StrEnum):
    """Retention period."""

    M = "M"
    Q = "Q"
    Y = "Y"


@app.command()
def validate(config: ConfigOpt, fmt: FormatOpt = Format.table,
             rejects: Annotated[Path | None, typer.Option(help="Write rejected rows here.")] = None
             ) -> None:
    """Check a configuration and its tables; report every problem found."""
    with _errors():
        if rejects is not None:
            check_table_path(rejects, option="--rejects")
        cfg = load_config(config)
        with _steps() as progress:
            progress("Loading and validating tables")
            ds = load_dataset(cfg)
        summary = ds.summary()
        population = label_population(labels_from_config(ds, cfg.labels))
        summary["labels"] = population.to_dict("records")
        if rejects is not None:
            summary["rejects_file"] = str(write_table(ds.rejects, rejects))
        _print_summary(f"{config}: valid", {k: v for k, v in summary.items() if k != "labels"}
                       if fmt is not Format.json else summary, fmt)
        if fmt is not Format.json:
            _print_population(population)
        top = ds.rejects.groupby(["table", "reason"]).size().sort_values(ascending=False).head(10)
        for key, n in zip(top.index, top.to_numpy(), strict=True):
            err.print(f"[yellow]{n:,} row(s) of {escape(str(key[0]))}[/]: {escape(str(key[1]))}")


@app.command()
def train(config: ConfigOpt,
          out_dir: Annotated[Path, typer.Option("--out", help="Model folder to write.")],
          engine: Annotated[TrainEngine, typer.Option(
              help="local: in memory; dask: features per partition of customers and "
                   "lightgbm.dask on a Dask cluster.")] = TrainEngine.local,
          scheduler: SchedulerOpt = None, partitions: PartitionsOpt = None,
          uplift: Annotated[bool, typer.Option(
              "--uplift", help="Train the uplift model (who contact saves) from finished "
                               "runs with a control group instead of the churn model.")] = False,
          assignments: Annotated[list[Path] | None, typer.Option(
              help="--uplift: assignments.csv of a finished run (repeat); default: the "
                   "config's uplift.assignments.")] = None,
          fmt: FormatOpt = Format.table, mlflow: MlflowOpt = False,
          mlflow_uri: MlflowUriOpt = None) -> None:
    """Train a churn model and save it with its manifest (signed if CHURNKIT_MODEL_KEY is set)."""
    with _errors():
        if uplift and (mlflow or mlflow_uri is not None):
            raise typer.BadParameter("logs the churn model's training; the uplift model's "
                                     "is not logged. Leave out --mlflow with --uplift.",
                                     param_hint="--mlflow")
        cfg = load_config(config)
        if uplift:
            with _steps() as progress:
                fitted = jobs.train_uplift(cfg, assignments, progress=progress)
                progress("Saving the uplift model")
                fitted.write(out_dir)
            _print_summary(f"Trained the uplift model of {cfg.name} → {out_dir}",
                           _flat(fitted.summary), fmt)
            return
        with _steps() as progress:
            result = jobs.train(cfg, engine=engine.value, scheduler=scheduler,
                                partitions=partitions, progress=progress, out_dir=out_dir,
                                mlflow=_mlflow(mlflow, mlflow_uri, cfg))
        _print_summary(f"Trained {cfg.name} → {out_dir}", result.summary, fmt)


@app.command()
def score(config: ConfigOpt, model: ModelOpt,
          out_file: Annotated[Path, typer.Option(
              "--out", help="Scores file (.csv or .parquet); with --engine dask, a folder.")],
          as_of: AsOfOpt = None,
          rejects: Annotated[Path | None, typer.Option(help="Rejects file (default: beside --out).")] = None,
          engine: Annotated[Engine, typer.Option(
              help="local: all tables in memory; chunked: a chunk of customers at a time; "
                   "dask: on a Dask cluster (part files under --out).")] = Engine.local,
          scheduler: SchedulerOpt = None, partitions: PartitionsOpt = None,
          trust_pickle: TrustPickleOpt = False, fmt: FormatOpt = Format.table) -> None:
    """Score every active customer as of a date."""
    with _errors():
        # the output names are checked, and the folders locked, before minutes of scoring
        folders = [out_file] if engine is Engine.dask else [
            p.parent for p in score_paths(out_file, rejects)]
        cfg, fitted = load_config(config), load_model(model, trust_pickle=trust_pickle)
        with run_lock(*folders, command="churnkit score"), _steps() as progress:
            result = jobs.score(cfg, fitted, as_of=as_of, engine=engine.value, partitions=partitions,
                                scheduler=scheduler, out_dir=out_file, progress=progress)
            progress("Writing outputs")
            files = result.write(out_file, rejects=rejects)
        _print_summary(f"Scored → {out_file}", {**result.summary, "rejects_file": str(files["rejects"])},
                       fmt)


@app.command()
def report(
    scores: Annotated[Path, typer.Option(help="Scores file written by 'churnkit score'.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the at-risk lists.")],
    min_band: Annotated[
        str | None, typer.Option(help="Only this risk band and riskier, e.g. high; 'low' lists "
                                      "everyone. Default: every band above low.")
    ] = None,
    currency: Annotated[str, typer.Option(help="Currency symbol for values.")] = "",
    holdout: Annotated[float, typer.Option(
        min=0.0, max=0.99, help="Share kept out of every list as a random control group "
                                "(stratified by risk band and manager); writes assignments.csv "
                                "for 'churnkit impact'. Default 0: none.")] = 0.0,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the holdout draw.")] = 0,
    fmt: FormatOpt = Format.table,
) -> None:
    """Write at-risk lists per account manager (CSV, one XLSX sheet each, HTML pages)."""
    with _errors():
        summary = jobs.report(scores, out_dir, min_band=min_band, currency=currency,
                              holdout=holdout, seed=seed)
        _print_summary(f"At-risk lists → {out_dir}", summary, fmt)


@app.command()
def explain(
    config: ConfigOpt, model: ModelOpt,
    customer: Annotated[str, typer.Option(help="The customer id to explain.")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write waterfall PNG, CSV, HTML.")] = None,
    as_of: AsOfOpt = None,
    trust_pickle: TrustPickleOpt = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Explain one customer's score: top reasons and a SHAP waterfall."""
    with _errors():
        cfg, fitted = load_config(config), load_model(model, trust_pickle=trust_pickle)
        with _steps() as progress:
            progress(f"Explaining customer {customer}")
            expl, paths = jobs.explain(cfg, fitted, customer, as_of=as_of, out_dir=out_dir)
        if fmt is Format.json:
            out.print_json(json.dumps({
                "customer_id": customer, "churn_probability": expl.probability,
                "reasons": expl.reasons["reason"].tolist(), "files": {k: str(v) for k, v in paths.items()},
                "contributions": expl.table.head(10).to_dict(orient="records"),
            }, default=str))
            return
        out.print(expl.to_markdown(), markup=False)
        for name, path in paths.items():
            err.print(f"{name}: {escape(str(path))}")


@app.command()
def evaluate(
    config: ConfigOpt,
    cv: Annotated[int | None, typer.Option(
        "--cv", min=1,
        help="Snapshot data: number of folds (default 5). Event data: number of newest "
             "cutoffs tested out of time (default 3).")] = None,
    fmt: FormatOpt = Format.table,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Write metrics.json, predictions.csv, folds.csv and model_report.html "
                      "to this folder.")] = None,
    mlflow: MlflowOpt = False,
    mlflow_uri: MlflowUriOpt = None,
) -> None:
    """Backtest a configuration against a one-feature rule, a logistic regression and a plain LightGBM."""
    with _errors():
        with _steps() as progress:
            cfg = load_config(config)
            summary = jobs.evaluate(cfg, cv=cv, out_dir=out_dir, progress=progress,
                                    mlflow=_mlflow(mlflow, mlflow_uri, cfg))
        if fmt is Format.json:
            out.print_json(json.dumps(summary, default=str))
            return
        _print_comparison(config, summary)
        if out_dir is not None:
            err.print(f"Wrote {escape(summary['files']['report'])}")
        _print_mlflow(summary)


def _print_mlflow(summary: dict[str, Any]) -> None:
    if "mlflow" in summary:
        logged = summary["mlflow"]
        err.print(f"MLflow: run {escape(logged['run_id'])} of experiment "
                  f"{escape(repr(logged['experiment']))} at {escape(logged['tracking_uri'])}")


def _print_comparison(config: Path, summary: dict[str, Any]) -> None:
    kind = "cross-validation" if summary["mode"] == "snapshot" else "out-of-time backtest"
    if summary.get("test_cutoffs"):
        kind += f" pooling test cutoff(s) {', '.join(summary['test_cutoffs'])}"
    table = Table(title=f"{escape(str(config))}: {kind}, {int(summary['folds'])} folds, "
                        f"{int(summary['n']):,} test rows, churn rate "
                        f"{summary['positive_rate']:.1%}", title_justify="left")
    table.add_column("metric", style="bold")
    for name in jobs.comparison_columns(summary):
        table.add_column(name, justify="right")
    for row in jobs.comparison_rows(summary):
        table.add_row(*row)
    out.print(table)
    err.print(f"rule: {escape('; '.join(summary['rules']))}")
    if summary.get("btyd"):
        err.print(f"btyd: {escape(summary['btyd'])}, fitted at each cutoff on the purchases "
                  "before it")
    tuning = summary.get("tuning")
    if tuning:
        chosen = "; ".join(dict.fromkeys(f["settings"] for f in tuning["folds"]))
        err.print(f"model: {escape(chosen)} ({tuning['seconds']:.1f} s of capacity search)")
    plain = summary["plain_lightgbm"]
    settings = ", ".join(f"{k}={v}" for k, v in plain["settings"].items())
    err.print(f"lightgbm: plain LGBMClassifier ({settings}, native categoricals) on "
              f"{plain['input']}")


@app.command()
def retention(
    config: ConfigOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for retention.html and CSVs.")],
    period: Annotated[Period | None, typer.Option(help="M, Q or Y (default: the config's).")] = None,
    by: Annotated[list[str] | None, typer.Option(help="Customer column to break down by.")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Measure retention: CRR, churn rate, cohorts, value and lifetime value by segment."""
    with _errors():
        cfg = load_config(config)
        with _steps() as progress:
            progress("Computing retention figures")
            summary = jobs.retention(cfg, out_dir, period=period.value if period else None, by=by)
        summary.pop("files", None)
        _print_summary(f"Retention → {out_dir}", summary, fmt)


def _flat(summary: dict[str, Any]) -> dict[str, Any]:
    """Nested metrics as ``outer.inner`` keys, for the summary table."""
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()):
            for inner, sub in value.items():
                out[f"{key} {inner}"] = sub
        else:
            out[key] = value
    return out


@app.command()
def rank(
    config: ConfigOpt,
    uplift: Annotated[Path, typer.Option(help="Uplift model folder ('churnkit train --uplift').")],
    scores: Annotated[Path, typer.Option(help="Scores file written by 'churnkit score'.")],
    out_file: Annotated[Path, typer.Option("--out", help="The uplift-ranked list (.csv/.parquet).")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Rank scored customers by expected saved value (uplift x value - cost); flag do-not-contact."""
    with _errors():
        cfg = load_config(config)
        with _steps() as progress:
            progress("Ranking by uplift")
            fitted = jobs.load_uplift(uplift)
            ranked = jobs.rank_by_uplift(cfg, fitted, jobs.read_scores(scores))
            jobs.write_uplift_list(ranked, out_file)
        _print_summary(f"Uplift-ranked list → {out_file}", {
            "customers": len(ranked), "do_not_contact": int(ranked["do_not_contact"].sum()),
            "expected_saved_value_top_10pct": float(
                ranked["expected_saved_value"].head(max(1, len(ranked) // 10)).sum()),
        }, fmt)


@app.command()
def impact(
    config: ConfigOpt,
    assignments: Annotated[list[Path], typer.Option(
        help="assignments.csv of a 'churnkit report --holdout' run; repeat for several runs.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for impact.html, .json, .csv.")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Measure what the lists achieved: churn of the listed vs the held-out control group."""
    with _errors():
        cfg = load_config(config)
        with _steps() as progress:
            progress("Joining assignments with realised churn and the actions log")
            result = jobs.impact(cfg, assignments)
            progress("Writing impact.html")
            paths = result.write(out_dir)
        if fmt is Format.json:
            out.print_json(json.dumps({**result.to_json(), "files": {k: str(v) for k, v in
                                                                     paths.items()}}))
            return
        summary = {k: v for k, v in result.summary.items() if k != "note"}
        _print_summary(f"Impact → {out_dir}", summary, fmt)
        err.print(escape(result.summary["note"]))


@app.command()
def monitor(
    model: ModelOpt,
    runs: Annotated[list[Path], typer.Option(
        "--runs", help="A folder holding the run.json that 'churnkit score' writes beside its "
                       "scores, or a folder of such folders; repeat for more.")],
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="YAML configuration: its data give the realised performance of "
                               "runs whose horizon has passed, its monitor: section the "
                               "thresholds.")] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Write monitor.html, monitor.json, drift.csv and performance.csv here.")
    ] = None,
    trust_pickle: TrustPickleOpt = False,
    fmt: FormatOpt = Format.table,
    mlflow: MlflowOpt = False,
    mlflow_uri: MlflowUriOpt = None,
) -> None:
    """Check past scoring runs for drift and degraded performance.

    Exit code 0 when all is fine (or only worth watching), 3 when the newest run
    drifted beyond the 'act' thresholds or the newest run with known outcomes
    performed below the model's validation figures (retrain), 1 on errors.
    """
    with _errors():
        cfg = load_config(config) if config is not None else None
        fitted = load_model(model, trust_pickle=trust_pickle)
        with _steps() as progress:
            result = jobs.monitor(fitted, runs, config=cfg, out_dir=out_dir, progress=progress,
                                  mlflow=_mlflow(mlflow, mlflow_uri, cfg))
        summary = result.summary
        if fmt is Format.json:
            out.print_json(json.dumps(summary, default=str))
        else:
            _print_summary(f"Monitoring {len(summary['runs'])} run(s) of model "
                           f"{summary['model_version']}", {
                               "status": summary["status"],
                               "retrain advised": summary["retrain"]["advised"],
                               **{r["as_of"]: _run_line(r) for r in summary["runs"]},
                           }, fmt)
            for reason in summary["reasons"]:
                err.print(escape(reason))
            _print_mlflow(summary)
    raise typer.Exit(result.exit_code)


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


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for everything the demo writes.")],
    customers: Annotated[int, typer.Option(min=100, help="Sample customers.")] = 5000,
    random_state: Annotated[int, typer.Option(help="Seed of the sample CRM's random generator.")] = 0,
    monitor: Annotated[bool, typer.Option(
        "--monitor", help="Also run a year in production after planted drift (a new billing "
                          "system, a cause that stops driving churn) and monitor it: "
                          "production/monitor/monitor.html.")] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Run the whole pipeline on the built-in sample CRM."""
    with _errors():
        with _steps() as progress:
            summary = jobs.demo(out_dir, customers=customers, random_state=random_state,
                                monitor=monitor, progress=progress)
        _print_summary("churnkit demo", summary, fmt)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("Interrupted.")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
