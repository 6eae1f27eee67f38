"""The ``data`` section: tables, their columns' roles, joins and lookups."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from churnkit._core import short_repr, unknown_names
from churnkit.config._base import Day, _check_date_format, _Model

__all__ = [
    "EVENT_ROLES",
    "NUMERIC_AGGS",
    "ColumnType",
    "CustomerJoin",
    "CustomersTable",
    "DataConfig",
    "EventKind",
    "EventTable",
    "JoinAgg",
    "JoinColumn",
    "Lookup",
    "SnapshotTable",
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
