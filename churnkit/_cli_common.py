"""What every ``churnkit`` command shares: consoles, error handling, progress, options.

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

from churnkit._core import cap_text, resolve_as_of
from churnkit.config import Config, MlflowConfig
from churnkit.exceptions import ChurnkitError

__all__ = [
    "STATE",
    "AsOfOpt",
    "ConfigOpt",
    "Format",
    "FormatOpt",
    "MlflowOpt",
    "MlflowUriOpt",
    "ModelOpt",
    "PartitionsOpt",
    "SchedulerOpt",
    "TrustPickleOpt",
    "err",
    "errors",
    "mlflow_setting",
    "out",
    "print_mlflow",
    "print_summary",
    "steps",
]

# no emoji codes: a path or column named like ':x:' is shown as written
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
out = Console(highlight=False, emoji=False)
STATE = {"debug": False}
"""``debug``: set by ``churnkit --debug``, shows tracebacks on errors."""


class Format(StrEnum):
    """Output format of summaries."""

    table = "table"
    json = "json"


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
    if STATE["debug"]:
        err.print_exception()
    kind = type(exc).__name__
    err.print(f"[bold red]Error[/] ({kind}): {escape(_message(exc))}")
    raise typer.Exit(1)


@contextmanager
def errors() -> Iterator[None]:
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
def steps() -> Iterator[Callable[[str], None]]:
    """A status line on stderr that each pipeline step updates.

    While the steps run, whatever libraries print (LightGBM, Dask workers
    started meanwhile) goes to stderr too, so that stdout carries only the
    summary, e.g. the JSON of ``--format json``.
    """
    start = time.perf_counter()
    with _stdout_to_stderr(), err.status("Starting") as status:

        def progress(message: str) -> None:
            err.log(f"{escape(message)}…") if STATE["debug"] else None
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


def print_summary(title: str, summary: dict[str, Any], fmt: Format) -> None:
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


def mlflow_setting(on: bool, uri: str | None, cfg: Config | None) -> bool | MlflowConfig:
    """The jobs' ``mlflow`` argument from ``--mlflow`` and ``--mlflow-uri``."""
    if uri is None:
        return on
    settings = cfg.mlflow if cfg is not None else MlflowConfig()
    return settings.model_copy(update={"tracking_uri": uri})


def print_mlflow(summary: dict[str, Any]) -> None:
    if "mlflow" in summary:
        logged = summary["mlflow"]
        err.print(f"MLflow: run {escape(logged['run_id'])} of experiment "
                  f"{escape(repr(logged['experiment']))} at {escape(logged['tracking_uri'])}")


