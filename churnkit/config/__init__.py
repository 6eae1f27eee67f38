"""Typed, validated configuration loaded from YAML.

A configuration says where the tables are, which of the user's columns play
which role (the data contract of ``DESIGN.md``), how churn is defined, which
features to build and how to train the model. Every key is validated on load;
errors name the file and the key path, e.g.
``my.yaml: labels.horizon_days: input should be greater than 0``.

One module per section, in pipeline order: ``_data`` (tables, joins, lookups),
``_labels``, ``_features``, ``_model``, ``_scoring`` (scoring and retention),
``_campaigns`` (evaluation and uplift) and ``_monitor`` (monitor and mlflow), on
the strict model and date checks of ``_base``. :class:`Config` assembles them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from churnkit._core import read_yaml, validate_model
from churnkit.config._base import Day, _Model
from churnkit.config._campaigns import CampaignConfig, EvaluationConfig, UpliftConfig
from churnkit.config._data import (
    EVENT_ROLES,
    NUMERIC_AGGS,
    ColumnType,
    CustomerJoin,
    CustomersTable,
    DataConfig,
    EventKind,
    EventTable,
    JoinAgg,
    JoinColumn,
    Lookup,
    SnapshotTable,
)
from churnkit.config._features import FeatureConfig
from churnkit.config._labels import CutoffSchedule, LabelConfig
from churnkit.config._model import ModelConfig
from churnkit.config._monitor import MlflowConfig, MonitorConfig
from churnkit.config._scoring import RetentionConfig, ScoringConfig

__all__ = [
    "CampaignConfig",
    "ColumnType",
    "Config",
    "CustomerJoin",
    "CustomersTable",
    "CutoffSchedule",
    "DataConfig",
    "Day",
    "EVENT_ROLES",
    "EvaluationConfig",
    "EventKind",
    "EventTable",
    "FeatureConfig",
    "JoinAgg",
    "JoinColumn",
    "LabelConfig",
    "Lookup",
    "MlflowConfig",
    "ModelConfig",
    "MonitorConfig",
    "NUMERIC_AGGS",
    "RetentionConfig",
    "ScoringConfig",
    "SnapshotTable",
    "UpliftConfig",
    "config_from_dict",
    "load_config",
]


class Config(_Model):
    """A whole churnkit configuration."""

    name: str = "churn-model"
    data: DataConfig
    labels: LabelConfig = Field(default_factory=lambda: LabelConfig(definition="column"))
    features: FeatureConfig = Field(default_factory=FeatureConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    uplift: UpliftConfig = Field(default_factory=UpliftConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)
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
        windows, horizon = self.features.windows, self.labels.horizon_days
        if self.features.horizon_window and horizon not in windows:
            # every job reads config.features, so they all build this window; the model
            # files keep the windows they were trained with
            wider = self.features.model_copy(update={"windows": sorted([*windows, horizon])})
            object.__setattr__(self, "features", wider)  # still inside construction
        return self

    def resolve(self, path: str | None) -> Path | None:
        """Return ``path`` resolved against the config's folder."""
        if path is None:
            return None
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p


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
    data = {**raw, "base_dir": Path(base_dir)} if isinstance(raw, Mapping) else raw
    return validate_model(data, Config, where=source,
                          hint="Start from the built-in configs/default.yaml.")


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
    >>> from churnkit._core import builtin_config
    >>> cfg = load_config(builtin_config("default.yaml"))
    >>> cfg.labels.definition
    'contractual'
    """
    path = Path(path)
    return config_from_dict(read_yaml(path), base_dir=path.parent, source=str(path))
