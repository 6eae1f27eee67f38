"""The monitor job: drift and realised performance of past scoring runs, written to a folder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from churnkit._core import Progress, no_progress
from churnkit.config import Config, MlflowConfig
from churnkit.data import Dataset
from churnkit.jobs._mlflow import log_monitor, tracker
from churnkit.monitoring import MonitorResult
from churnkit.monitoring import monitor as monitor_runs

__all__ = ["monitor"]


def monitor(
    model: Any,
    runs: Sequence[str | Path],
    *,
    config: Config | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    dataset: Dataset | None = None,
    out_dir: str | Path | None = None,
    progress: Progress = no_progress,
    mlflow: bool | MlflowConfig = False,
) -> MonitorResult:
    """Monitor scoring runs of ``model`` and write ``monitor.html`` and friends to ``out_dir``.

    See :func:`churnkit.monitoring.monitor` (``dataset``: tables already loaded,
    instead of the config's); with ``out_dir`` the result is also
    written there (``monitor.json``, ``drift.csv``, ``performance.csv``,
    ``monitor.html``) and the summary gets ``files``. With ``mlflow`` (True:
    where the config's ``mlflow`` section says; the extra ``churnkit-crm[mlflow]``)
    the result is logged as an MLflow run, one step per scoring run (score PSI,
    worst feature PSI, realised ROC-AUC and ECE where known), the status and
    exit code as tags, the files as artifacts; the summary gets ``mlflow``.

    Examples
    --------
    >>> from churnkit.jobs import monitor
    >>> callable(monitor)
    True
    """
    name = config.name if config is not None else (getattr(model, "config_", None) or {}).get("name")
    target = tracker(mlflow, config=config, name=name)  # before the work: fails fast
    progress(f"Comparing {len(runs)} run folder(s) with the training data")
    result = monitor_runs(model, runs, config=config, tables=tables, dataset=dataset)
    if out_dir is not None:
        progress("Writing the monitoring report")
        files = result.write(out_dir)
        result.summary["files"] = {k: str(v) for k, v in files.items()}
    if target is not None:
        progress("Logging the run to MLflow")
        result.summary["mlflow"] = log_monitor(target, result)
    return result
