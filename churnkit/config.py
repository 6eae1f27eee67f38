"""Typed, validated configuration loaded from YAML.

A configuration says where the tables are, which of the user's columns play
which role (the data contract of ``DESIGN.md``), how churn is defined, which
features to build and how to train the model. Every key is validated on load;
errors name the file and the key path, e.g.
``configs/cdnow.yaml: labels -> horizon_days: Input should be greater than 0``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from churnkit.exceptions import ConfigError

__all__ = [
    "ColumnType",
    "Config",
    "CustomersTable",
    "CutoffSchedule",
    "DataConfig",
    "EventTable",
    "FeatureConfig",
    "LabelConfig",
    "ModelConfig",
    "RetentionConfig",
    "ScoringConfig",
    "SnapshotTable",
    "config_from_dict",
    "load_config",
]

ColumnType = Literal["categorical", "numeric", "boolean", "text", "datetime"]
EventKind = Literal["events", "contacts", "feedback", "transactions", "usage"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Table(_Model):
    path: str | None = None
    """File path (CSV or Parquet), relative to the config file's folder."""
    format: Literal["csv", "parquet"] | None = None
    """File format; inferred from the suffix when omitted."""
    sep: str | None = None
    """CSV delimiter; sniffed from the header line when omitted."""
    encoding: str | None = None
    """CSV encoding; UTF-8 (with or without BOM) is tried first, then cp1252/latin-1."""
    names: list[str] | None = None
    """Column names for a CSV file without a header row."""


class CustomersTable(_Table):
    """The customers table: one row per customer."""

    from_events: str | None = None
    """No customers file: take the customers of this event table (signup = first event)."""
    customer_id: str = "customer_id"
    signup_date: str | None = None
    end_date: str | None = None
    segment: str | None = None
    product: str | None = None
    account_manager: str | None = None
    value: str | None = None
    wallet_share: str | None = None
    attributes: dict[str, ColumnType] = Field(default_factory=dict)
    """Further static columns and their types; columns not listed here are inferred."""
    exclude: list[str] = Field(default_factory=list)
    """Columns never used as features (free text, personal data, leaky columns)."""


class EventTable(_Table):
    """A table of timestamped events of customers (contacts, feedback, usage...)."""

    kind: EventKind = "events"
    customer_id: str = "customer_id"
    timestamp: str = "timestamp"
    columns: dict[str, ColumnType] = Field(default_factory=dict)
    """Columns to aggregate and their types; when empty, types are inferred."""
    roles: dict[str, str] = Field(default_factory=dict)
    """Kind-specific roles, e.g. ``{direction: dir, resolved: is_closed}`` for contacts."""
    aggregations: dict[str, list[str]] = Field(default_factory=dict)
    """Numeric aggregations per column, overriding the kind's defaults."""
    exclude: list[str] = Field(default_factory=list)
    """Columns never aggregated."""

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: dict[str, str]) -> dict[str, str]:
        known = {"direction", "resolved", "topic", "channel", "duration", "score", "survey"}
        unknown = sorted(set(roles) - known)
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; known roles are {sorted(known)}")
        return roles

    @field_validator("aggregations")
    @classmethod
    def _known_aggs(cls, aggs: dict[str, list[str]]) -> dict[str, list[str]]:
        from churnkit.features._events import NUMERIC_AGGS

        for col, names in aggs.items():
            bad = sorted(set(names) - set(NUMERIC_AGGS))
            if bad:
                raise ValueError(
                    f"column {col!r}: unknown aggregation(s) {bad}; use any of {list(NUMERIC_AGGS)}"
                )
        return aggs


class SnapshotTable(_Table):
    """Snapshot mode: one table, one row per customer, with a churn label column."""

    customer_id: str | None = None
    """Id column; the row number is used when omitted."""
    label: str
    positive: list[str | int | float | bool] = Field(default_factory=lambda: [1, "1", "Yes", True])
    """Label values meaning *churned*."""
    columns: dict[str, ColumnType] = Field(default_factory=dict)
    exclude: list[str] = Field(default_factory=list)
    account_manager: str | None = None
    value: str | None = None
    segment: str | None = None


class DataConfig(_Model):
    """Where the tables are and how to read them."""

    customers: CustomersTable | None = None
    events: dict[str, EventTable] = Field(default_factory=dict)
    snapshot: SnapshotTable | None = None
    end: date | None = None
    """End of the data (exclusive); default: the day after the newest event or date."""

    @model_validator(mode="after")
    def _one_mode(self) -> DataConfig:
        if (self.customers is None) == (self.snapshot is None):
            raise ValueError("give exactly one of 'customers' (event mode) or 'snapshot'")
        if self.snapshot is not None and self.events:
            raise ValueError("snapshot mode takes no event tables; remove 'events'")
        src = self.customers.from_events if self.customers is not None else None
        if src is not None and src not in self.events:
            raise ValueError(
                f"customers.from_events names {src!r}, which is not an event table "
                f"(event tables: {sorted(self.events)})"
            )
        return self


class CutoffSchedule(_Model):
    """Cutoff dates ``start, start + every, ...`` up to ``end`` (inclusive)."""

    start: date
    end: date | None = None
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
                f"{every!r} is not a pandas offset alias; use e.g. 'MS', 'QS' or '14D'"
            ) from None
        return every


class LabelConfig(_Model):
    """How churn is defined and when it is observed."""

    definition: Literal["contractual", "inactivity", "column"] = "contractual"
    horizon_days: int = Field(90, gt=0)
    cutoffs: CutoffSchedule | list[date] | None = None
    validation_cutoffs: int = Field(2, ge=1)
    """Newest cutoffs held out (out of time) for early stopping, calibration and metrics."""
    activity_tables: list[str] = Field(default_factory=list)
    """Inactivity churn: event tables that count as activity (default: all)."""
    lookback_days: int = Field(365, gt=0)
    """Inactivity churn: a customer is active at a cutoff if it had activity this recently."""

    @model_validator(mode="after")
    def _needs_cutoffs(self) -> LabelConfig:
        if self.definition != "column" and self.cutoffs is None:
            raise ValueError(f"definition {self.definition!r} needs 'cutoffs'")
        return self


class FeatureConfig(_Model):
    """Point-in-time feature settings."""

    windows: list[int] = Field(default_factory=lambda: [30, 90, 365])
    top_k: int = Field(10, ge=1)
    """Most frequent values per categorical event column; the rest count as ``other``."""

    @field_validator("windows")
    @classmethod
    def _windows(cls, windows: list[int]) -> list[int]:
        if not windows or any(w <= 0 for w in windows):
            raise ValueError("windows must be a non-empty list of positive day counts")
        return sorted(set(windows))


class ModelConfig(_Model):
    """LightGBM and calibration settings."""

    n_estimators: int = Field(1000, ge=1)
    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(31, ge=2)
    max_depth: int = -1
    min_child_samples: int = Field(40, ge=1)
    subsample: float = Field(0.8, gt=0, le=1)
    colsample_bytree: float = Field(0.8, gt=0, le=1)
    reg_lambda: float = Field(1.0, ge=0)
    class_weight: Literal["balanced"] | None = None
    early_stopping_rounds: int = Field(50, ge=1)
    calibration: Literal["isotonic", "sigmoid", "none"] = "isotonic"
    validation_fraction: float = Field(0.2, gt=0, lt=1)
    """Snapshot mode only: stratified hold-out share (event mode validates out of time)."""
    seed: int = 0
    n_jobs: int = 2


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


class Config(_Model):
    """A whole churnkit configuration."""

    name: str = "churn-model"
    data: DataConfig
    labels: LabelConfig = Field(default_factory=lambda: LabelConfig(definition="column"))
    features: FeatureConfig = Field(default_factory=FeatureConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    base_dir: Path = Path()
    """Folder that relative table paths are resolved against (the config file's folder)."""

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        snapshot = self.data.snapshot is not None
        if snapshot and self.labels.definition != "column":
            raise ValueError("snapshot data needs labels.definition: column")
        if not snapshot and self.labels.definition == "column":
            raise ValueError("labels.definition 'column' needs data.snapshot")
        unknown = sorted(set(self.labels.activity_tables) - set(self.data.events))
        if unknown:
            raise ValueError(
                f"labels.activity_tables names unknown table(s) {unknown}; "
                f"event tables are {sorted(self.data.events)}"
            )
        if self.labels.definition == "inactivity" and not self.data.events:
            raise ValueError("inactivity churn needs at least one event table")
        return self

    def resolve(self, path: str | None) -> Path | None:
        """Return ``path`` resolved against the config's folder."""
        if path is None:
            return None
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p


def _format_errors(source: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = " -> ".join(str(part) for part in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see configs/default.yaml for the known keys)"
        lines.append(f"{source}: {loc}: {msg}")
    return "\n".join(lines)


def config_from_dict(
    raw: dict[str, Any], *, base_dir: str | Path = ".", source: str = "<config>"
) -> Config:
    """Validate a configuration given as a dictionary.

    Parameters
    ----------
    raw : dict
        The parsed YAML document.
    base_dir : path-like, default "."
        Folder against which relative table paths are resolved.
    source : str
        Name used in error messages (usually the file path).

    Returns
    -------
    Config
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of keys at the top level, got {raw!r}.")
    try:
        return Config.model_validate({**raw, "base_dir": Path(base_dir)})
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, exc)) from None


def load_config(path: str | Path) -> Config:
    """Load and validate a YAML configuration file.

    Parameters
    ----------
    path : path-like
        The YAML file. Relative table paths inside it are resolved against its folder.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        If the file is missing, is not valid YAML, or a key is unknown or invalid.

    Examples
    --------
    >>> from churnkit import load_config
    >>> from churnkit._resources import builtin_config
    >>> cfg = load_config(builtin_config("cdnow.yaml"))
    >>> cfg.labels.definition
    'inactivity'
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {str(path)!r} does not exist. Check the path.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if raw is None:
        raise ConfigError(f"{path}: the file is empty; see configs/default.yaml for an example.")
    return config_from_dict(raw, base_dir=path.parent, source=str(path))
