"""Load, validate and quarantine the input tables of a configuration.

The result is a :class:`Dataset` with canonical column names (``customer_id``,
``timestamp``, ``signup_date``...), parsed types, and a rejects table that
lists every row that was set aside and why. Nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churnkit.config import Config, CustomersTable, EventTable, SnapshotTable
from churnkit.data._checks import (
    check_case_collisions,
    check_column_loss,
    check_table_loss,
    match_case,
)
from churnkit.data._end import DayCounts, day_counts, find_end, late_reason
from churnkit.data._links import (
    apply_joins,
    apply_lookups,
    check_format_columns,
    column_format,
    parse_as,
    require_config_columns,
    source_table,
)
from churnkit.data._parse import (
    ColumnFormat,
    infer_type,
    parse_bool,
    parse_categorical,
    parse_dates,
    parse_dates_detail,
    parse_ids,
)
from churnkit.data._rejects import REJECT_COLUMNS, Rejects, rejected_customers
from churnkit.exceptions import SchemaError

__all__ = ["REJECT_COLUMNS", "Dataset", "EventSpec", "load_dataset", "rejected_customers",
           "stamp_of"]

CUSTOMER_ROLES = (
    "signup_date", "end_date", "segment", "product", "account_manager", "value", "wallet_share"
)
_ROLE_TYPES = {
    "signup_date": "datetime", "end_date": "datetime", "segment": "categorical",
    "product": "categorical", "account_manager": "categorical", "value": "numeric",
    "wallet_share": "numeric",
}


@dataclass(frozen=True)
class EventSpec:
    """What an event table holds: its kind, typed columns and kind-specific roles."""

    name: str
    kind: str
    columns: dict[str, str]
    roles: dict[str, str]
    aggregations: dict[str, list[str]] = field(default_factory=dict)
    text: bool = False
    """Whether text features are built from the table's ``text`` columns."""


@dataclass
class Dataset:
    """Validated tables with canonical column names.

    Attributes
    ----------
    customers : DataFrame
        One row per customer: ``customer_id`` plus the roles present
        (``signup_date``, ``end_date``, ``segment``, ``product``, ``account_manager``,
        ``value``, ``wallet_share``) and static attribute columns.
    attributes : dict
        Static attribute column → type (``categorical``, ``numeric``, ``boolean``,
        ``datetime``: a date such as a date of birth, turned into days before each cutoff).
    events : dict of DataFrame
        Event tables with ``customer_id``, ``timestamp`` and their typed columns,
        sorted by customer and time. ``customer_id`` is a ``category`` whose
        categories are the sorted ids of ``customers`` (the same for every table);
        categorical columns are ``category`` too.
    specs : dict of EventSpec
        Kind, column types and roles of each event table.
    end : Timestamp
        End of the data (exclusive).
    label : Series or None
        Snapshot mode: the boolean churn label aligned with ``customers``.
    rejects : DataFrame
        ``table, row, customer_id, column, value, reason`` for every row set aside.
    ignored : dict
        ``table.column`` → why a column of the input is not used (free-text
        customer columns, date columns of event tables).
    """

    customers: pd.DataFrame
    attributes: dict[str, str]
    events: dict[str, pd.DataFrame]
    specs: dict[str, EventSpec]
    end: pd.Timestamp
    label: pd.Series | None = None
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_COLUMNS))
    ignored: dict[str, str] = field(default_factory=dict)

    @property
    def start(self) -> pd.Timestamp | None:
        """The first day with an event (None without events)."""
        firsts = [df["timestamp"].min() for df in self.events.values() if len(df)]
        firsts = [f for f in firsts if pd.notna(f)]
        return pd.Timestamp(min(firsts)).normalize() if firsts else None

    @property
    def mode(self) -> str:
        """``"snapshot"`` (one table with a label) or ``"events"``."""
        return "snapshot" if self.label is not None else "events"

    def summary(self) -> dict[str, Any]:
        """Counts of customers, events per table and rejects per table."""
        return {
            "customers": len(self.customers),
            "events": {name: len(df) for name, df in self.events.items()},
            "rejects": self.rejects.groupby("table").size().to_dict() if len(self.rejects) else {},
            "end": str(self.end.date()),
            **({"ignored": dict(self.ignored)} if self.ignored else {}),
        }


def _distinct(raw: pd.Series) -> tuple[np.ndarray, pd.Series] | None:
    """Codes (-1 missing) and distinct values of a text or category column, else None.

    Parsing the few distinct values of a column of tens of millions of rows,
    then broadcasting the results, costs one hashing pass instead of a Python
    string per row.
    """
    if not (raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype)
            or isinstance(raw.dtype, pd.CategoricalDtype)):
        return None
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    return codes, pd.Series(uniques)


def _named(values: pd.Series, names: Mapping[str, str]) -> pd.Series:
    """Category values with their codes replaced by the configured names (``labels:``)."""
    if not names:
        return values
    codes, _ = parse_ids(values)  # "5", " 5" and 5.0 are all the code "5"
    named = codes.map(dict(names))
    return named.where(named.notna(), codes.where(codes.notna(), values)).astype(object)


def _parse_typed(
    frame: pd.DataFrame, table: str, col: str, kind: str, rejects: Rejects,
    ids: pd.Series | None, *, category: bool = False, names: Mapping[str, str] | None = None,
    fmt: ColumnFormat | None = None, share: float | None = None,
) -> pd.Series:
    """Parse one column by type; unparseable values become missing and are reported.

    Categorical, text and boolean text columns are parsed by distinct value;
    categorical columns come back as pandas ``category`` when ``category`` is
    true, else as object strings, with coded values replaced by ``names``. With ``share``,
    a column with more than that share of its present values unreadable is an error (see
    :func:`check_column_loss`).
    """
    raw = frame[col]
    if names and kind == "categorical" and _distinct(raw) is None:
        raw = raw.astype(object).where(raw.notna(), None)
    distinct = _distinct(raw) if kind not in ("numeric", "datetime") else None
    if distinct is not None:
        codes, uniques = distinct
        if kind == "boolean":
            values, bad_u = parse_bool(uniques)
            parsed = pd.Series(np.append(values.to_numpy(), np.nan)[codes], index=raw.index)
        else:
            values, bad_u = parse_categorical(uniques)
            if kind == "categorical":
                values = _named(values, names or {})
            if category and kind == "categorical":
                level, levels = pd.factorize(values.to_numpy(dtype=object))
                cat = pd.Categorical.from_codes(
                    np.append(level, -1)[codes], categories=pd.Index(levels, dtype=object))
                parsed = pd.Series(cat, index=raw.index)
            else:
                with_missing = np.append(values.to_numpy(dtype=object), np.array([None], dtype=object))
                parsed = pd.Series(with_missing[codes], index=raw.index, dtype=object)
        bad = pd.Series(np.append(bad_u.to_numpy(dtype=bool), False)[codes], index=raw.index)
        reason: str | np.ndarray = f"unparseable {kind} value; set to missing"
    else:
        parsed, bad, other, why = parse_as(raw, kind, fmt)
        reason = np.where(other.to_numpy(dtype=bool), why,
                          f"unparseable {kind} value; set to missing")
    if share is not None:
        check_column_loss(frame, table, col, kind, parsed, bad, share)
    rejects.add(table, bad, frame, ids, col, raw, reason)
    return parsed


def _event_ids(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """:func:`parse_ids` by distinct value: ids as a ``category`` column, and the missing mask."""
    distinct = _distinct(raw)
    if distinct is None:
        ids, missing = parse_ids(raw)
        return ids, missing
    codes, uniques = distinct
    parsed, _ = parse_ids(uniques)
    level, levels = pd.factorize(parsed.to_numpy(dtype=object))
    row = np.append(level, -1)[codes]
    ids = pd.Series(pd.Categorical.from_codes(row, categories=pd.Index(levels, dtype=object)),
                    index=raw.index)
    return ids, pd.Series(row < 0, index=raw.index)


def _source(cfg: Config, spec: Any, name: str, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    key = name if name in {"customers", "snapshot"} else f"events.{name}"
    frame = source_table(cfg, spec, name, tables, key=key)
    check_format_columns(frame, spec, name, key)
    dup = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if dup:
        raise SchemaError(
            f"Table {name!r} has duplicate column name(s) {dup}. "
            "Rename them so each column name is unique."
        )
    return frame


def _bad_lines(frame: pd.DataFrame, name: str, id_col: str | None, rejects: Rejects) -> None:
    """Report the CSV lines whose number of fields differs from the header's (see read_table)."""
    bad = frame.attrs.get("bad_lines") or []
    if not bad:
        return
    header = [h.strip() for h in frame.attrs.get("header", [])]
    at = header.index(id_col) if id_col in header else None
    rows = pd.Index([r for r, _ in bad], dtype=np.int64)
    raw = pd.Series([f[at] if at is not None and at < len(f) else None for _, f in bad],
                    index=rows, dtype=object)
    ids, _ = parse_ids(raw)
    line = pd.Series([",".join(f) for _, f in bad], index=rows, dtype=object)
    reason = np.array([
        f"line has {len(f)} fields but the header has {len(header)}; row dropped (quote fields "
        "that contain the delimiter, e.g. \"1,234.5\", or set the table's 'sep' key)"
        for _, f in bad
    ], dtype=object)
    rejects.add(name, pd.Series(True, index=rows), pd.DataFrame(index=rows), ids, "", line,
                reason, drop=True)


def _conflicts(out: pd.DataFrame, dup: pd.Series, raw_names: Mapping[str, str]
               ) -> tuple[pd.Series, pd.Series]:
    """Rows of customers whose duplicate rows disagree, and a reason per row naming the columns."""
    block = out[dup.to_numpy()]
    key = block["customer_id"].astype(object)
    text = block.drop(columns="customer_id").astype(object).where(block.notna(), None).astype(str)
    differs = text.groupby(key.to_numpy(), sort=False).nunique(dropna=False).gt(1)
    bad_ids = differs.index[differs.any(axis=1).to_numpy()]
    conflicting = out["customer_id"].isin(bad_ids) & dup
    columns = differs.loc[bad_ids].apply(
        lambda r: ", ".join(raw_names.get(c, c) for c in r.index[r.to_numpy()]), axis=1)
    n_rows = key.value_counts()
    reason = pd.Series("", index=out.index, dtype=object)
    where = conflicting.to_numpy()
    cid = out.loc[where, "customer_id"].astype(object)
    reason[where] = np.array([
        f"customer appears in {n_rows[c]} rows with conflicting values ({columns[c]}); "
        "all its rows dropped (keep one row per customer)" for c in cid
    ], dtype=object)
    return conflicting, reason


def _clash(table: str, col: str, key: str, *, declared: bool) -> None:
    """A column named like a canonical column: an error if declared, else left out."""
    if declared:
        raise SchemaError(
            f"Table {table!r}: column {col!r} has the name of a column churnkit makes itself "
            f"(customer_id, timestamp or a role such as segment or value). Rename it in the file, "
            f"or remove it from data.{key} in the config."
        )


def _looks_like_dates(raw: pd.Series) -> bool:
    """Whether a text column holds dates: 99% of its values look like dates and parse.

    Numbers such as ``20240131`` or ``2024`` are left to the other types; the
    few values that are no date are set to missing and reported when parsed.
    """
    if pd.api.types.is_datetime64_any_dtype(raw):
        return True
    if not (raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype)
            or isinstance(raw.dtype, pd.CategoricalDtype)):
        return False
    sample = raw.dropna().astype(str).str.strip()
    sample = sample[sample != ""].iloc[:2000]
    if not len(sample):
        return False
    shaped = sample.str.fullmatch(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T][\d:.]+)?")
    if shaped.mean() < 0.99:
        return False
    _, bad = parse_dates(sample[shaped.to_numpy()])
    return bool(1 - bad.mean() * shaped.mean() >= 0.99)


def _load_customers(
    frame: pd.DataFrame, spec: CustomersTable | SnapshotTable, name: str, rejects: Rejects,
    ignored: dict[str, str] | None = None, share: float = 0.5,
) -> tuple[pd.DataFrame, dict[str, str]]:
    id_col = spec.customer_id
    labels = dict(spec.labels)
    roles: dict[str, str] = {
        r: c for r in CUSTOMER_ROLES if (c := getattr(spec, r, None)) is not None
    }
    churned = getattr(spec, "churned", None)
    needed = [c for c in [id_col, *roles.values(), churned] if c is not None]
    require_config_columns(frame, name, needed, name)
    if frame.empty and not frame.attrs.get("bad_lines"):
        where = f" (file {frame.attrs['path']})" if "path" in frame.attrs else ""
        raise SchemaError(
            f"Table {name!r}{where} has no rows, only a header. Export the table again with its "
            "rows, or point the config at the right file."
        )
    _bad_lines(frame, name, id_col, rejects)

    if id_col is None:
        ids = pd.Series([str(i) for i in frame.index], index=frame.index, dtype=object)
        missing = pd.Series(False, index=frame.index)
    else:
        ids, missing = parse_ids(frame[id_col])
        check_table_loss(frame, name, {"customer id missing": missing},
                         len(frame.attrs.get("bad_lines") or []), share, name)
        check_case_collisions(ids, frame, name, id_col)
    rejects.add(name, missing, frame, None, id_col or "", None, "missing customer id; row dropped",
                drop=True)
    drop = missing.copy()
    out = pd.DataFrame({"customer_id": ids}, index=frame.index)
    for role, col in roles.items():
        out[role] = _parse_typed(frame, name, col, _ROLE_TYPES[role], rejects, ids,
                                 names=labels.get(col),
                                 fmt=column_format(frame, spec, col, name), share=share)
    if churned is not None and "end_date" in out:
        # a churn date of a customer who came back (flag false) is not an end
        gone = _parse_typed(frame, name, churned, "boolean", rejects, ids)
        out["end_date"] = out["end_date"].where(gone == 1.0)
    if "end_date" in out and "signup_date" in out:
        bad = out["end_date"].notna() & out["signup_date"].notna() & (
            out["end_date"] < out["signup_date"]
        )
        rejects.add(name, bad & ~drop, frame, ids, roles["end_date"], frame[roles["end_date"]],
                    f"end date before the signup date ({roles['signup_date']}); row dropped",
                    drop=True)
        drop = drop | bad
    if "wallet_share" in out:
        bad = out["wallet_share"].notna() & ~out["wallet_share"].between(0, 1)
        rejects.add(name, bad, frame, ids, roles["wallet_share"], frame[roles["wallet_share"]],
                    "wallet share outside [0, 1]; set to missing")
        out.loc[bad, "wallet_share"] = np.nan
    if "value" in out:  # revenue per month: a value at risk needs a finite amount >= 0
        money = out["value"].to_numpy(dtype="float64", na_value=np.nan)
        for flags, what in ((np.isinf(money), "infinite"), (np.isfinite(money) & (money < 0), "negative")):
            bad_rows = pd.Series(flags, index=out.index)
            rejects.add(name, bad_rows, frame, ids, roles["value"], frame[roles["value"]],
                        f"{what} monthly value; set to missing (no value at risk)")
            out.loc[bad_rows, "value"] = np.nan

    used = {id_col, *roles.values(), *spec.exclude, churned}
    if isinstance(spec, SnapshotTable):
        used.add(spec.label)
    declared = dict(getattr(spec, "attributes", {}) or getattr(spec, "columns", {}))
    attributes: dict[str, str] = {}
    ignored = {} if ignored is None else ignored
    for col in frame.columns:
        if col in used:
            continue
        if col in out.columns:
            _clash(name, col, name, declared=col in declared)
            continue
        kind = declared.get(col) or ("categorical" if col in labels else infer_type(frame[col]))
        if col not in declared and kind in {"text", "categorical"} and _looks_like_dates(frame[col]):
            kind = "datetime"
        if kind == "text":
            ignored[f"{name}.{col}"] = (
                "free text is not used as a customer attribute (declare it categorical to use "
                "its values, or list it under exclude)")
            continue
        attributes[col] = kind
        out[col] = _parse_typed(frame, name, col, kind, rejects, ids, names=labels.get(col),
                                fmt=column_format(frame, spec, col, name),
                                share=share if col in declared else None)

    # duplicates among the kept rows: identical rows collapse; conflicting rows drop the customer
    kept_ids = out["customer_id"].where(~drop)
    dup = kept_ids.duplicated(keep=False) & ~drop
    extra = pd.Series(False, index=out.index)
    if dup.any():
        raw_names = {**roles, **{c: c for c in attributes}}
        conflicting, reason = _conflicts(out, dup, raw_names)
        rejects.add(name, conflicting, frame, ids, id_col or "", frame[id_col] if id_col else None,
                    reason.to_numpy(), drop=True)
        extra = dup & ~conflicting & kept_ids.where(~conflicting).duplicated(keep="first")
        rejects.add(name, extra, frame, ids, id_col or "", frame[id_col] if id_col else None,
                    "same customer id and values as an earlier row; this copy ignored "
                    "(the customer is kept)", drop=True)
        drop = drop | conflicting | extra
    # a customer with a row set aside and other rows: which row is right is unknown
    gone_ids = out["customer_id"].where(drop & ~missing & ~extra).dropna().unique()
    orphan = ~drop & out["customer_id"].isin(gone_ids)
    rejects.add(name, orphan, frame, ids, id_col or "", frame[id_col] if id_col else None,
                "another row of this customer was rejected (see its reject line); row dropped",
                drop=True)
    drop = drop | orphan
    return out[~drop.to_numpy()], attributes


def _load_events(
    frame: pd.DataFrame, spec: EventTable, name: str, known: pd.Index, rejects: Rejects,
    end: pd.Timestamp | None, config: Config, tables: Mapping[str, pd.DataFrame],
    id_type: pd.CategoricalDtype, rejected: set[Any] | None = None,
    ignored: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, EventSpec, np.ndarray]:
    require_config_columns(frame, name, [spec.customer_id], f"events.{name}")
    _bad_lines(frame, name, spec.customer_id if not spec.lookup else None, rejects)
    ids, missing_id = _event_ids(frame[spec.customer_id])
    no_id = missing_id.copy()
    rejects.add(name, missing_id, frame, None, spec.customer_id, None,
                "missing customer id; row dropped", drop=True)
    if spec.lookup:
        ids = ids.astype(object).where(~missing_id, None)
        frame, ids, unlinked = apply_lookups(frame, ids, missing_id, spec, name, config, tables,
                                             rejects)
        missing_id = missing_id | unlinked
    require_config_columns(frame, name, [spec.timestamp], f"events.{name}")
    require_config_columns(frame, name, [*spec.columns, *spec.roles.values()], f"events.{name}")
    ts, bad_ts, other_ts, why = parse_dates_detail(
        frame[spec.timestamp], column_format(frame, spec, spec.timestamp, f"events.{name}"))
    rejects.add(name, bad_ts, frame, ids, spec.timestamp, frame[spec.timestamp],
                np.where(other_ts.to_numpy(),
                         why.replace("datetime value", "timestamp").replace("set to missing",
                                                                            "row dropped"),
                         "unparseable timestamp; row dropped (use ISO 8601, e.g. "
                         "2024-03-31T14:05:00)"),
                drop=True)
    no_ts = ts.isna() & ~bad_ts
    check_table_loss(frame, name, {"customer id missing": no_id, "timestamp unparseable": bad_ts,
                                   "timestamp missing": no_ts},
                     len(frame.attrs.get("bad_lines") or []), config.data.max_rejected_share,
                     f"events.{name}")
    rejects.add(name, no_ts, frame, ids, spec.timestamp, None, "missing timestamp; row dropped",
                drop=True)
    # customer ids as codes into the sorted ids of the customers table, shared by all tables;
    # looked up once, they also tell the unknown ids (no second pass over the id strings)
    if isinstance(ids.dtype, pd.CategoricalDtype):
        pos = id_type.categories.get_indexer(ids.cat.categories)
        code = np.append(pos, -1)[ids.cat.codes.to_numpy()]
    else:
        code = id_type.categories.get_indexer(pd.Index(ids))
    unknown = ~missing_id & pd.Series(code < 0, index=missing_id.index)
    if unknown.any():
        gone = pd.Index(list(rejected)) if rejected else pd.Index([], dtype=object)
        was_rejected = unknown & ids.isin(gone)
        rejects.add(name, was_rejected, frame, ids, spec.customer_id, frame[spec.customer_id],
                    "event of a customer whose customers row was rejected (see that reject); "
                    "row dropped", drop=True)
        other = unknown & ~was_rejected
        cased = ids[other].astype(object)
        like = cased.map(match_case(pd.Index(cased.unique(), dtype=object), known))
        by_case = pd.Series(False, index=frame.index)
        by_case[like.index[like.notna().to_numpy()]] = True
        reason = np.array([f"customer id differs only by case from {v!r} in the customers "
                           "table; row dropped (ids are compared exactly: write the id one way "
                           "in every table)" for v in like.fillna("")], dtype=object)
        full = np.empty(len(frame), dtype=object)
        full[frame.index.get_indexer(like.index)] = reason
        rejects.add(name, by_case, frame, ids, spec.customer_id, frame[spec.customer_id], full,
                    drop=True)
        rejects.add(name, other & ~by_case, frame, ids, spec.customer_id,
                    frame[spec.customer_id],
                    "event of a customer not in the customers table; row dropped (add the "
                    "customer to the customers table, or fix the id)", drop=True)
    drop = missing_id | ts.isna() | unknown
    if end is not None:
        late = ~drop & (ts >= end)
        # the value as parsed, as when the end is found after loading (see load_dataset)
        rejects.add(name, late, frame, ids, spec.timestamp, ts, late_reason(end), drop=True)
        drop = drop | late

    used = {spec.customer_id, spec.timestamp, *spec.exclude}
    types: dict[str, str] = {}
    customer = pd.Categorical.from_codes(code, dtype=id_type)
    out = pd.DataFrame({"customer_id": customer, "timestamp": ts}, index=frame.index)
    role_types = {"duration": "numeric", "score": "numeric", "resolved": "boolean"}
    role_of = {col: role for role, col in spec.roles.items()}
    for col in frame.columns:
        if col in used:
            continue
        if col in out.columns:
            _clash(name, col, f"events.{name}", declared=col in spec.columns)
            continue
        kind = spec.columns.get(col) or role_types.get(role_of.get(col, "")) or (
            "categorical" if col in role_of or col in spec.labels else infer_type(frame[col])
        )
        if kind == "datetime":
            if ignored is not None:
                ignored[f"{name}.{col}"] = (
                    "a date column of an event table is not used (only its timestamp is); list "
                    "it under exclude to silence this")
            continue
        types[col] = kind
        out[col] = _parse_typed(frame, name, col, kind, rejects, ids, category=True,
                                names=spec.labels.get(col),
                                fmt=column_format(frame, spec, col, f"events.{name}"),
                                share=(config.data.max_rejected_share
                                       if col in spec.columns else None))
    if "duration" in spec.roles and types.get(spec.roles["duration"]) == "numeric":
        col = spec.roles["duration"]
        neg = out[col] < 0
        rejects.add(name, neg, frame, ids, col, frame[col], "negative duration; set to missing")
        out.loc[neg, col] = np.nan
    if "score" in spec.roles and types.get(spec.roles["score"]) == "numeric":
        col = spec.roles["score"]
        bad = out[col].notna() & ~out[col].between(0, 10)
        rejects.add(name, bad, frame, ids, col, frame[col],
                    "score outside 0-10 (NPS) / 1-5 (CSAT); set to missing")
        out.loc[bad, col] = np.nan
    keep = ~drop.to_numpy()
    out = out[keep]
    # sorted by customer id, then time (stable): the order of sort_values on the ids
    stamps = out["timestamp"].to_numpy("datetime64[ns]").view(np.int64)
    if _in_order(code[keep], stamps):  # exported in that order already: nothing to move
        rows = out.index.to_numpy()
        out = out.reset_index(drop=True)
    else:
        order = np.lexsort((stamps, code[keep]))
        rows = out.index.to_numpy()[order]
        out = out.take(order).reset_index(drop=True)
    return out, EventSpec(name, spec.kind, types, dict(spec.roles), dict(spec.aggregations),
                          text=spec.text), rows


def _in_order(codes: np.ndarray, stamps: np.ndarray) -> bool:
    """Whether rows are sorted by ``codes``, then ``stamps``, i.e. ``lexsort`` would keep them.

    One pass over the rows, against a sort of them all: tables exported from a
    database ordered by customer and time, or written by churnkit, load without
    moving a row.

    Examples
    --------
    >>> _in_order(np.array([0, 0, 1]), np.array([5, 7, 1])), _in_order(np.array([0, 1, 0]),
    ...                                                               np.array([1, 2, 3]))
    (True, False)
    """
    if len(codes) < 2:
        return True
    step = codes[1:] > codes[:-1]
    return bool((step | (codes[1:] == codes[:-1])).all()
                and (step | (stamps[1:] >= stamps[:-1])).all())


def _customers_from_events(
    config: Config, name: str, tables: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """A customers table derived from an event table: its ids and first-event dates."""
    spec = config.data.events[name]
    frame = _source(config, spec, name, tables)
    require_config_columns(frame, name, [spec.customer_id], f"events.{name}")
    ids, missing = parse_ids(frame[spec.customer_id])
    if spec.lookup:  # rows that cannot be linked are reported when the table itself loads
        frame, ids, unlinked = apply_lookups(frame, ids, missing, spec, name, config, tables,
                                             Rejects())
        missing = missing | unlinked
    require_config_columns(frame, name, [spec.timestamp], f"events.{name}")
    ts, _ = parse_dates(frame[spec.timestamp],
                        column_format(frame, spec, spec.timestamp, f"events.{name}"))
    keep = ~missing.to_numpy()
    first = pd.Series(ts.to_numpy()[keep]).groupby(ids.to_numpy()[keep], sort=True).min()
    cust = config.data.customers
    assert cust is not None
    return pd.DataFrame({cust.customer_id: first.index.astype(str),
                         cust.signup_date or "signup_date": first.to_numpy()})


def stamp_of(customers: pd.DataFrame, events: Mapping[str, pd.DataFrame]) -> DayCounts:
    """Rows per day of the event timestamps, and of the customer dates (see ``find_end``)."""
    cust_dates = [customers[c] for c in ("signup_date", "end_date") if c in customers]
    return (day_counts(df["timestamp"] for df in events.values()), day_counts(cust_dates))


def load_dataset(config: Config, tables: Mapping[str, pd.DataFrame] | None = None) -> Dataset:
    """Read and validate every table of a configuration.

    Parameters
    ----------
    config : Config
        The validated configuration (see :func:`churnkit.load_config`).
    tables : mapping of str to DataFrame, optional
        In-memory tables that replace the files named in the config, keyed
        ``"customers"``, ``"snapshot"`` or an event table's name.

    Returns
    -------
    Dataset

    Raises
    ------
    SchemaError
        For table-level problems: missing file or column, empty table, wrong
        delimiter or encoding, duplicate column names. Row-level problems go
        to ``Dataset.rejects`` instead.

    Examples
    --------
    >>> import churnkit as ck
    >>> from churnkit._core import builtin_config
    >>> config = ck.load_config(builtin_config("default.yaml"))
    >>> crm = ck.datasets.make_crm(300, random_state=0)
    >>> dataset = ck.load_dataset(config, crm.tables)
    >>> len(dataset.customers), sorted(dataset.events)
    (300, ['contacts', 'feedback', 'transactions', 'usage'])
    >>> dataset.end
    Timestamp('2026-01-01 00:00:00')
    >>> len(dataset.rejects)
    0
    """
    tables = dict(tables or {})
    rejects = Rejects()
    ignored: dict[str, str] = {}
    data = config.data
    end = pd.Timestamp(data.end) if data.end is not None else None
    if data.snapshot is not None:
        snap = data.snapshot
        frame = _source(config, snap, "snapshot", tables)
        require_config_columns(frame, "snapshot", [snap.label], "snapshot")
        customers, attributes = _load_customers(frame, snap, "snapshot", rejects, ignored,
                                                data.max_rejected_share)
        label_text = frame[snap.label].astype("string").str.strip().str.lower()
        positives = {str(v).strip().lower() for v in snap.positive}
        missing_label = label_text.isna()
        kept = missing_label & frame.index.isin(customers.index)
        rejects.add("snapshot", kept, frame, None, snap.label, None, "missing label; row dropped",
                    drop=True)
        customers = customers[~missing_label.loc[customers.index].to_numpy()]
        label = label_text.loc[customers.index].isin(positives).astype(bool).rename("label")
        customers = customers.reset_index(drop=True)
        label = label.reset_index(drop=True)
        return Dataset(customers, attributes, {}, {}, end or pd.Timestamp.now().normalize(),
                       label, rejects.frame(), ignored)

    assert data.customers is not None  # guaranteed by DataConfig validation
    cust_spec = data.customers
    # table-level problems of every table are collected and reported together
    problems: list[str] = []
    try:
        if cust_spec.from_events is not None:
            frame = _customers_from_events(config, cust_spec.from_events, tables)
            cust_spec = cust_spec.model_copy(
                update={"signup_date": cust_spec.signup_date or "signup_date"}
            )
        else:
            frame = _source(config, cust_spec, "customers", tables)
        frame = apply_joins(frame, cust_spec, config, tables, rejects)
        customers, attributes = _load_customers(frame, cust_spec, "customers", rejects, ignored,
                                                data.max_rejected_share)
    except SchemaError as exc:
        problems.append(str(exc))
        customers, attributes = pd.DataFrame({"customer_id": pd.Series(dtype=object)}), {}
    customers = customers.reset_index(drop=True)
    known = pd.Index(customers["customer_id"])
    rejected = rejects.dropped_ids("customers")
    # event tables hold customer ids as a category over the sorted customer ids
    id_type = pd.CategoricalDtype(known.sort_values())
    events: dict[str, pd.DataFrame] = {}
    specs: dict[str, EventSpec] = {}
    source_rows: dict[str, np.ndarray] = {}
    for name, spec in data.events.items():
        try:
            ev_frame = _source(config, spec, name, tables)
            events[name], specs[name], source_rows[name] = _load_events(
                ev_frame, spec, name, known, rejects, end, config, tables, id_type, rejected,
                ignored)
        except SchemaError as exc:
            problems.append(str(exc))
    if len(problems) == 1:
        raise SchemaError(problems[0])
    if problems:
        raise SchemaError(
            f"{len(problems)} tables cannot be loaded:\n" + "\n".join(f"- {p}" for p in problems)
        )
    if end is None:
        end = find_end([stamp_of(customers, events)])
        for name, ev in events.items():
            late = ev["timestamp"] >= end
            if late.any():
                ev_rows = pd.DataFrame(index=source_rows[name])
                rejects.add(name, late, ev_rows, ev["customer_id"], data.events[name].timestamp,
                            ev["timestamp"], late_reason(end), drop=True)
                events[name] = ev[~late.to_numpy()].reset_index(drop=True)
    return Dataset(customers, attributes, events, specs, end, None, rejects.frame(), ignored)
