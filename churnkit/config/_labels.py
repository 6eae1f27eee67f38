"""The ``labels`` section: how churn is defined and at which cutoffs it is observed."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from churnkit._core import short_repr
from churnkit.config._base import _MAX_DAYS, Day, _Model

__all__ = ["CutoffSchedule", "LabelConfig"]


class CutoffSchedule(_Model):
    """Cutoff dates ``start, start + every, ...`` up to ``end`` (inclusive)."""

    start: Day
    end: Day | None = None
    """Last cutoff; default: the latest cutoff whose horizon ends inside the data."""
    every: str = "MS"
    """A pandas offset alias: ``MS`` month start, ``QS`` quarter start, ``7D``..."""

    @field_validator("every")
    @classmethod
    def _offset(cls, every: str) -> str:
        try:
            pd.tseries.frequencies.to_offset(every)
        except ValueError:
            raise ValueError(
                f"{short_repr(every)} is not a pandas offset alias; use e.g. 'MS', 'QS' or '14D'"
            ) from None
        return every


class LabelConfig(_Model):
    """How churn is defined and when it is observed."""

    definition: Literal["contractual", "inactivity", "column"] = "contractual"
    horizon_days: int = Field(90, gt=0, le=_MAX_DAYS)
    cutoffs: CutoffSchedule | list[Day] | None = None
    validation_cutoffs: int = Field(2, ge=1)
    """Newest cutoffs held out (out of time) for early stopping, calibration and metrics."""
    activity_tables: list[str] = Field(default_factory=list)
    """Inactivity churn: event tables that count as activity (default: all)."""
    lookback_days: int = Field(365, gt=0, le=_MAX_DAYS)
    """Inactivity churn: a customer is active at a cutoff if it had activity this recently."""

    @model_validator(mode="after")
    def _needs_cutoffs(self) -> LabelConfig:
        if self.definition != "column" and self.cutoffs is None:
            raise ValueError(f"definition {self.definition!r} needs 'cutoffs'")
        return self
