"""Event tables: ids coded against the customers, timestamps, typed columns, customer-time order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churnkit._core.jit import cached_njit
from churnkit.config import Config, EventTable
from churnkit.data._checks import check_table_loss, match_case
from churnkit.data._end import late_reason
from churnkit.data._links import apply_lookups, column_format, require_config_columns
from churnkit.data._merge import merged_positions
from churnkit.data._parse import infer_type, parse_dates_detail, parse_ids
from churnkit.data._rejects import Rejects
from churnkit.data._table import (
    check_clash,
    distinct_codes,
    parse_typed,
    reason_where,
    report_bad_lines,
)

__all__ = ["EventSpec", "load_events"]


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



def _event_ids(raw: pd.Series, id_type: pd.CategoricalDtype, known_text: pa.Array | None = None
               ) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """:func:`parse_ids` of an id column as a ``category``, its missing mask, its customer codes.

    The codes are each row's position among ``id_type``'s categories (the
    sorted customer ids), -1 when none. The values that are exactly a customer's
    id (most of them) are looked up in one pass over the text, unparsed:
    :func:`parse_ids` leaves a parsed id unchanged. The others are parsed by
    distinct value, then looked up. ``known_text`` are the categories as from
    :func:`~churnkit.data._merge.sorted_text`, for tables in customer order.
    """
    known = id_type.categories
    code = _exact_positions(raw, known, known_text)
    rest = np.flatnonzero(code < 0)
    if not len(rest):  # every id is a customer's: the codes are valid by construction
        ids = pd.Series(pd.Categorical.from_codes(code, dtype=id_type, validate=False),
                        index=raw.index, copy=False)
        return ids, pd.Series(False, index=raw.index), code
    sub = raw.iloc[rest]
    distinct = distinct_codes(sub)
    if distinct is None:
        parsed, _ = parse_ids(sub)
        level, levels = pd.factorize(parsed.to_numpy(dtype=object))
    else:
        codes, uniques = distinct
        parsed_u, _ = parse_ids(uniques)
        level_u, levels = pd.factorize(parsed_u.to_numpy(dtype=object))
        level = np.append(level_u, -1)[codes]
    pos = known.get_indexer(pd.Index(levels, dtype=object))
    extra = pos < 0
    # categories: the customers' ids, then the parsed ids that are none of them
    cat_of_level = np.where(extra, len(known) + np.cumsum(extra) - 1, pos)
    cat_code = code.astype(np.int64)
    cat_code[rest] = np.append(cat_of_level, -1)[level]
    code[rest] = np.append(pos, -1)[level]
    categories = known.append(pd.Index(levels[extra], dtype=object)) if extra.any() else known
    ids = pd.Series(pd.Categorical.from_codes(cat_code, categories=categories), index=raw.index)
    return ids, pd.Series(cat_code < 0, index=raw.index, copy=False), code


def _exact_positions(raw: pd.Series, known: pd.Index, known_text: pa.Array | None = None
                     ) -> np.ndarray:
    """Each value's position in ``known``, -1 if it is not exactly one of them (or not text).

    Merged with ``known_text`` (``known`` as sorted Arrow text) when the rows are in
    customer order, else hashed (against ``known_text`` too, when it is given).
    """
    if not (isinstance(raw.dtype, pd.StringDtype) and hasattr(raw.array, "__arrow_array__")):
        return np.full(len(raw), -1, dtype=np.int32)
    arrow = raw.array.__arrow_array__()  # a ChunkedArray, or an Array in some versions
    values = arrow if isinstance(arrow, pa.ChunkedArray) else pa.chunked_array([arrow])
    if not len(values) or not len(known):
        return np.full(len(raw), -1, dtype=np.int32)
    if known_text is not None and (pa.types.is_string(values.type)
                                   or pa.types.is_large_string(values.type)):
        merged = merged_positions(values, known_text)
        if merged is not None:
            return merged
        known_arrow = known_text.cast(values.type)
    else:
        known_arrow = pa.array(known.to_numpy(dtype=object), type=values.type, from_pandas=True)
    where = pc.index_in(values, value_set=known_arrow)
    return pc.fill_null(where, -1).to_numpy().astype(np.int32)


def load_events(
    frame: pd.DataFrame, spec: EventTable, name: str, known: pd.Index, rejects: Rejects,
    end: pd.Timestamp | None, config: Config, tables: Mapping[str, pd.DataFrame],
    id_type: pd.CategoricalDtype, rejected: set[Any] | None = None,
    ignored: dict[str, str] | None = None, known_text: pa.Array | None = None,
) -> tuple[pd.DataFrame, EventSpec, pd.Index]:
    """Validate one event table: its rows sorted by customer and time, its spec, their source rows.

    Rows without a usable customer id or timestamp, of unknown customers, or
    at or after ``end`` are dropped; unreadable values are set to missing;
    each goes to ``rejects`` with its reason. ``known_text`` (the categories of
    ``id_type`` from :func:`~churnkit.data._merge.sorted_text`) speeds up tables in
    customer order.
    """
    require_config_columns(frame, name, [spec.customer_id], f"events.{name}")
    report_bad_lines(frame, name, spec.customer_id if not spec.lookup else None, rejects)
    ids, missing_id, code = _event_ids(frame[spec.customer_id], id_type, known_text)
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
                reason_where(other_ts,
                             why.replace("datetime value", "timestamp").replace("set to missing",
                                                                                "row dropped"),
                             "unparseable timestamp; row dropped (use ISO 8601, e.g. "
                             "2024-03-31T14:05:00)"),
                drop=True)
    no_stamp = np.isnat(ts.to_numpy("datetime64[ns]"))
    no_ts = pd.Series(no_stamp & ~bad_ts.to_numpy(dtype=bool), index=ts.index, copy=False)
    check_table_loss(frame, name, {"customer id missing": no_id, "timestamp unparseable": bad_ts,
                                   "timestamp missing": no_ts},
                     len(frame.attrs.get("bad_lines") or []), config.data.max_rejected_share,
                     f"events.{name}")
    rejects.add(name, no_ts, frame, ids, spec.timestamp, None, "missing timestamp; row dropped",
                drop=True)
    # customer ids as codes into the sorted ids of the customers table, shared by all tables;
    # looked up once, they also tell the unknown ids (no second pass over the id strings)
    if spec.lookup:  # ids replaced by those of the linked tables
        code = id_type.categories.get_indexer(pd.Index(ids))
    unknown = pd.Series(~missing_id.to_numpy(dtype=bool) & (code < 0), index=missing_id.index,
                        copy=False)
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
    drop = pd.Series(missing_id.to_numpy(dtype=bool) | no_stamp | unknown.to_numpy(),
                     index=missing_id.index, copy=False)
    if end is not None:
        late = ~drop & (ts >= end)
        # the value as parsed, as when the end is found after loading (see load_dataset)
        rejects.add(name, late, frame, ids, spec.timestamp, ts, late_reason(end), drop=True)
        drop = drop | late

    used = {spec.customer_id, spec.timestamp, *spec.exclude}
    types: dict[str, str] = {}
    customer = (ids.array if ids.dtype == id_type  # every id a customer's (see _event_ids)
                else pd.Categorical.from_codes(code, dtype=id_type, validate=False))
    out = pd.DataFrame({"customer_id": customer, "timestamp": ts}, index=frame.index, copy=False)
    role_types = {"duration": "numeric", "score": "numeric", "resolved": "boolean"}
    role_of = {col: role for role, col in spec.roles.items()}
    for col in frame.columns:
        if col in used:
            continue
        if col in out.columns:
            check_clash(name, col, f"events.{name}", declared=col in spec.columns)
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
        out[col] = parse_typed(frame, name, col, kind, rejects, ids, category=True,
                                names=spec.labels.get(col),
                                fmt=column_format(frame, spec, col, f"events.{name}"),
                                share=(config.data.max_rejected_share
                                       if col in spec.columns else None))
    if "duration" in spec.roles and types.get(spec.roles["duration"]) == "numeric":
        col = spec.roles["duration"]
        neg = out[col] < 0
        if neg.any():
            rejects.add(name, neg, frame, ids, col, frame[col], "negative duration; set to missing")
            out.loc[neg, col] = np.nan
    if "score" in spec.roles and types.get(spec.roles["score"]) == "numeric":
        col = spec.roles["score"]
        bad = out[col].notna() & ~out[col].between(0, 10)
        if bad.any():
            rejects.add(name, bad, frame, ids, col, frame[col],
                        "score outside 0-10 (NPS) / 1-5 (CSAT); set to missing")
            out.loc[bad, col] = np.nan
    keep = ~drop.to_numpy()
    if not keep.all():  # no copy of a table that lost no row
        out = out[keep]
        code = code[keep]
    # sorted by customer id, then time (stable): the order of sort_values on the ids
    stamps = out["timestamp"].to_numpy("datetime64[ns]").view(np.int64)
    if _in_order(code, stamps):  # exported in that order already: nothing to move
        rows = out.index  # a range when no row was dropped: nothing materialised
        out = out.reset_index(drop=True)
    else:
        order = np.lexsort((stamps, code))
        rows = out.index.take(order)
        out = out.take(order).reset_index(drop=True)
    return out, EventSpec(name, spec.kind, types, dict(spec.roles), dict(spec.aggregations),
                          text=spec.text), rows



@cached_njit()
def _in_order(codes: np.ndarray, stamps: np.ndarray) -> bool:
    """Whether rows are sorted by ``codes``, then ``stamps``, i.e. ``lexsort`` would keep them.

    One compiled pass over the rows, stopping at the first out of order, against
    a sort of them all: tables exported from a database ordered by customer and
    time, or written by churnkit, load without moving a row.

    Examples
    --------
    >>> _in_order(np.array([0, 0, 1]), np.array([5, 7, 1])), _in_order(np.array([0, 1, 0]),
    ...                                                               np.array([1, 2, 3]))
    (True, False)
    """
    for i in range(1, codes.shape[0]):
        if codes[i] < codes[i - 1] or (codes[i] == codes[i - 1] and stamps[i] < stamps[i - 1]):
            return False
    return True
