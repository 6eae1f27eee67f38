"""The ``scoring`` and ``retention`` sections: what scores and retention figures report."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, field_validator

from churnkit.config._base import _Model

__all__ = ["RetentionConfig", "ScoringConfig"]


class ScoringConfig(_Model):
    """How scores become priorities."""

    risk_bands: dict[str, float] = Field(default_factory=lambda: {"high": 0.5, "medium": 0.2})
    """Lower probability bound of each band, highest band first; below all: ``low``."""
    value_horizon_months: int = Field(12, ge=1)
    """Value at risk = probability x monthly value x this many months."""
    explain: Literal["all", "at_risk", "none"] = "all"
    """Which scored customers get reasons and actions: all, those above the lowest band, none."""
    reasons: str | None = None
    """Reason groups file (default: the built-in configs/reasons.yaml)."""
    playbooks: str | None = None
    """Playbooks file (default: the built-in configs/playbooks.yaml)."""
    reason_ranking: Literal["players", "sum"] = "sum"
    """Reason groups ranked by their features' summed SHAP values, or by exact Shapley
    values with the groups as players (several times slower on large scoring runs)."""
    currency: str = ""
    """Currency symbol shown in at-risk lists."""

    @field_validator("risk_bands")
    @classmethod
    def _bands(cls, bands: dict[str, float]) -> dict[str, float]:
        values = list(bands.values())
        if any(not 0 <= v <= 1 for v in values):
            raise ValueError("band thresholds must be probabilities in [0, 1]")
        if values != sorted(values, reverse=True):
            raise ValueError("list bands from the highest threshold to the lowest")
        return bands


class RetentionConfig(_Model):
    """Retention analytics settings (``churnkit retention``)."""

    period: Literal["M", "Q", "Y"] = "M"
    by: list[str] = Field(default_factory=list)
    """Customer columns to break figures down by (e.g. ``[segment]``); default: segment if mapped."""
    amount: str | None = None
    """Activity mode: the event column holding revenue (for net revenue retention)."""
    start: date | None = None
    """First period; default: when the event data starts (or the first signup)."""
    margin: float = Field(1.0, gt=0, le=1)
    """Gross margin applied to value in customer lifetime value."""
    discount_rate: float = Field(0.0, ge=0)
    """Monthly discount rate for customer lifetime value."""
    clv_months: int = Field(12, ge=0)
    """Months of purchases in the customer-level lifetime value of ``transactions`` tables (0 = off)."""
