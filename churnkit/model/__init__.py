"""The churn model: training, calibration, metrics, explanation and saved artifacts."""

from churnkit.model._artifacts import load_manifest, load_model, save_model
from churnkit.model._fit import fit_model, model_from_config, training_summary, training_window
from churnkit.model._metrics import (
    TOP_SHARES,
    calibration_table,
    check_scores,
    classification_metrics,
    cumulative_gains,
    lift_at,
    sorted_cumulative,
)
from churnkit.model._model import ChurnModel, out_of_time_split

__all__ = [
    "TOP_SHARES",
    "ChurnModel",
    "calibration_table",
    "check_scores",
    "classification_metrics",
    "cumulative_gains",
    "fit_model",
    "lift_at",
    "load_manifest",
    "load_model",
    "model_from_config",
    "out_of_time_split",
    "save_model",
    "sorted_cumulative",
    "training_summary",
    "training_window",
]
