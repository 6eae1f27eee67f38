"""The ``churnkit`` command line: thin wrappers over the Python API.

Exit codes: 0 success, 1 data or configuration error (one clear message; the
traceback only with ``--debug``), 2 usage error.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from churnkit.exceptions import ChurnkitError

app = typer.Typer(
    name="churnkit",
    help="Predict which customers will leave, explain why, and tell their owners what to do.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False)
_STATE = {"debug": False}


class Format(StrEnum):
    """Output format of summaries."""

    table = "table"
    json = "json"


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    _STATE["debug"] = debug


def _fail(exc: BaseException) -> None:
    if _STATE["debug"]:
        err.print_exception()
    kind = type(exc).__name__
    err.print(f"[bold red]Error[/] ({kind}): {escape(str(exc))}")
    raise typer.Exit(1)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except ChurnkitError as exc:
        _fail(exc)
    except (ValueError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        _fail(exc)


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
            err.log(f"{message}…") if _STATE["debug"] else None
            status.update(f"{message}…  [dim]{time.perf_counter() - start:.0f}s[/]")

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
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, float):
            value = f"{value:,.4f}" if abs(value) < 10 else f"{value:,.0f}"
        table.add_row(key.replace("_", " "), str(value))
    out.print(table)


ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="YAML configuration file.")]
FormatOpt = Annotated[Format, typer.Option("--format", help="Summary format.")]


@app.command()
def validate(config: ConfigOpt, fmt: FormatOpt = Format.table,
             rejects: Annotated[Path | None, typer.Option(help="Write rejected rows here.")] = None
             ) -> None:
    """Check a configuration and its tables; report every problem found."""
    from churnkit import load_config, load_dataset
    from churnkit.pipeline import write_table

    with _errors():
        cfg = load_config(config)
        with _steps() as progress:
            progress("Loading and validating tables")
            ds = load_dataset(cfg)
        summary = ds.summary()
        if rejects is not None:
            write_table(ds.rejects, rejects)
            summary["rejects_file"] = str(rejects)
        _print_summary(f"{config}: valid", summary, fmt)
        if len(ds.rejects):
            top = ds.rejects.groupby(["table", "reason"]).size().sort_values(ascending=False)
            for (table, reason), n in top.head(10).items():
                err.print(f"[yellow]{n:,} row(s) of {table}[/]: {escape(reason)}")


class Engine(StrEnum):
    """Where scoring runs."""

    local = "local"
    chunked = "chunked"
    dask = "dask"


class TrainEngine(StrEnum):
    """Where training runs."""

    local = "local"
    dask = "dask"


SchedulerOpt = Annotated[str | None, typer.Option(
    help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local cluster).")]


@app.command()
def train(config: ConfigOpt,
          out_dir: Annotated[Path, typer.Option("--out", help="Model folder to write.")],
          engine: Annotated[TrainEngine, typer.Option(
              help="local: in memory; dask: features per partition of customers and "
                   "lightgbm.dask on a Dask cluster.")] = TrainEngine.local,
          scheduler: SchedulerOpt = None,
          partitions: Annotated[int | None, typer.Option(
              min=1, help="Partitions of customers (dask; default 2 per worker thread).")] = None,
          fmt: FormatOpt = Format.table) -> None:
    """Train a churn model and save it with its manifest."""
    from churnkit import load_config
    from churnkit import train as train_job

    with _errors():
        cfg = load_config(config)
        with _steps() as progress:
            if engine is TrainEngine.dask:
                from churnkit.scoring import train_dask

                result = train_dask(cfg, scheduler=scheduler, npartitions=partitions,
                                    progress=progress)
            else:
                result = train_job(cfg, progress=progress)
            progress("Saving the model")
            result.model.save(out_dir, config=result.model.config_, training=result.model.training_)
        _print_summary(f"Trained {cfg.name} → {out_dir}", result.summary, fmt)


@app.command()
def score(config: ConfigOpt,
          model: Annotated[Path, typer.Option(help="Model folder written by 'churnkit train'.")],
          out_file: Annotated[Path, typer.Option(
              "--out", help="Scores file (.csv or .parquet); with --engine dask, a folder.")],
          as_of: Annotated[
              str | None, typer.Option(help="Score as of this date (default: end of data).")
          ] = None,
          rejects: Annotated[Path | None, typer.Option(help="Rejects file (default: beside --out).")] = None,
          engine: Annotated[Engine, typer.Option(
              help="local: all tables in memory; chunked: a chunk of customers at a time; "
                   "dask: on a Dask cluster (part files under --out).")] = Engine.local,
          scheduler: SchedulerOpt = None,
          partitions: Annotated[int | None, typer.Option(
              min=1, help="Partitions of customers (dask; default 2 per worker thread) or "
                          "chunks (chunked; default 8).")] = None,
          fmt: FormatOpt = Format.table) -> None:
    """Score every active customer as of a date."""
    from churnkit import load_config, load_model
    from churnkit import score as score_job
    from churnkit.pipeline import write_table

    with _errors():
        cfg = load_config(config)
        fitted = load_model(model)
        if engine is Engine.dask:
            from churnkit.scoring import score_dask

            with _steps() as progress:
                summary = score_dask(cfg, fitted, out_dir=out_file, as_of=as_of,
                                     scheduler=scheduler, npartitions=partitions,
                                     progress=progress)
            shown = {k: v for k, v in summary.items() if k not in {"scores", "rejects"}}
            _print_summary(f"Scored → {out_file}", {**shown, "parts": len(summary["scores"])}, fmt)
            return
        with _steps() as progress:
            if engine is Engine.chunked:
                from churnkit.scoring import score_chunked

                result = score_chunked(cfg, fitted, as_of=as_of, n_chunks=partitions or 8,
                                       progress=progress)
            else:
                result = score_job(cfg, fitted, as_of=as_of, progress=progress)
            progress("Writing outputs")
            write_table(result.scores, out_file)
            rej = rejects or out_file.with_name(f"rejects{out_file.suffix}")
            write_table(result.rejects, rej)
        _print_summary(f"Scored → {out_file}", {**result.summary, "rejects_file": str(rej)}, fmt)


def _read_scores(path: Path) -> Any:
    import pandas as pd

    from churnkit.exceptions import SchemaError

    if path.is_dir():  # the scores/ folder of part files written by --engine dask
        return pd.read_parquet(path)
    if not path.is_file():
        raise SchemaError(f"Scores file {str(path)!r} does not exist. Write one with 'churnkit score'.")
    if path.suffix.lower() in {".parquet", ".pq"}:
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"customer_id": str, "account_manager": str})


def _write_lists(scores: Any, out_dir: Path, currency: str, min_band: str | None) -> dict[str, Any]:
    from churnkit.actions import at_risk_from_scores
    from churnkit.report import write_at_risk_lists

    at_risk = at_risk_from_scores(scores, min_band=min_band)
    paths = write_at_risk_lists(at_risk, out_dir, currency=currency)
    managers = at_risk["account_manager"].nunique()
    return {"at_risk_customers": len(at_risk), "account_managers": managers,
            "at_risk_csv": str(paths["csv"]), "at_risk_xlsx": str(paths["xlsx"]),
            "at_risk_html": str(paths["html_index"])}


@app.command()
def report(
    scores: Annotated[Path, typer.Option(help="Scores file written by 'churnkit score'.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the at-risk lists.")],
    min_band: Annotated[
        str | None, typer.Option(help="Only this risk band and riskier, e.g. medium.")
    ] = None,
    currency: Annotated[str, typer.Option(help="Currency symbol for values.")] = "",
    fmt: FormatOpt = Format.table,
) -> None:
    """Write at-risk lists per account manager (CSV, one XLSX sheet each, HTML pages)."""
    with _errors():
        summary = _write_lists(_read_scores(scores), out_dir, currency, min_band)
        _print_summary(f"At-risk lists → {out_dir}", summary, fmt)


@app.command()
def explain(
    config: ConfigOpt,
    model: Annotated[Path, typer.Option(help="Model folder written by 'churnkit train'.")],
    customer: Annotated[str, typer.Option(help="The customer id to explain.")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write waterfall PNG, CSV, HTML.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Explain as of this date (default: end of data).")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Explain one customer's score: top reasons and a SHAP waterfall."""
    from churnkit import load_config, load_dataset, load_model
    from churnkit.explain import (
        customer_features,
        explain_customer,
        load_reasons,
        write_customer_explanation,
    )

    with _errors():
        cfg = load_config(config)
        fitted = load_model(model)
        with _steps() as progress:
            progress("Loading and validating tables")
            ds = load_dataset(cfg)
            progress(f"Explaining customer {customer}")
            X = customer_features(fitted, ds, customer, as_of=as_of)
            expl = explain_customer(fitted, X, reasons=load_reasons(cfg.resolve(cfg.scoring.reasons)))
            paths = write_customer_explanation(expl, out_dir) if out_dir is not None else {}
        if fmt is Format.json:
            out.print_json(json.dumps({
                "customer_id": customer, "churn_probability": expl.probability,
                "reasons": expl.reasons["reason"].tolist(), "files": {k: str(v) for k, v in paths.items()},
                "contributions": expl.table.head(10).to_dict(orient="records"),
            }, default=str))
            return
        out.print(expl.to_markdown(), markup=False)
        for name, path in paths.items():
            err.print(f"{name}: {path}")


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
) -> None:
    """Backtest a configuration against a one-feature rule and a logistic regression."""
    from churnkit.evaluate import comparison_rows, run_evaluation

    with _errors():
        with _steps() as progress:
            summary = run_evaluation(config, cv=cv, out_dir=out_dir, progress=progress)
        if fmt is Format.json:
            out.print_json(json.dumps(summary, default=str))
            return
        kind = "cross-validation" if summary["mode"] == "snapshot" else "out-of-time backtest"
        table = Table(title=f"{config}: {kind}, {int(summary['folds'])} folds, "
                            f"{int(summary['n']):,} test rows, churn rate "
                            f"{summary['positive_rate']:.1%}", title_justify="left")
        table.add_column("metric", style="bold")
        for name in ("model", "rule", "logistic"):
            table.add_column(name, justify="right")
        for row in comparison_rows(summary):
            table.add_row(*row)
        out.print(table)
        err.print(f"rule: {escape('; '.join(summary['rules']))}")
        if out_dir is not None:
            err.print(f"Wrote {escape(summary['files']['report'])}")


class Period(StrEnum):
    """Retention period."""

    M = "M"
    Q = "Q"
    Y = "Y"


@app.command()
def retention(
    config: ConfigOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for retention.html and CSVs.")],
    period: Annotated[Period | None, typer.Option(help="M, Q or Y (default: the config's).")] = None,
    by: Annotated[list[str] | None, typer.Option(help="Customer column to break down by.")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Measure retention: CRR, churn rate, cohorts, value and lifetime value by segment."""
    from churnkit import load_config
    from churnkit.pipeline import retention as retention_job

    with _errors():
        cfg = load_config(config)
        with _steps() as progress:
            progress("Computing retention figures")
            summary = retention_job(cfg, out_dir, period=period.value if period else None, by=by)
        summary.pop("files", None)
        _print_summary(f"Retention → {out_dir}", summary, fmt)


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for everything the demo writes.")],
    customers: Annotated[int, typer.Option(min=100, help="Sample customers.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed of the sample CRM.")] = 0,
    fmt: FormatOpt = Format.table,
) -> None:
    """Run the whole pipeline on the built-in sample CRM."""
    from churnkit import load_config
    from churnkit import score as score_job
    from churnkit import train as train_job
    from churnkit._resources import builtin_config
    from churnkit.datasets import make_crm
    from churnkit.pipeline import retention as retention_job
    from churnkit.pipeline import write_table

    with _errors():
        start = time.perf_counter()
        out_dir.mkdir(parents=True, exist_ok=True)
        with _steps() as progress:
            progress(f"Generating the sample CRM ({customers:,} customers)")
            crm = make_crm(customers, seed=seed)
            crm.write(out_dir / "data", format="csv")
            cfg_path = out_dir / "config.yaml"
            shutil.copyfile(builtin_config("default.yaml"), cfg_path)
            cfg = load_config(cfg_path)
            trained = train_job(cfg, progress=progress)
            progress("Saving the model")
            trained.model.save(out_dir / "model", config=trained.model.config_,
                               training=trained.model.training_)
            scored = score_job(cfg, trained.model, progress=progress)
            progress("Writing outputs")
            write_table(scored.scores, out_dir / "scores.csv")
            write_table(scored.rejects, out_dir / "rejects.csv")
            progress("Writing at-risk lists per account manager")
            lists = _write_lists(scored.scores, out_dir, cfg.scoring.currency, "medium")
            progress("Measuring retention")
            ret = retention_job(cfg, out_dir / "retention", dataset=scored.dataset)
        metrics = trained.summary["validation"]
        summary = {
            "customers": len(crm.customers),
            "training_rows": trained.summary["rows"],
            "cutoffs": f"{trained.summary['first_cutoff']} .. {trained.summary['last_cutoff']}",
            "features": trained.summary["features"],
            "validation_roc_auc": metrics.get("roc_auc"),
            "validation_pr_auc": metrics.get("pr_auc"),
            "top_decile_lift": metrics.get("top_decile_lift"),
            "scored": scored.summary["scored"],
            "risk_bands": scored.summary["risk_bands"],
            "value_at_risk": scored.summary["value_at_risk"],
            "retention_rate_last_month": f"{ret['crr']:.1f}% (annualised churn "
                                         f"{ret['churn_rate_annualised']:.0%})",
            "at_risk_listed": f"{lists['at_risk_customers']:,} customers, "
                              f"{lists['account_managers']} account managers",
            "output": str(out_dir),
            "seconds": round(time.perf_counter() - start, 1),
        }
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
