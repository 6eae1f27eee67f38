"""The ``model`` section: LightGBM, its capacity search and calibration."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from churnkit.config._base import _Model

__all__ = ["ModelConfig"]


class ModelConfig(_Model):
    """LightGBM and calibration settings."""

    renamed_keys: ClassVar[dict[str, str]] = {"seed": "random_state"}

    n_estimators: int = Field(1000, ge=1)
    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(7, ge=2)
    max_depth: int = -1
    min_child_samples: int = Field(80, ge=1)
    subsample: float = Field(0.8, gt=0, le=1)
    colsample_bytree: float = Field(0.8, gt=0, le=1)
    reg_lambda: float = Field(1.0, ge=0)
    class_weight: Literal["balanced"] | None = None
    early_stopping_rounds: int = Field(50, ge=1)
    calibration: Literal["isotonic", "sigmoid", "none"] = "sigmoid"
    validation_fraction: float = Field(0.2, gt=0, lt=1)
    """Snapshot mode only: stratified hold-out share (event mode validates out of time)."""
    random_state: int = 0
    n_jobs: int | None = None
    """Threads of LightGBM and TreeSHAP; ``null`` (or -1): the cores available to the
    process (CPU affinity, cgroup quota), counted where the model runs."""
    tune: Literal["auto", "off"] = "auto"
    """``auto``: choose tree size, minimum leaf size, learning rate and subsampling by a
    search on the training rows (out of time for event data, a hold-out for snapshots),
    never on the validation rows; the settings above are the first candidate. ``off``:
    use the settings above as they are."""
    tune_budget_seconds: float = Field(20.0, gt=0, le=3600)
    """Budget of that search per fit, in seconds of a 2-core reference machine: the work of
    each candidate is counted at a fixed speed, so the choice does not depend on how busy
    the machine is (the first candidate always runs; the clock time is reported too)."""
    max_training_rows: int | None = Field(500_000, ge=1000)
    """Rows (customer x cutoff) at the training cutoffs beyond which rows are sampled per
    cutoff: every churner kept while they fill at most half of it, the non-churners
    filling the rest (beyond that, each class fills half); each kept row weighted by the
    inverse of its class's sampling rate at its cutoff, so probabilities stay calibrated.
    The validation cutoffs are never sampled for validation (the refit samples them
    alike). ``null``: train on every row."""
    refit: bool = True
    """After early stopping and calibration on the validation rows, grow the chosen number
    of trees again on all rows, the validation rows (the newest cutoffs) included."""
    final_learning_rate: float | None = Field(0.02, gt=0, le=1)
    """Learning rate of the final fit when lower than the chosen one (``null``: the chosen
    one): tree shapes are compared at the candidates' faster rates, then the model is grown
    in smaller steps, its number of trees found by early stopping."""
    final_budget_seconds: float = Field(300.0, gt=0, le=36000)
    """Work allowed to the final fit (validation fit and refit), counted like
    ``tune_budget_seconds`` from the search's number of trees: the rate goes down toward
    ``final_learning_rate`` only as far as this allows, so small training sets grow at it
    and large ones at a rate up to the chosen one."""

    @field_validator("tune", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        # YAML reads an unquoted `off` as false (and `on` as true)
        if value is False:
            return "off"
        return "auto" if value is True else value
