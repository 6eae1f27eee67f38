"""Helpers shared by the table loaders: a table's source, its bad lines, one column by type."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import ArrowStringArray

from churnkit._core.jit import cached_njit
from churnkit._core.threads import threads_for
from churnkit.config import Config
from churnkit.data._checks import check_column_loss
from churnkit.data._links import check_format_columns, parse_as, source_table
from churnkit.data._merge import chunk_runs
from churnkit.data._parse import ColumnFormat, parse_bool, parse_categorical, parse_ids
from churnkit.data._rejects import Rejects
from churnkit.exceptions import SchemaError

__all__ = ["check_clash", "distinct_codes", "parse_typed", "read_source", "reason_where",
           "report_bad_lines"]


def distinct_codes(raw: pd.Series) -> tuple[np.ndarray, pd.Series] | None:
    """Codes (-1 missing) and distinct values of a text or category column, else None.

    Parsing the few distinct values of a column of tens of millions of rows,
    then broadcasting the results, costs one hashing pass instead of a Python
    string per row.
    """
    if isinstance(raw.dtype, pd.CategoricalDtype):
        return _category_codes(raw)
    if not (raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype)):
        return None
    threads = threads_for(len(raw))
    if isinstance(raw.array, ArrowStringArray) and threads > 1:
        return _arrow_codes(raw, threads)
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    return codes, pd.Series(uniques)


def _arrow_codes(raw: pd.Series, parts: int) -> tuple[np.ndarray, pd.Series]:
    """``pd.factorize`` of Arrow text: ``parts`` runs of chunks encoded by threads, then unified.

    Each run's dictionary lists its values as they first appear; unifying them
    in order keeps that order over all rows, so codes and values are those of
    ``pd.factorize``.
    """
    arrow = raw.array.__arrow_array__()
    values = arrow if isinstance(arrow, pa.ChunkedArray) else pa.chunked_array([arrow])
    runs = chunk_runs(values, parts)
    with ThreadPoolExecutor(max(len(runs), 1)) as pool:  # Arrow releases the GIL
        encoded = list(pool.map(
            lambda run: pa.chunked_array([c for _, c in run], type=values.type).dictionary_encode(),
            runs))
    chunks = [c for e in encoded for c in e.chunks]
    if not chunks:
        return np.zeros(0, dtype=np.int32), pd.Series(raw.iloc[:0].array)
    unified = pa.chunked_array(chunks).unify_dictionaries()
    codes = np.concatenate([pc.fill_null(c.indices, -1).to_numpy() for c in unified.chunks])
    return codes, pd.Series(type(raw.array)(unified.chunk(0).dictionary)).astype(raw.dtype)


@cached_njit()
def _first_rows(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """The first row of each category code (``len(codes)`` if absent); stops once all are seen."""
    n = codes.shape[0]
    first = np.full(n_categories, n, dtype=np.int64)
    left = n_categories
    for i in range(n):
        c = codes[i]
        if c >= 0 and first[c] == n:
            first[c] = i
            left -= 1
            if left == 0:
                break
    return first


@cached_njit()
def _take(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``table[codes]`` (negative codes from the end, as numpy reads them), in one compiled pass."""
    out = np.empty(codes.shape[0], dtype=table.dtype)
    n = table.shape[0]
    for i in range(codes.shape[0]):
        k = codes[i]
        out[i] = table[k if k >= 0 else n + k]
    return out


def take_codes(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``table[codes]``: a small table of codes looked up for tens of millions of rows.

    Compiled for the small integer codes of ``category`` columns, about three times
    numpy's fancy indexing by an ``int8`` array.

    Examples
    --------
    >>> take_codes(np.array([2, 0, -1], dtype=np.int8), np.array([1, -1, 0], dtype=np.int8)).tolist()
    [0, -1, 2]
    """
    if codes.dtype.kind == "i" and codes.dtype.itemsize <= 2 and len(codes) >= 100_000:
        return _take(table, codes)
    return table[codes]


def _category_codes(raw: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """``pd.factorize`` of a ``category`` column, its codes kept in the column's small integers.

    The same codes and values in order of first appearance, unused categories
    left out, without hashing the rows: one pass finds where each category first
    appears, and one lookup in a table of a few entries renumbers the codes.
    """
    cat = raw.array
    raw_codes = np.asarray(cat.codes)
    n_cat = len(cat.categories)
    first = _first_rows(raw_codes, n_cat)
    order = np.argsort(first, kind="stable")
    order = order[first[order] < len(raw_codes)]  # the categories present, as they appear
    lut = np.full(n_cat + 1, -1, dtype=raw_codes.dtype)  # the last entry: missing (-1)
    lut[order] = np.arange(len(order), dtype=raw_codes.dtype)
    return take_codes(lut, raw_codes), pd.Series(pd.Categorical.from_codes(order, dtype=cat.dtype))


def _named(values: pd.Series, names: Mapping[str, str]) -> pd.Series:
    """Category values with their codes replaced by the configured names (``labels:``)."""
    if not names:
        return values
    codes, _ = parse_ids(values)  # "5", " 5" and 5.0 are all the code "5"
    named = codes.map(dict(names))
    return named.where(named.notna(), codes.where(codes.notna(), values)).astype(object)



def parse_typed(
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
    if names and kind == "categorical" and distinct_codes(raw) is None:
        raw = raw.astype(object).where(raw.notna(), None)
    distinct = distinct_codes(raw) if kind not in ("numeric", "datetime") else None
    if distinct is not None:
        codes, uniques = distinct
        if kind == "boolean":
            values, bad_u = parse_bool(uniques)
            parsed = pd.Series(np.append(values.to_numpy(), np.nan)[codes], index=raw.index,
                               copy=False)
        else:
            values, bad_u = parse_categorical(uniques)
            if kind == "categorical":
                values = _named(values, names or {})
            if category and kind == "categorical":
                level, levels = pd.factorize(values.to_numpy(dtype=object))
                # at most as many levels as distinct values: the codes' own integer type holds them
                cat = pd.Categorical.from_codes(
                    take_codes(np.append(level, -1).astype(codes.dtype), codes),
                    categories=pd.Index(levels, dtype=object))
                parsed = pd.Series(cat, index=raw.index)
            else:
                with_missing = np.append(values.to_numpy(dtype=object), np.array([None], dtype=object))
                parsed = pd.Series(with_missing[codes], index=raw.index, dtype=object, copy=False)
        bad_distinct = bad_u.to_numpy(dtype=bool)
        bad = pd.Series(np.append(bad_distinct, False)[codes] if bad_distinct.any()
                        else np.zeros(len(raw), dtype=bool), index=raw.index, copy=False)
        reason: str | np.ndarray = f"unparseable {kind} value; set to missing"
    else:
        parsed, bad, other, why = parse_as(raw, kind, fmt)
        reason = reason_where(other, why, f"unparseable {kind} value; set to missing")
    if share is not None:
        check_column_loss(frame, table, col, kind, parsed, bad, share)
    rejects.add(table, bad, frame, ids, col, raw, reason)
    return parsed


def reason_where(other: pd.Series, why: str, default: str) -> str | np.ndarray:
    """A reject reason per row: ``why`` where ``other``, else ``default``.

    One text when no row is ``other`` (the usual case): a column of tens of
    millions of rows then needs no array of texts.

    Examples
    --------
    >>> reason_where(pd.Series([False, False]), "other order", "unparseable")
    'unparseable'
    >>> reason_where(pd.Series([True, False]), "other order", "unparseable").tolist()
    ['other order', 'unparseable']
    """
    flags = other.to_numpy(dtype=bool)
    if not flags.any():
        return default
    return np.where(flags, why, default)



def read_source(cfg: Config, spec: Any, name: str, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
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



def report_bad_lines(frame: pd.DataFrame, name: str, id_col: str | None, rejects: Rejects) -> None:
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



def check_clash(table: str, col: str, key: str, *, declared: bool) -> None:
    """A column named like a canonical column: an error if declared, else left out."""
    if declared:
        raise SchemaError(
            f"Table {table!r}: column {col!r} has the name of a column churnkit makes itself "
            f"(customer_id, timestamp or a role such as segment or value). Rename it in the file, "
            f"or remove it from data.{key} in the config."
        )

