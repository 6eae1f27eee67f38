"""The churn model: training, calibration, explanation and saved artifacts."""

from churnkit.model._artifacts import load_manifest, load_model, save_model
from churnkit.model._model import ChurnModel, classification_metrics

__all__ = ["ChurnModel", "classification_metrics", "load_manifest", "load_model", "save_model"]
