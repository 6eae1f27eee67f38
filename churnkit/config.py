"""Typed, validated configuration loaded from YAML.

A configuration says where the tables are, which of the user's columns play
which role (the data contract of ``DESIGN.md``), how churn is defined, which
features to build and how to train the model. Every key is validated on load;
errors name the file and the key path, e.g.
``my.yaml: labels.horizon_days: input should be greater than 0``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import pandas as pd
from pydantic import AfterValidator, Field, field_validator, model_validator

from churnkit._core import StrictModel, read_yaml, short_repr, unknown_names, validate_model

__all__ = [
    "CampaignConfig",
    "ColumnType",
    "Config",
    "CustomerJoin",
    "CustomersTable",
    "CutoffSchedule",
    "DataConfig",
    "EVENT_ROLES",
    "EvaluationConfig",
    "UpliftConfig",
    "EventTable",
    "JoinColumn",
    "Lookup",
    "FeatureConfig",
    "LabelConfig",
    "MlflowConfig",
    "ModelConfig",
    "NUMERIC_AGGS",
    "RetentionConfig",
    "ScoringConfig",
    "SnapshotTable",
    "config_from_dict",
    "load_config",
]

ColumnType = Literal["categorical", "numeric", "boolean", "text", "datetime"]
EventKind = Literal["events", "contacts", "feedback", "transactions", "usage", "actions"]
JoinAgg = Literal["first", "last", "min", "max", "sum", "mean", "count", "nunique"]
NUMERIC_AGGS = ("count", "sum", "mean", "min", "max", "first", "last", "change", "trend")
"""Aggregations of a numeric event column (``data.events.<table>.aggregations``)."""
_POSITIVE_LABELS: list[str | int | float | bool] = [1, "1", "Yes", True]
EVENT_ROLES = ("amount", "channel", "direction", "duration", "resolved", "score", "survey",
               "topic", "type")
"""Kind-specific roles of event table columns (``data.events.<table>.roles``)."""


def _check_date_format(value: str) -> str:
    """``DMY``/``MDY`` (any case) or a ``strptime`` pattern with a year, month and day."""
    if value.upper() in {"DMY", "MDY"}:
        return value.upper()
    sample = datetime(2024, 3, 31, 13, 45, 30)
    ok = "%" in value and any(y in value for y in ("%Y", "%y"))
    if ok:
        try:
            ok = datetime.strptime(sample.strftime(value), value).date() == sample.date()
        except ValueError:
            ok = False
    if not ok:
        raise ValueError(
            f"date_format {short_repr(value, 60)} is neither DMY, MDY nor a strptime pattern "
            "with year, month and day such as '%d.%m.%Y'"
        )
    return value


class _Model(StrictModel):
    """Frozen, and unknown keys are errors."""


class _Table(_Model):
    path: str | None = None
    """File path (CSV or Parquet), relative to the config file's folder."""
    format: Literal["csv", "parquet", "xlsx"] | None = None
    """File format; inferred from the suffix when omitted (``.csv.gz``/``.zip`` are CSV)."""
    sep: str | None = None
    """CSV delimiter; sniffed from the header line when omitted."""
    encoding: str | None = None
    """CSV encoding; UTF-8 (with or without BOM) is tried first, then cp1252/latin-1."""
    names: list[str] | None = None
    """Column names for a CSV file without a header row."""
    date_format: str | dict[str, str] | None = None
    """How dates such as ``05.02.2023`` are read: ``DMY`` (day first), ``MDY`` (month first)
    or a ``strptime`` pattern (``"%d.%m.%Y"``), for every date column or per column
    (``{signup: DMY}``). Default: decided per column from its values."""
    decimal: Literal[",", "."] | dict[str, Literal[",", "."]] | None = None
    """Decimal mark of numbers (``","`` reads ``1.234,5``), for every numeric column or per
    column. Default: decided per column from its values (and a ``;`` delimiter)."""
    sheet: str | int | None = None
    """Excel workbooks (``.xlsx``): the sheet to read, by name or 0-based position;
    default: the first sheet."""

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        if isinstance(value, dict):
            out = {}
            for col, fmt in value.items():
                try:
                    out[col] = _check_date_format(fmt)
                except ValueError as exc:
                    raise ValueError(f"column {short_repr(col, 60)}: {exc}") from None
            return out
        return None if value is None else _check_date_format(value)


class JoinColumn(_Model):
    """One customer column computed from the rows of a joined table."""

    column: str
    """Column of the joined table."""
    agg: JoinAgg = "first"
    """How the rows of one customer are combined: ``first``/``last`` (in file order, or by
    the join's ``order_by``), ``min``, ``max``, ``sum``, ``mean``, ``count``, ``nunique``."""
    type: ColumnType | None = None
    """Type of ``column``; inferred when omitted (dates are recognised)."""


class CustomerJoin(_Table):
    """Customer columns taken from another table with several rows per customer.

    Example: the latest churn date per account from a churn-events table, or the
    monthly revenue of an account's open subscriptions::

        joins:
          - path: churn_events.csv
            key: account_id
            columns: {last_churn: {column: churn_date, agg: max}}
          - path: subscriptions.csv
            key: account_id
            where: {end_date: [null]}          # open subscriptions only
            columns: {mrr: {column: mrr_amount, agg: sum}}

    The new columns can then be mapped to roles (``end_date: last_churn``) or used
    as attributes like any column of the customers file.
    """

    name: str | None = None
    """Table name in messages and in ``load_dataset(tables=...)``; default: the file stem."""
    key: str
    """Column of this table holding the customer id."""
    columns: dict[str, JoinColumn | str]
    """New customer column -> its source (a plain column name means ``agg: first``)."""
    where: dict[str, list[str | int | float | bool | None]] = Field(default_factory=dict)
    """Keep only rows whose column value is one of the listed values (``null`` = missing)."""
    order_by: str | None = None
    """Column ordering the rows for ``first``/``last`` (parsed as a date, else a number)."""

    @field_validator("columns")
    @classmethod
    def _some_columns(cls, columns: dict[str, JoinColumn | str]) -> dict[str, JoinColumn | str]:
        if not columns:
            raise ValueError("list at least one column to take from the joined table")
        return columns

    def column_specs(self) -> dict[str, JoinColumn]:
        """``columns`` with plain names expanded to :class:`JoinColumn`."""
        return {
            new: JoinColumn(column=src) if isinstance(src, str) else src
            for new, src in self.columns.items()
        }

    @property
    def table_name(self) -> str:
        """Name used in messages and as the key of ``load_dataset(tables=...)``."""
        return self.name or (Path(self.path).stem if self.path else "join")


class Lookup(_Table):
    """Maps the id column of an event table to customer ids through another table.

    Usage rows keyed by ``subscription_id`` reach their account through the
    subscriptions table: ``{path: subscriptions.csv, key: subscription_id,
    customer_id: account_id}``. A list of lookups is applied in turn (reviews →
    orders → customers).
    """

    name: str | None = None
    """Table name in messages and in ``load_dataset(tables=...)``; default: the file stem."""
    key: str
    """Column of this table matching the event table's id (or the previous lookup's result)."""
    customer_id: str
    """Column of this table holding the id to map to (the customer id after the last lookup)."""
    columns: list[str] = Field(default_factory=list)
    """Further columns brought into the event table (e.g. the order's timestamp)."""

    @property
    def table_name(self) -> str:
        """Name used in messages and as the key of ``load_dataset(tables=...)``."""
        return self.name or (Path(self.path).stem if self.path else "lookup")


class _CodeNames(_Model):
    """Names for coded category values of a table's columns."""

    labels: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Names for coded category values, per column, e.g.
    ``{event_type_id: {5: Billing dispute, 7: Price increase}}``: the column is then
    categorical and reasons read "event type: Billing dispute". Codes not listed keep
    their code."""

    @field_validator("labels", mode="before")
    @classmethod
    def _codes_as_text(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {col: ({_code_text(k): v for k, v in names.items()} if isinstance(names, dict)
                      else names) for col, names in value.items()}

    def _check_labels(self, types: dict[str, str]) -> None:
        wrong = sorted(c for c in self.labels if types.get(c, "categorical") != "categorical")
        if wrong:
            raise ValueError(
                f"labels: column(s) {wrong} are declared {sorted({types[c] for c in wrong})}; "
                "names for codes need a categorical column (declare it categorical)"
            )


def _code_text(code: Any) -> str:
    """A code as text as the data layer reads it: ``5``, ``5.0`` and ``"5"`` are ``"5"``."""
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    return str(code).strip()


class CustomersTable(_Table, _CodeNames):
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
    joins: list[CustomerJoin] = Field(default_factory=list)
    """Customer columns computed from other tables (applied before the roles are read)."""
    churned: str | None = None
    """Boolean column: the customer has left for good (e.g. a current churn flag). Where it
    is false the end date is ignored (the customer came back after an earlier churn);
    where it is true but no end date is known the customer counts as active."""

    @model_validator(mode="after")
    def _unique_join_columns(self) -> CustomersTable:
        seen: dict[str, str] = {}
        for join in self.joins:
            for new in join.columns:
                if new in seen:
                    raise ValueError(
                        f"joins: column {new!r} is made by two joins ({seen[new]!r} and "
                        f"{join.table_name!r}); give one of them another name"
                    )
                seen[new] = join.table_name
        self._check_labels(dict(self.attributes))
        return self


class EventTable(_Table, _CodeNames):
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
    lookup: list[Lookup] = Field(default_factory=list)
    """Reach the customer through other tables: ``customer_id`` then names this table's key
    column (e.g. ``subscription_id``), mapped by each lookup in turn."""
    text: bool = False
    """Build text features (character n-gram TF-IDF → SVD) from the ``text`` columns."""

    @field_validator("lookup", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: dict[str, str]) -> dict[str, str]:
        problem = unknown_names(roles, EVENT_ROLES, what="role")
        if problem:
            raise ValueError(problem)
        return roles

    @field_validator("aggregations")
    @classmethod
    def _known_aggs(cls, aggs: dict[str, list[str]]) -> dict[str, list[str]]:
        for col, names in aggs.items():
            problem = unknown_names(names, NUMERIC_AGGS, what="aggregation")
            if problem:
                raise ValueError(f"column {short_repr(col, 60)}: {problem}")
        return aggs

    @model_validator(mode="after")
    def _labelled_columns(self) -> EventTable:
        self._check_labels(dict(self.columns))
        return self


class SnapshotTable(_Table, _CodeNames):
    """Snapshot mode: one table, one row per customer, with a churn label column."""

    customer_id: str | None = None
    """Id column; the row number is used when omitted."""
    label: str
    positive: list[str | int | float | bool] = Field(default_factory=lambda: _POSITIVE_LABELS.copy())
    """Label values meaning *churned*."""
    columns: dict[str, ColumnType] = Field(default_factory=dict)
    exclude: list[str] = Field(default_factory=list)
    account_manager: str | None = None
    value: str | None = None
    segment: str | None = None

    @model_validator(mode="after")
    def _labelled_columns(self) -> SnapshotTable:
        self._check_labels(dict(self.columns))
        return self


_FIRST_DAY, _LAST_DAY = date(1678, 1, 1), date(2261, 12, 31)  # what pandas times can hold
_MAX_DAYS = 36_500  # a horizon, window or lookback of at most a hundred years


def _in_time_range(day: date) -> date:
    if not _FIRST_DAY <= day <= _LAST_DAY:
        raise ValueError(
            f"{day.isoformat()} is outside the dates churnkit can work with "
            f"({_FIRST_DAY.year}-{_LAST_DAY.year}); give a date near your data"
        )
    return day


Day = Annotated[date, AfterValidator(_in_time_range)]
"""A calendar date within the range pandas timestamps can hold."""


class DataConfig(_Model):
    """Where the tables are and how to read them."""

    customers: CustomersTable | None = None
    events: dict[str, EventTable] = Field(default_factory=dict)
    snapshot: SnapshotTable | None = None
    end: Day | None = None
    """End of the data (exclusive); default: the day after the bulk of the event dates (a
    few stray far-future event rows are ignored and rejected; contract end dates never
    count; without events, the customer dates)."""
    max_rejected_share: float = Field(0.5, ge=0, le=1)
    """A table with more than this share of its rows rejected (or a declared column with
    more than this share of its values unusable) is an error, not a run with a hole."""

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


class FeatureConfig(_Model):
    """Point-in-time feature settings."""

    renamed_keys: ClassVar[dict[str, str]] = {"top_k": "max_categories"}

    windows: list[int] = Field(default_factory=lambda: [30, 90, 365])
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
    max_training_rows: int | None = Field(2_000_000, ge=1000)
    """Rows (customer x cutoff) at the training cutoffs beyond which the non-churners are
    sampled per cutoff (every churner kept; each kept non-churner weighted by the inverse
    of its cutoff's sampling rate, so probabilities stay calibrated). The validation
    cutoffs are never sampled. ``null``: train on every row."""
    refit: bool = True
    """After early stopping and calibration on the validation rows, grow the chosen number
    of trees again on all rows, the validation rows (the newest cutoffs) included."""
    final_learning_rate: float | None = Field(0.02, gt=0, le=1)
    """Learning rate of the final fit when lower than the chosen one (``null``: the chosen
    one): tree shapes are compared at the candidates' faster rates, then the model is grown
    in smaller steps, its number of trees found by early stopping."""
    final_budget_seconds: float = Field(20.0, gt=0, le=3600)
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
