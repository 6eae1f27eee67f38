"""The ``churnkit`` command line: thin wrappers over the Python API.

This module holds the app and the commands of the pipeline (``validate``,
``train``, ``score``, ``report``, ``explain``, ``evaluate``, ``retention``,
``demo``); :mod:`churnkit._cli_loop` adds those that follow the lists out
(``rank``, ``impact``, ``monitor``) and :mod:`churnkit._cli_common` holds what
they all share.

Exit codes: 0 success, 1 data or configuration error (one clear message; the
traceback only with ``--debug``), 2 usage error.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from churnkit import jobs
from churnkit._cli_common import (
    STATE,
    AsOfOpt,
    ConfigOpt,
    Format,
    FormatOpt,
    MlflowOpt,
    MlflowUriOpt,
    ModelOpt,
    PartitionsOpt,
    SchedulerOpt,
    TrustPickleOpt,
    err,
    errors,
    mlflow_setting,
    out,
    print_mlflow,
    print_summary,
    steps,
)
from churnkit._cli_loop import add_commands
from churnkit._core import __version__, check_table_path, run_lock
from churnkit.config import load_config
from churnkit.data import load_dataset
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
    STATE["debug"] = debug


def _print_population(population: Any) -> None:
    """The label population: rows and churn rate per cutoff."""
    table = Table(title="Label population (customers active at each cutoff, churned in the "
                        "horizon)", title_justify="left")
    for col in ("cutoff", "rows", "churned", "churn rate"):
        table.add_column(col, justify="left" if col == "cutoff" else "right")
    for row in population.itertuples(index=False):
        table.add_row(row.cutoff, f"{row.rows:,}", f"{row.churned:,}", f"{row.churn_rate:.1%}")
    out.print(table)


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
    with errors():
        if rejects is not None:
            check_table_path(rejects, option="--rejects")
        cfg = load_config(config)
        with steps() as progress:
            progress("Loading and validating tables")
            ds = load_dataset(cfg)
        summary = ds.summary()
        population = label_population(labels_from_config(ds, cfg.labels))
        summary["labels"] = population.to_dict("records")
        if rejects is not None:
            summary["rejects_file"] = str(write_table(ds.rejects, rejects))
        print_summary(f"{config}: valid", {k: v for k, v in summary.items() if k != "labels"}
                       if fmt is not Format.json else summary, fmt)
        if fmt is not Format.json:
            _print_population(population)
        top = ds.rejects.groupby(["table", "reason"]).size().sort_values(ascending=False).head(10)
        for key, n in zip(top.index, top.to_numpy(), strict=True):
            err.print(f"[yellow]{n:,} row(s) of {escape(str(key[0]))}[/]: {escape(str(key[1]))}")


_UpliftOpt = Annotated[bool, typer.Option(
    "--uplift", help="Train the uplift model (who contact saves) from finished "
                     "runs with a control group instead of the churn model.")]
_AssignmentsOpt = Annotated[list[Path] | None, typer.Option(
    help="--uplift: assignments.csv of a finished run (repeat); default: the "
         "config's uplift.assignments.")]


@app.command()
def train(config: ConfigOpt,
          out_dir: Annotated[Path, typer.Option("--out", help="Model folder to write.")],
          engine: Annotated[TrainEngine, typer.Option(
              help="local: in memory; dask: features per partition of customers and "
                   "lightgbm.dask on a Dask cluster.")] = TrainEngine.local,
          scheduler: SchedulerOpt = None, partitions: PartitionsOpt = None,
          uplift: _UpliftOpt = False, assignments: _AssignmentsOpt = None,
          fmt: FormatOpt = Format.table, mlflow: MlflowOpt = False,
          mlflow_uri: MlflowUriOpt = None) -> None:
    """Train a churn model and save it with its manifest (signed if CHURNKIT_MODEL_KEY is set)."""
    with errors():
        if uplift:
            _train_uplift(config, assignments, out_dir, fmt, logged=mlflow or mlflow_uri is not None)
            return
        cfg = load_config(config)
        with steps() as progress:
            result = jobs.train(cfg, engine=engine.value, scheduler=scheduler,
                                partitions=partitions, progress=progress, out_dir=out_dir,
                                mlflow=mlflow_setting(mlflow, mlflow_uri, cfg))
        print_summary(f"Trained {cfg.name} → {out_dir}", result.summary, fmt)


def _train_uplift(config: Path, assignments: list[Path] | None, out_dir: Path, fmt: Format, *,
                  logged: bool) -> None:
    """``train --uplift``: fit the uplift model on finished runs with a control group, save it.

    ``logged`` (--mlflow or --mlflow-uri given) is a usage error: the uplift model is not logged.
    """
    if logged:
        raise typer.BadParameter("logs the churn model's training; the uplift model's "
                                 "is not logged. Leave out --mlflow with --uplift.",
                                 param_hint="--mlflow")
    cfg = load_config(config)
    with steps() as progress:
        fitted = jobs.train_uplift(cfg, assignments, progress=progress)
        progress("Saving the uplift model")
        fitted.write(out_dir)
    print_summary(f"Trained the uplift model of {cfg.name} → {out_dir}", _flat(fitted.summary), fmt)


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
    with errors():
        # the output names are checked, and the folders locked, before minutes of scoring
        folders = [out_file] if engine is Engine.dask else [
            p.parent for p in score_paths(out_file, rejects)]
        cfg, fitted = load_config(config), load_model(model, trust_pickle=trust_pickle)
        with run_lock(*folders, command="churnkit score"), steps() as progress:
            result = jobs.score(cfg, fitted, as_of=as_of, engine=engine.value, partitions=partitions,
                                scheduler=scheduler, out_dir=out_file, progress=progress)
            progress("Writing outputs")
            files = result.write(out_file, rejects=rejects)
        print_summary(f"Scored → {out_file}", {**result.summary, "rejects_file": str(files["rejects"])},
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
    random_state: Annotated[int, typer.Option(min=0, help="Seed of the holdout draw.")] = 0,
    fmt: FormatOpt = Format.table,
    seed: Annotated[int | None, typer.Option(
        min=0, hidden=True, help="Deprecated name of --random-state.")] = None,
) -> None:
    """Write at-risk lists per account manager (CSV, one XLSX sheet each, HTML pages)."""
    with errors():
        summary = jobs.report(scores, out_dir, min_band=min_band, currency=currency, holdout=holdout,
                              random_state=_renamed("--seed", seed, "--random-state", random_state))
        print_summary(f"At-risk lists → {out_dir}", summary, fmt)


def _renamed(old: str, value: int | None, new: str, default: int) -> int:
    """The value of a deprecated option, with a note to use its new name; else the new one's."""
    if value is None:
        return default
    err.print(f"[yellow]{old} is deprecated[/]: use {new}.")
    return value


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
    with errors():
        cfg, fitted = load_config(config), load_model(model, trust_pickle=trust_pickle)
        with steps() as progress:
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
    with errors():
        with steps() as progress:
            cfg = load_config(config)
            summary = jobs.evaluate(cfg, n_folds=cv, out_dir=out_dir, progress=progress,
                                    mlflow=mlflow_setting(mlflow, mlflow_uri, cfg))
        _print_evaluation(config, summary, fmt, wrote_report=out_dir is not None)


def _print_evaluation(config: Path, summary: dict[str, Any], fmt: Format, *,
                      wrote_report: bool) -> None:
    """The backtest: JSON, or the comparison table and its notes (on stderr)."""
    if fmt is Format.json:
        out.print_json(json.dumps(summary, default=str))
        return
    out.print(_comparison_table(config, summary))
    _print_contenders(summary)
    if wrote_report:
        err.print(f"Wrote {escape(summary['files']['report'])}")
    print_mlflow(summary)


def _comparison_table(config: Path, summary: dict[str, Any]) -> Table:
    """Every metric of the model and of each baseline, one column each."""
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
    return table


def _print_contenders(summary: dict[str, Any]) -> None:
    """What each column of the comparison is: the rule, BTYD, the model's settings, plain LightGBM."""
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
    with errors():
        cfg = load_config(config)
        with steps() as progress:
            progress("Computing retention figures")
            summary = jobs.retention(cfg, out_dir, period=period.value if period else None, by=by)
        summary.pop("files", None)
        print_summary(f"Retention → {out_dir}", summary, fmt)


# the commands after the lists go out: rank, impact, monitor
add_commands(app)


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
    with errors():
        with steps() as progress:
            summary = jobs.demo(out_dir, n_customers=customers, random_state=random_state,
                                monitor=monitor, progress=progress)
        print_summary("churnkit demo", summary, fmt)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("Interrupted.")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
