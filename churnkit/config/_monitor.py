"""The ``monitor`` and ``mlflow`` sections: watching a model in production, logging its runs."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from churnkit.config._base import _Model

__all__ = ["MlflowConfig", "MonitorConfig"]


class MonitorConfig(_Model):
    """Drift and realised-performance thresholds of ``churnkit monitor``."""

    bins: int = Field(10, ge=2, le=100)
    """Quantile bins per numeric feature in the training profile (fixed at training time)."""
    psi_watch: float = Field(0.1, gt=0)
    """Population stability index from which a feature or the score is flagged 'watch'."""
    psi_act: float = Field(0.25, gt=0)
    """Population stability index from which it is flagged 'act'."""
    js_watch: float = Field(0.1, gt=0, le=1)
    """Jensen-Shannon distance (base 2, 0-1) from which a distribution is flagged 'watch'."""
    js_act: float = Field(0.2, gt=0, le=1)
    """Jensen-Shannon distance from which it is flagged 'act'."""
    missing_watch: float = Field(0.05, gt=0, le=1)
    """Rise of a feature's missing share (absolute) flagged 'watch'."""
    missing_act: float = Field(0.2, gt=0, le=1)
    """Rise of a feature's missing share flagged 'act'."""
    unseen_watch: float = Field(0.01, gt=0, le=1)
    """Share of category values never seen in training flagged 'watch'."""
    unseen_act: float = Field(0.05, gt=0, le=1)
    """Share of unseen category values flagged 'act'."""
    min_importance: float = Field(0.02, ge=0, le=1)
    """Drift of a feature with a smaller share of the model's gain is reported, never 'act'."""
    auc_margin: float = Field(0.05, gt=0, le=1)
    """Retrain when the realised ROC-AUC falls this much below the validation ROC-AUC."""
    ece_margin: float = Field(0.05, gt=0, le=1)
    """Retrain when the realised calibration error (ECE) exceeds the validation one by this."""

    @model_validator(mode="after")
    def _ordered(self) -> MonitorConfig:
        for name in ("psi", "js", "missing", "unseen"):
            if getattr(self, f"{name}_act") < getattr(self, f"{name}_watch"):
                raise ValueError(f"{name}_act must be >= {name}_watch")
        return self


class MlflowConfig(_Model):
    """Where ``--mlflow`` logs the runs of ``churnkit train``, ``evaluate`` and ``monitor``."""

    tracking_uri: str | None = None
    """MLflow tracking URI: a server (``http://host:5000``) or a database
    (``sqlite:///mlflow.db``, relative to the working directory). Default: MLflow's
    own, the environment variable ``MLFLOW_TRACKING_URI`` or else its local default."""
    experiment: str | None = None
    """MLflow experiment the runs go to (created when missing). Default: the config's ``name``."""

    @field_validator("tracking_uri", "experiment")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank; leave the key out for the default")
        return value
