"""The train job: from a configuration to a fitted model, on one machine or a Dask cluster."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from churnkit._core import Progress, no_progress
from churnkit.config import Config, MlflowConfig
from churnkit.data import Dataset, load_dataset
from churnkit.exceptions import ConfigError
from churnkit.explain import load_reasons
from churnkit.features import feature_set, transform_in_blocks
from churnkit.jobs._mlflow import log_train, tracker
from churnkit.labels import labels_from_config
from churnkit.model import (
    ChurnModel,
    attach_training_profile,
    fit_model,
    sample_training_rows,
    save_model,
    training_summary,
    training_window,
)
from churnkit.scoring import train_dask

__all__ = ["TrainResult", "train"]


@dataclass
class TrainResult:
    """What :func:`train` produced, on every engine.

    Attributes
    ----------
    model : ChurnModel
        The fitted model, with its feature set, config and training window.
    summary : dict
        Training window, rows, features, validation metrics, model version.
    dataset : Dataset or None
        The validated tables (local engine only).
    labels : DataFrame or None
        The label rows ``customer_id, cutoff, label`` (local engine only).
    """

    model: ChurnModel
    summary: dict[str, Any]
    dataset: Dataset | None = None
    labels: pd.DataFrame | None = None

    def write(self, out: str | Path) -> Path:
        """Save the model to the folder ``out`` with its manifest (see :meth:`ChurnModel.save`)."""
        return save_model(self.model, out, config=self.model.config_, training=self.model.training_)


def train(
    config: Config,
    *,
    tables: Mapping[str, pd.DataFrame] | None = None,
    engine: Literal["local", "dask"] = "local",
    scheduler: Any = None,
    partitions: int | None = None,
    progress: Progress = no_progress,
    out_dir: str | Path | None = None,
    mlflow: bool | MlflowConfig = False,
) -> TrainResult:
    """Load the data, label it, build features and fit the model.

    Parameters
    ----------
    config : Config
        The configuration.
    tables : mapping of str to DataFrame, optional
        In-memory tables replacing the config's files (local engine).
    engine : {"local", "dask"}, default "local"
        ``local``: all in memory; ``dask``: features per partition of customers and
        ``lightgbm.dask`` on a Dask cluster (see :func:`churnkit.scoring.train_dask`).
    scheduler, partitions
        Dask engine: the scheduler (address or ``Client``; default a local cluster)
        and the number of partitions of customers.
    progress : callable, optional
        Called with a short description before each step.
    out_dir : path-like, optional
        Saves the model to this folder (as :meth:`TrainResult.write`).
    mlflow : bool or MlflowConfig, default False
        Logs the run to MLflow (the extra ``churnkit-crm[mlflow]``): the labels,
        features and model settings, the training window, the validation metrics,
        the model folder; True: where the config's ``mlflow`` section says. The
        summary then gets ``mlflow`` (experiment, run id, tracking URI).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> import churnkit as ck
    >>> from churnkit._core import builtin_config
    >>> crm = ck.datasets.make_crm(600, random_state=0)
    >>> result = ck.train(ck.load_config(builtin_config("default.yaml")), tables=crm.tables)
    >>> result.summary["features"] > 100, result.model.metrics_["roc_auc"] > 0.6
    (True, True)
    """
    target = tracker(mlflow, config=config)  # before the work: MLflow missing fails fast
    result = _train(config, tables=tables, engine=engine, scheduler=scheduler,
                    partitions=partitions, progress=progress)
    if out_dir is not None:
        progress("Saving the model")
        result.write(out_dir)
    if target is not None:
        progress("Logging the run to MLflow")
        result.summary["mlflow"] = log_train(target, result.summary, config, model_dir=out_dir,
                                             save=result.write)
    return result


def _train(config: Config, *, tables: Mapping[str, pd.DataFrame] | None,
           engine: Literal["local", "dask"], scheduler: Any, partitions: int | None,
           progress: Progress) -> TrainResult:
    if engine == "dask":
        if tables is not None:
            raise ConfigError("The Dask engine reads the config's files; 'tables' is for 'local'.")
        model, summary = train_dask(config, scheduler=scheduler, partitions=partitions,
                                    progress=progress)
        model.reasons_ = _reasons(config)
        return TrainResult(model, summary)
    if engine != "local":
        raise ConfigError(f"engine: {engine!r} is not a training engine. Use 'local' or 'dask'.")
    progress("Loading and validating tables")
    dataset = load_dataset(config, tables)
    progress("Labelling customers at each cutoff")
    labels = labels_from_config(dataset, config.labels)
    rows, sampling = labels, None
    if dataset.mode != "snapshot":
        rows, sampling = sample_training_rows(
            labels, max_rows=config.model.max_training_rows,
            validation_cutoffs=config.labels.validation_cutoffs,
            random_state=config.model.random_state)
    progress(f"Building features for {len(rows):,} rows")
    spine = rows[["customer_id", "cutoff"]]
    fs = feature_set(config.features).fit(dataset, spine)
    X = transform_in_blocks(fs, dataset, spine)
    progress(f"Training LightGBM on {X.shape[1]} features")
    model = fit_model(config, X, rows)
    progress("Profiling the training data for drift monitoring")
    # from the validation cutoffs, which are never sampled
    attach_training_profile(
        model, X, None if dataset.label is not None else rows["cutoff"],
        validation_cutoffs=config.labels.validation_cutoffs, bins=config.monitor.bins)
    del X
    extra = {} if sampling is None or not sampling["sampled"] else {"sampling": sampling}
    training = training_window(
        labels["cutoff"], mode=dataset.mode, rows=len(labels), end=dataset.end,
        positive_rate=float(labels["label"].mean()), customers=labels["customer_id"].nunique(),
        rows_used=len(rows), **extra)
    summary = training_summary(model, feature_set=fs, config=config, training=training,
                               rejects=len(dataset.rejects))
    model.reasons_ = _reasons(config)
    return TrainResult(model, summary, dataset, labels)


def _reasons(config: Config) -> dict[str, Any]:
    """The reason groups of the configuration, as saved with the model (``reasons.json``)."""
    return load_reasons(config.resolve(config.scoring.reasons)).model_dump(mode="json")
