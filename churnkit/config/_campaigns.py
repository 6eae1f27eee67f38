"""The ``evaluation`` and ``uplift`` sections: what a retention campaign costs and gains."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from churnkit.config._base import _Model

__all__ = ["CampaignConfig", "EvaluationConfig", "UpliftConfig"]


class CampaignConfig(_Model):
    """A retention campaign, for the profit curve and EMP (Verbraken et al., 2013).

    Contacting a customer costs ``contact_cost``; a contacted churner accepts the
    offer with probability ``acceptance_rate``, stays and is worth its customer
    value minus ``offer_cost``; a contacted non-churner takes the offer anyway
    (it costs ``offer_cost``). Customer value = the customers' ``value`` role x
    ``scoring.value_horizon_months`` where the data has one, else ``customer_value``.
    """

    contact_cost: float = Field(1.0, ge=0)
    offer_cost: float = Field(10.0, ge=0)
    acceptance_rate: float = Field(0.3, ge=0, le=1)
    customer_value: float = Field(200.0, gt=0)
    """Customer (lifetime) value used when the data has no value column."""
    acceptance_beta: tuple[float, float] = (6.0, 14.0)
    """EMP: Beta(a, b) distribution of the acceptance rate (default mean 0.3)."""

    @field_validator("acceptance_beta")
    @classmethod
    def _positive(cls, ab: tuple[float, float]) -> tuple[float, float]:
        if min(ab) <= 0:
            raise ValueError("both Beta parameters must be > 0")
        return ab


class EvaluationConfig(_Model):
    """How :func:`churnkit.evaluate.backtest` evaluates a configuration."""

    folds: int = Field(5, ge=2)
    """Snapshot mode: stratified K-fold cross-validation."""
    test_cutoffs: int = Field(3, ge=1)
    """Event mode: the newest cutoffs each tested once, training on older ones."""
    campaign: CampaignConfig = Field(default_factory=CampaignConfig)


class UpliftConfig(_Model):
    """The uplift model (``churnkit train --uplift``): who contact helps, learnt from holdouts."""

    assignments: list[Path] = Field(default_factory=list)
    """``assignments.csv`` files of finished runs (``churnkit report --holdout``), relative
    to the config's folder."""
    learner: Literal["auto", "t", "x"] = "auto"
    """Meta-learner on LightGBM: T-learner, X-learner, or the one with the higher
    out-of-sample Qini."""
    bags: int = Field(5, ge=2, le=50)
    """Models fitted on bootstrap samples; their spread tells confident effects."""
    action_cost: float = Field(0.0, ge=0)
    """Cost of one retention action, in the currency of ``value``."""
    harm_threshold: float = Field(0.01, ge=0, lt=1)
    """Flag "do not contact" when every bag predicts contact raises churn by more than this
    probability."""
    harm_evidence: bool = True
    """Flag only customers whose recommended playbook (all customers, without playbooks)
    raised churn over the experiments, the whole 95 % interval of treated minus control
    above 0; false: on the bags' agreement alone."""
