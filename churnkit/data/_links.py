"""Tables that reach the customers through other tables.

Two small, general links between tables:

- a **lookup** maps the id column of an event table to customer ids through
  another table (usage rows keyed by ``subscription_id`` → subscriptions →
  ``account_id``); several lookups chain (reviews → orders → customers) and can
  bring columns along (the order's purchase timestamp for its payments);
- a **join** computes customer columns from a table with several rows per
  customer (the latest churn date per account, the revenue of its open
  subscriptions), which the roles of the customers table can then use.

Rows that cannot be linked go to the rejects table with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnkit._core import require_columns
from churnkit.config import Config, CustomersTable, EventTable, JoinColumn
from churnkit.data._io import read_table
from churnkit.data._parse import (
    ColumnFormat,
    Parsed,
    infer_type,
    parse_bool,
    parse_categorical,
    parse_dates,
    parse_dates_detail,
    parse_ids,
    parse_numeric,
    parse_numeric_detail,
)
from churnkit.exceptions import SchemaError

if TYPE_CHECKING:
    from churnkit.data._rejects import Rejects

__all__ = [
    "apply_joins",
    "apply_lookups",
    "check_format_columns",
    "column_format",
    "parse_as",
    "require_config_columns",
    "source_table",
]


def require_config_columns(frame: pd.DataFrame, table: str, columns: list[str], key: str) -> None:
    """Check that ``frame`` has ``columns``, else name the config key and the file to fix."""
    file = f" of {frame.attrs['path']}" if "path" in frame.attrs else ""
    require_columns(frame, columns, table=table,
                    fix=f"Fix the column names under data.{key} in the config, or rename the "
                        f"columns{file}.")


def column_format(frame: pd.DataFrame, spec: Any, column: str, key: str) -> ColumnFormat:
    """How ``column`` of a table is written.

    The table's ``date_format``/``decimal`` keys (one value, or one per column),
    the delimiter its file was read with, and, for a part of a table, the
    evidence of the whole table (``frame.attrs["sep"]`` and ``["evidence"]``,
    set by the engines that load tables in parts).
    """

    def pick(value: Any) -> Any:
        return value.get(column) if isinstance(value, dict) else value

    return ColumnFormat(date_format=pick(getattr(spec, "date_format", None)),
                        decimal=pick(getattr(spec, "decimal", None)),
                        sep=frame.attrs.get("sep"), where=f"data.{key}",
                        evidence=(frame.attrs.get("evidence") or {}).get(column),
                        excel=bool(frame.attrs.get("excel")))


def check_format_columns(frame: pd.DataFrame, spec: Any, table: str, key: str) -> None:
    """The columns named under ``date_format``/``decimal`` of a table exist."""
    for option in ("date_format", "decimal"):
        value = getattr(spec, option, None)
        if isinstance(value, dict):
            require_config_columns(frame, table, list(value), f"{key}.{option}")


def parse_as(raw: pd.Series, kind: str, fmt: ColumnFormat | None = None) -> Parsed:
    """Parse ``raw`` as ``kind`` (numeric, boolean, datetime, else categorical).

    Returns the values, the mask of present but unusable values, and those set
    aside for disagreeing with the column's date order or decimal mark.
    """
    if kind == "numeric":
        return parse_numeric_detail(raw, fmt)
    if kind == "datetime":
        return parse_dates_detail(raw, fmt)
    values, bad = parse_bool(raw) if kind == "boolean" else parse_categorical(raw)
    return Parsed(values, bad, pd.Series(False, index=raw.index), "")


def source_table(
    cfg: Config, spec: Any, name: str, tables: Mapping[str, pd.DataFrame], key: str | None = None
) -> pd.DataFrame:
    """The table ``name``: from ``tables`` when given there, else read from ``spec.path``."""
    if name in tables:
        frame = tables[name]
        if not isinstance(frame, pd.DataFrame):
            raise SchemaError(f"Table {name!r} must be a pandas DataFrame, got {type(frame)}.")
        return frame.reset_index(drop=True)
    path = cfg.resolve(spec.path)
    if path is None:
        raise SchemaError(
            f"Table {name!r} has no 'path' in the config and no DataFrame was given. "
            f"Set data.{key or name}.path or pass tables={{{name!r}: df}}."
        )
    return read_table(path, table=name, format=spec.format, sep=spec.sep, encoding=spec.encoding,
                      names=spec.names, sheet=spec.sheet, skip=unread_columns(spec))


def unread_columns(spec: Any) -> set[str]:
    """The table's ``exclude`` columns that no other key of its spec names (ids, roles, lookups).

    Examples
    --------
    >>> from churnkit.config import EventTable
    >>> sorted(unread_columns(EventTable(kind="contacts", path="c.csv", exclude=["agent", "x"],
    ...                                  roles={"channel": "x"})))
    ['agent']
    """
    excluded = set(getattr(spec, "exclude", None) or ())
    if not excluded:
        return set()
    named: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            named.add(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, list | tuple | set):
            for v in value:
                walk(v)

    walk({k: v for k, v in spec.model_dump().items() if k != "exclude"})
    return excluded - named


def apply_lookups(
    frame: pd.DataFrame,
    ids: pd.Series,
    missing: pd.Series,
    spec: EventTable,
    name: str,
    cfg: Config,
    tables: Mapping[str, pd.DataFrame],
    rejects: Rejects,
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Map the ids of event table ``name`` to customer ids through ``spec.lookup`` in turn.

    Returns the frame (with the lookups' extra columns added), the customer ids
    and the mask of rows without one. Keys absent from a lookup table, or mapped
    to several ids by it, are rejected with the reason.
    """
    frame = frame.copy()
    unlinked = pd.Series(False, index=frame.index)
    for i, lk in enumerate(spec.lookup):
        where = f"events.{name}.lookup.{i}"
        table = source_table(cfg, lk, lk.table_name, tables, key=where)
        require_config_columns(table, lk.table_name, [lk.key, lk.customer_id, *lk.columns], where)
        clash = [c for c in lk.columns if c in frame.columns]
        if clash:
            raise SchemaError(
                f"Lookup table {lk.table_name!r} would bring column(s) {clash} into table "
                f"{name!r}, which already has them. Remove them from {where}.columns."
            )
        keys, kmiss = parse_ids(table[lk.key])
        targets, tmiss = parse_ids(table[lk.customer_id])
        ok = ~(kmiss | tmiss).to_numpy()
        pairs = pd.DataFrame({"key": keys.to_numpy()[ok], "target": targets.to_numpy()[ok]})
        n_targets = pairs.drop_duplicates().groupby("key")["target"].size()
        ambiguous = set(n_targets.index[n_targets.to_numpy() > 1])
        first = pairs.drop_duplicates("key").set_index("key")["target"]
        first = first[~first.index.isin(ambiguous)]
        active = ~(missing | unlinked)
        is_amb = active & ids.isin(ambiguous)
        rejects.add(name, is_amb, frame, ids, lk.key, ids,
                    f"{lk.key} maps to several {lk.customer_id} values in lookup table "
                    f"{lk.table_name!r}; row dropped", drop=True)
        mapped = ids.map(first)
        absent = active & ~is_amb & mapped.isna()
        rejects.add(name, absent, frame, ids, lk.key, ids,
                    f"{lk.key} not found in lookup table {lk.table_name!r}; row dropped", drop=True)
        for col in lk.columns:
            values = pd.Series(table[col].to_numpy()[ok], index=pairs["key"].to_numpy())
            values = values[~values.index.duplicated(keep="first")]
            frame[col] = ids.map(values).where(~(is_amb | absent))
        unlinked = unlinked | is_amb | absent
        ids = mapped.astype(object).where(mapped.notna(), None)
    return frame, ids, unlinked


def _matches(column: pd.Series, values: list[Any]) -> np.ndarray:
    text = column.astype("string").str.strip().str.lower()
    text = text.mask(text == "")
    out = np.zeros(len(column), dtype=bool)
    for v in values:
        if v is None:
            out |= text.isna().to_numpy()
        else:
            out |= (text == str(v).strip().lower()).fillna(False).to_numpy(dtype=bool)
    return out


def _infer(raw: pd.Series) -> str:
    kind = infer_type(raw)
    if kind in {"numeric", "boolean", "datetime"}:
        return kind
    sample = raw.dropna().iloc[:2000]
    if len(sample):
        _, bad = parse_dates(sample)
        if bad.mean() < 0.01:
            return "datetime"
    return "categorical"


def _order(table: pd.DataFrame, column: str) -> np.ndarray:
    """Row order by ``column`` (numbers, else dates), missing values last."""
    raw = table[column]
    number, bad = parse_numeric(raw)
    if bad.any():
        dates, _ = parse_dates(raw)
        key = dates.to_numpy("datetime64[ns]").astype(np.int64).astype("float64")
        missing = dates.isna().to_numpy()
    else:
        key = number.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(key)
    return np.argsort(np.where(missing, np.inf, key), kind="stable")


def _aggregate(values: pd.Series, keys: np.ndarray, col: JoinColumn) -> pd.Series:
    grouped = values.groupby(keys, sort=False)
    if col.agg == "count":
        return grouped.count()
    if col.agg == "nunique":
        return grouped.nunique()
    return getattr(grouped, col.agg)()


def apply_joins(
    frame: pd.DataFrame,
    spec: CustomersTable,
    cfg: Config,
    tables: Mapping[str, pd.DataFrame],
    rejects: Rejects,
) -> pd.DataFrame:
    """Add the customer columns computed by ``spec.joins`` to the customers ``frame``.

    Customers without rows in a joined table get a missing value, or 0 for
    ``count``, ``nunique`` and ``sum``.
    """
    if not spec.joins:
        return frame
    frame = frame.copy()
    require_config_columns(frame, "customers", [spec.customer_id], "customers")
    cust_ids, _ = parse_ids(frame[spec.customer_id])
    for i, join in enumerate(spec.joins):
        where = f"customers.joins.{i}"
        name = join.table_name
        table = source_table(cfg, join, name, tables, key=where)
        cols = join.column_specs()
        needed = [join.key, *join.where, *(c.column for c in cols.values())]
        require_config_columns(table, name, needed + ([join.order_by] if join.order_by else []),
                               where)
        clash = [new for new in cols if new in frame.columns]
        if clash:
            raise SchemaError(
                f"Join {name!r} makes column(s) {clash}, which the customers table already has. "
                f"Rename them under data.{where}.columns."
            )
        if join.order_by:
            table = table.iloc[_order(table, join.order_by)].reset_index(drop=True)
        keys, kmiss = parse_ids(table[join.key])
        keep = ~kmiss.to_numpy()
        for where_col, values in join.where.items():
            keep &= _matches(table[where_col], values)
        for new, col in cols.items():
            raw = table[col.column]
            kind = col.type or _infer(raw)
            if col.agg in {"sum", "mean"} and kind != "numeric":
                raise SchemaError(
                    f"Join {name!r}: column {col.column!r} is {kind}, so it cannot be "
                    f"aggregated with {col.agg!r}. Use first/last/min/max/count/nunique."
                )
            parsed, bad, other, why = parse_as(raw, kind, column_format(table, join, col.column,
                                                                         where))
            reason = np.where(other.to_numpy(), f"{why.split('; set')[0]}; ignored",
                              f"unparseable {kind} value in joined table; ignored")
            rejects.add(name, bad & pd.Series(keep, index=table.index), table, keys, col.column,
                        raw, reason)
            agg = _aggregate(parsed[keep], keys.to_numpy()[keep], col)
            out = cust_ids.map(agg)
            if col.agg in {"count", "nunique", "sum"}:
                out = out.fillna(0).astype("float64")
            frame[new] = out
    return frame
