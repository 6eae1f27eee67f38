"""From a configuration to a fitted :class:`ChurnModel`: the one fit routine of every training path.

:func:`churnkit.train` and the backtest behind ``churnkit evaluate`` fit with
:func:`fit_model`; the Dask engine trains its booster elsewhere but splits its
rows with the same :func:`~churnkit.model.out_of_time_split` and builds its
model with :func:`model_from_config` and :meth:`ChurnModel.from_booster`. The
purge of training cutoffs whose horizon reaches the validation period is then
the same everywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import __version__
from churnkit.config import Config
from churnkit.exceptions import ModelError
from churnkit.model._model import ChurnModel

__all__ = ["feature_set_of", "fit_model", "model_from_config", "training_summary", "training_window"]


def model_from_config(config: Config) -> ChurnModel:
    """An unfitted :class:`ChurnModel` with the config's model settings."""
    m = config.model
    return ChurnModel(
        n_estimators=m.n_estimators, learning_rate=m.learning_rate, num_leaves=m.num_leaves,
        max_depth=m.max_depth, min_child_samples=m.min_child_samples, subsample=m.subsample,
        colsample_bytree=m.colsample_bytree, reg_lambda=m.reg_lambda,
        class_weight=m.class_weight, early_stopping_rounds=m.early_stopping_rounds,
        calibration=m.calibration, validation_cutoffs=config.labels.validation_cutoffs,
        validation_fraction=m.validation_fraction, random_state=m.random_state, n_jobs=m.n_jobs,
        tune=m.tune, tune_budget_seconds=m.tune_budget_seconds, refit=m.refit,
        final_learning_rate=m.final_learning_rate, final_budget_seconds=m.final_budget_seconds,
    )


def fit_model(config: Config, X: pd.DataFrame, labels: pd.DataFrame, *, purge: bool = True
              ) -> ChurnModel:
    """Fit the config's model on features ``X`` and their label rows.

    Parameters
    ----------
    config : Config
        The configuration (model settings, validation cutoffs, horizon).
    X : DataFrame
        Features, one row per label row.
    labels : DataFrame
        ``customer_id, cutoff, label``, aligned with ``X`` row by row, and optionally
        ``weight`` and ``refit_weight`` (sampled rows, see
        :func:`~churnkit.model.sample_training_rows`).
    purge : bool, default True
        Event data: leave out the training cutoffs whose horizon reaches the validation
        cutoffs. A backtest fold turns it off only when it would leave no training
        cutoff; its rows then all have labels ending by the fold's test cutoff, so the
        overlap touches early stopping and calibration, never the test.

    Returns
    -------
    ChurnModel
        Event data is validated out of time on the newest cutoffs, with the training
        cutoffs whose horizon reaches them purged; snapshot data on a stratified
        random hold-out.
    """
    model = model_from_config(config)
    y = labels["label"].to_numpy(dtype=bool)
    weight = labels["weight"].to_numpy(dtype=float) if "weight" in labels else None
    refit = labels["refit_weight"].to_numpy(dtype=float) if "refit_weight" in labels else None
    if config.data.snapshot is not None:
        return model.fit(X, y, sample_weight=weight)
    return model.fit(X, y, cutoffs=labels["cutoff"].reset_index(drop=True),
                     horizon_days=config.labels.horizon_days if purge else None,
                     sample_weight=weight, refit_weight=refit)


def training_window(
    cutoffs: Any, *, mode: str, rows: int, positive_rate: float, end: pd.Timestamp,
    customers: int | None = None, **extra: Any,
) -> dict[str, Any]:
    """What a model was trained on: mode, rows, churn rate, cutoffs and end of the data."""
    cut = pd.DatetimeIndex(np.unique(np.asarray(cutoffs, dtype="datetime64[ns]")))
    out: dict[str, Any] = {"mode": mode, "rows": int(rows)}
    if customers is not None:
        out["customers"] = int(customers)
    out.update(positive_rate=float(positive_rate), first_cutoff=str(cut.min().date()),
               last_cutoff=str(cut.max().date()), n_cutoffs=len(cut), data_end=str(end.date()),
               **extra)
    return out


def training_summary(
    model: ChurnModel, *, feature_set: Any, config: Config, training: dict[str, Any],
    rejects: int | None = None,
) -> dict[str, Any]:
    """Attach what scoring needs to a fitted model and return the summary of its training.

    Every training path ends here: the model keeps its feature set
    (``feature_set_``), its configuration (``config_``) and its training window
    (``training_``), which :meth:`ChurnModel.save` writes to the manifest.
    """
    model.feature_set_ = feature_set
    model.config_ = config.model_dump(mode="json", exclude={"base_dir"})
    tuning = getattr(model, "tuning_", None)
    if tuning:
        training = {**training, "tuning": tuning}  # written to the manifest with the window
    model.training_ = training
    summary = {**training, "features": len(model.feature_names_in_),
               "validation": {k: round(v, 4) for k, v in model.metrics_.items()}}
    if rejects is not None:
        summary["rejects"] = rejects
    summary["model_version"] = model.version_
    summary["churnkit_version"] = __version__
    return summary


def feature_set_of(model: Any) -> Any:
    """The :class:`~churnkit.features.FeatureSet` a model was trained with, or a clear error."""
    fs = getattr(model, "feature_set_", None)
    if fs is None:
        raise ModelError(
            "This model has no feature set: train it with churnkit.train (or 'churnkit train')."
        )
    return fs
