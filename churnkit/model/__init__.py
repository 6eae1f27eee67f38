"""The churn model: training, calibration, metrics, explanation and saved artifacts."""

from churnkit.model._artifacts import load_manifest, load_model, save_model
from churnkit.model._fit import (
    feature_set_of,
    fit_model,
    model_from_config,
    training_summary,
    training_window,
)
from churnkit.model._metrics import (
    TOP_SHARES,
    calibration_table,
    check_scores,
    classification_metrics,
    cumulative_gains,
    lift_at,
    sorted_cumulative,
)
from churnkit.model._model import ChurnModel
from churnkit.model._profile import (
    PROFILE_FORMAT,
    add_counts,
    attach_training_profile,
    profile_counts,
    training_profile,
)
from churnkit.model._rows import horizon_ends_by, out_of_time_split
from churnkit.model._sample import non_churner_rate, sample_training_rows, sampling_rates
from churnkit.model._treeshap import TreeExplainer, UnsupportedModelError
from churnkit.model._tune import final_rate, search_capacity

__all__ = [
    "PROFILE_FORMAT",
    "TOP_SHARES",
    "ChurnModel",
    "TreeExplainer",
    "UnsupportedModelError",
    "add_counts",
    "attach_training_profile",
    "calibration_table",
    "check_scores",
    "classification_metrics",
    "cumulative_gains",
    "feature_set_of",
    "final_rate",
    "fit_model",
    "lift_at",
    "load_manifest",
    "load_model",
    "model_from_config",
    "non_churner_rate",
    "horizon_ends_by",
    "out_of_time_split",
    "profile_counts",
    "sample_training_rows",
    "sampling_rates",
    "save_model",
    "search_capacity",
    "sorted_cumulative",
    "training_profile",
    "training_summary",
    "training_window",
]
