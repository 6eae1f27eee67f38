"""The ``features`` section: windows and category limits of the point-in-time features."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from churnkit.config._base import _Model

__all__ = ["FeatureConfig"]


class FeatureConfig(_Model):
    """Point-in-time feature settings."""

    renamed_keys: ClassVar[dict[str, str]] = {"top_k": "max_categories"}

    windows: list[int] = Field(default_factory=lambda: [30, 90, 365])
    """Look-back windows in days of the event aggregates."""
    horizon_window: bool = True
    """Also a window as long as the label horizon (``labels.horizon_days``): activity in
    the last horizon-long period is the past counterpart of what the label measures."""
    max_categories: int = Field(10, ge=1)
    """Most frequent values per categorical event column; the rest count as ``other``."""
    derived: bool = True
    """Add events and totals per month of tenure and recency as a share of tenure."""
    btyd: Literal["auto", "on", "off"] = "auto"
    """Pareto/NBD P(alive) and expected purchases of ``transactions`` tables (auto: non-contractual data)."""

    @field_validator("windows")
    @classmethod
    def _windows(cls, windows: list[int]) -> list[int]:
        if not windows or any(w <= 0 for w in windows):
            raise ValueError("windows must be a non-empty list of positive day counts")
        return sorted(set(windows))
