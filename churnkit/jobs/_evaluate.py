"""The evaluate job: a configuration backtested against baselines, its files and model report."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from churnkit._core import Progress, __version__, atomic_write_text, no_progress
from churnkit.config import Config, MlflowConfig, load_config
from churnkit.evaluate import (
    HEADLINE,
    PLAIN_LIGHTGBM,
    EvaluationResult,
    backtest,
    baselines_of,
    write_model_report,
)
from churnkit.jobs._mlflow import log_evaluate, tracker
from churnkit.scoring import write_table

__all__ = ["comparison_columns", "comparison_rows", "evaluate"]

_ROWS = (*HEADLINE, "lift_at_5", "lift_at_20", "emp", "profit_best", "profit_best_depth")


def evaluate(
    config: str | Path | Config,
    *,
    n_folds: int | None = None,
    out_dir: str | Path | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    progress: Progress = no_progress,
    mlflow: bool | MlflowConfig = False,
) -> dict[str, Any]:
    """Backtest a configuration and optionally write its files.

    Parameters
    ----------
    config : path-like or Config
        A YAML configuration file or a loaded configuration.
    n_folds : int, optional
        Snapshot mode: number of folds; event mode: number of newest cutoffs tested.
        Default: the config's ``evaluation`` section (5 folds / 3 cutoffs).
    out_dir : path-like, optional
        Writes ``metrics.json``, ``predictions.csv``, ``folds.csv`` and
        ``model_report.html`` (with global reasons from the newest fold's model).
    tables : mapping of str to DataFrame, optional
        In-memory tables replacing the config's files.
    progress : callable, optional
        Called with a short description before each step.
    mlflow : bool or MlflowConfig, default False
        Logs the run to MLflow (the extra ``churnkit-crm[mlflow]``): the settings,
        the metrics of churnkit (``model.roc_auc``...) and of every baseline
        (``baseline.lightgbm.roc_auc``...), the model report; True: where the
        config's ``mlflow`` section says. Adds ``mlflow`` (experiment, run id,
        tracking URI) to the result.

    Returns
    -------
    dict
        ``config``, ``mode``, then the metrics of :meth:`EvaluationResult.to_json`
        (``roc_auc, pr_auc, log_loss, brier, top_decile_lift, baseline, n,
        positive_rate``...), the baseline rules, ``tuning`` (each fold's model settings,
        trees and search seconds), event mode's ``test_cutoffs`` (pooled
        into the metrics), the plain LightGBM's settings
        (``plain_lightgbm``) and ``files`` when written.
    """
    cfg = config if isinstance(config, Config) else load_config(config)
    target = tracker(mlflow, config=cfg)  # before the work: MLflow missing fails fast
    result = backtest(cfg, tables=tables, n_folds=n_folds, progress=progress)
    summary: dict[str, Any] = {"config": cfg.name, "mode": result.mode,
                               "churnkit_version": __version__}
    summary.update(json.loads(result.to_json()))
    summary["rules"] = list(dict.fromkeys(result.rules))
    if "btyd" in result.folds:
        summary["btyd"] = "; ".join(dict.fromkeys(result.folds["btyd"]))
    summary["tuning"] = {
        "seconds": round(float(result.folds["tune_seconds"].sum()), 2),
        "folds": [{"fold": int(f), "settings": str(st), "trees": int(t) if pd.notna(t) else None,
                   "seconds": round(float(sec), 2)}
                  for f, st, t, sec in zip(result.folds["fold"], result.folds["settings"],
                                           result.folds["trees"], result.folds["tune_seconds"],
                                           strict=True)],
    }
    if "test_cutoff" in result.folds:
        summary["test_cutoffs"] = [str(c.date()) for c in result.folds["test_cutoff"]]
    summary["plain_lightgbm"] = {
        "settings": dict(PLAIN_LIGHTGBM),
        "input": "the raw columns" if result.mode == "snapshot" else "the model's features",
    }
    if out_dir is not None:
        progress("Writing the evaluation files and the model report")
        summary["files"] = {k: str(v) for k, v in _write(result, out_dir).items()}
    if target is not None:
        progress("Logging the run to MLflow")
        summary["mlflow"] = log_evaluate(target, summary, cfg,
                                         write=lambda folder: _write(result, folder))
    return summary


def _write(result: EvaluationResult, out_dir: str | Path) -> dict[str, Path]:
    """Write an evaluation's files and model report to ``out_dir``; return them by kind."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = out / "metrics.json"
    atomic_write_text(metrics, result.to_json() + "\n")
    write_table(result.predictions, out / "predictions.csv")
    folds = result.folds.copy()
    for col in ("train_cutoffs", "validation_cutoffs"):
        if col in folds:
            folds[col] = folds[col].map(" ".join)
    write_table(folds, out / "folds.csv")
    report = write_model_report(result, out, model=result.last_model)
    return {"metrics": metrics, "predictions": out / "predictions.csv",
            "folds": out / "folds.csv", "report": report}


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if key.endswith("depth"):
        return f"{value:.1%}"
    if key.startswith(("emp", "profit")):
        return f"{value:,.0f}"
    return f"{value:.4f}"


def comparison_rows(summary: Mapping[str, Any]) -> list[list[str]]:
    """Rows ``[metric, model, rule, logistic, lightgbm(, btyd)]`` of formatted figures, for a table.

    The baseline columns are :func:`comparison_columns` less ``model``.

    Examples
    --------
    >>> s = {"roc_auc": 0.8, "baseline": {"rule": {"roc_auc": 0.7}, "logistic": {},
    ...                                   "lightgbm": {"roc_auc": 0.79}}}
    >>> comparison_rows(s)
    [['roc_auc', '0.8000', '0.7000', '–', '0.7900']]
    """
    rows = []
    for key in _ROWS:
        if key not in summary:
            continue
        base = [summary["baseline"].get(b, {}).get(key) for b in comparison_columns(summary)[1:]]
        rows.append([key, _cell(key, summary[key]), *(_cell(key, v) for v in base)])
    return rows


def comparison_columns(summary: Mapping[str, Any]) -> list[str]:
    """``model`` then the baselines of an evaluation summary, as :func:`comparison_rows` orders them.

    Examples
    --------
    >>> comparison_columns({"baseline": {"btyd": {}, "rule": {}, "logistic": {}, "lightgbm": {}}})
    ['model', 'rule', 'logistic', 'lightgbm', 'btyd']
    """
    return ["model", *baselines_of(summary["baseline"])]
