"""Customers split into partitions by a stable hash of their id, for per-partition engines.

Every engine that scores customers a partition at a time (the chunked local
engine, the Dask engine) relies on the same rules, kept here:

- a row belongs to partition ``hash(normalised customer id) % n``, where the id
  is normalised exactly as :func:`churnkit.load_dataset` does (``" 123.0"`` is
  ``"123"``) and hashed with a fixed key, so a customer's row in the customers
  table and all its events land in the same partition, in every process and run;
  rows without an id go to partition 0, so that each is reported exactly once;
- the end of the data is the one :func:`churnkit.load_dataset` would find on
  all the data (the day after the bulk of the kept event dates, from the rows per
  day of every partition), computed before any partition is scored and given to
  every partition;
- column types are pinned to those the model was trained with, so that no
  partition infers a different type from its own sample of the data.
"""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnkit.config import Config
from churnkit.data import (
    ENCODINGS,
    Dataset,
    DayCounts,
    Evidence,
    column_evidence,
    find_end,
    parse_ids,
    sniff_bytes,
    sniff_delimiter,
    stamp_of,
)
from churnkit.exceptions import ConfigError, SchemaError

__all__ = [
    "FAR_END",
    "NA_VALUES",
    "check_partitionable",
    "add_evidence",
    "csv_options",
    "evidence_columns",
    "unreadable_csv",
    "data_end",
    "dataset_stamp",
    "fix_reject_rows",
    "name_columns",
    "normalised_ids",
    "partition_of",
    "dataset_types",
    "pin_types",
    "trained_types",
    "with_end",
]

#: ``data.end`` given to each partition while the real end is not known yet: far
#: enough that no event is dropped as late, so the partition loads exactly as if
#: ``data.end`` were unset.
FAR_END = date(2262, 1, 1)
#: Strings read as missing in CSV files, as :func:`churnkit.data.read_table` reads them.
NA_VALUES = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"]
_HASH_KEY = "churnkit-part-v1"  # 16 bytes: the siphash key of the partition hash


def check_partitionable(config: Config, engine: str) -> None:
    """Raise :class:`ConfigError` for data that cannot be split by customer id up front.

    Snapshot tables, customers derived from events, lookups (event rows keyed by
    another id) and joins (customer columns computed from other tables) need
    whole tables; score such data with the local engine.
    """
    data = config.data
    problem = None
    if data.snapshot is not None:
        problem = "snapshot data (a single table) is small enough for the local engine"
    elif data.customers is not None and data.customers.from_events is not None:
        problem = "customers.from_events derives the customers from a whole event table"
    elif data.customers is not None and data.customers.joins:
        problem = "customers.joins computes customer columns from whole tables"
    else:
        linked = [name for name, spec in data.events.items() if spec.lookup]
        if linked:
            problem = (f"event table(s) {linked} reach the customers through lookups, so "
                       "their rows cannot be split by customer before the lookup")
    if problem is not None:
        raise ConfigError(
            f"The {engine} engine splits every table by customer id before loading it, "
            f"which this configuration does not allow: {problem}. Score it with the local "
            "engine (churnkit.score / 'churnkit score' without --engine)."
        )


def normalised_ids(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes of each row into the distinct normalised ids, and those ids (object).

    Ids are normalised by :func:`churnkit.data._parse.parse_ids` on the distinct raw
    values only; missing ids get code -1.
    """
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    parsed, missing = parse_ids(pd.Series(uniques))
    ids = parsed.to_numpy(dtype=object)
    level, distinct = pd.factorize(np.where(missing.to_numpy(), np.array(None, dtype=object), ids))
    return np.append(level, -1)[codes], np.asarray(distinct, dtype=object)


def partition_of(raw: pd.Series, n: int) -> np.ndarray:
    """Partition number (``0 .. n-1``) of each row from its raw customer id.

    Examples
    --------
    >>> import pandas as pd
    >>> p = partition_of(pd.Series(["C1", " C1", "C2", None]), 4)
    >>> bool(p[0] == p[1]), int(p[3])
    (True, 0)
    """
    codes, ids = normalised_ids(raw)
    if not len(ids):
        return np.zeros(len(raw), dtype=np.int64)
    hashed = pd.util.hash_pandas_object(pd.Series(ids, dtype=object), index=False,
                                        hash_key=_HASH_KEY).to_numpy()
    part = (hashed % np.uint64(n)).astype(np.int64)
    return np.append(part, 0)[codes]


def with_end(config: Config, end: date | pd.Timestamp | None) -> Config:
    """A copy of ``config`` with ``data.end`` replaced."""
    value = pd.Timestamp(end).date() if end is not None else None
    return config.model_copy(update={"data": config.data.model_copy(update={"end": value})})


def dataset_stamp(dataset: Dataset) -> DayCounts:
    """Rows per day of a loaded dataset's event timestamps and customer dates (see ``data_end``)."""
    return stamp_of(dataset.customers, dataset.events)


def data_end(config: Config, stamps: Iterable[DayCounts | None]) -> pd.Timestamp:
    """The end of the data as :func:`churnkit.load_dataset` finds it on all partitions.

    ``data.end`` when the config sets it, else the day after the bulk of the
    event days of all partitions together (:func:`churnkit.data.find_end`); the
    rows per day of each partition add up, so every engine finds the same end.
    """
    if config.data.end is not None:
        return pd.Timestamp(config.data.end)
    return find_end(stamps)


def trained_types(model: Any) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Column types a model's feature set was fitted on: customer attributes, event columns."""
    fs = getattr(model, "feature_set_", None)
    if fs is None:
        return {}, {}
    attributes = dict(getattr(fs.static_, "attributes", None) or {})
    columns = {name: dict(getattr(f, "columns", None) or {}) for name, f in fs.events_.items()}
    return attributes, columns


def dataset_types(dataset: Dataset) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Column types a loaded dataset found: customer attributes, event columns."""
    return dict(dataset.attributes), {n: dict(s.columns) for n, s in dataset.specs.items()}


def pin_types(config: Config, attributes: dict[str, str], columns: dict[str, dict[str, str]]
              ) -> Config:
    """Declare the given column types where the config leaves them open.

    Undeclared columns have their type inferred from the data; a partition would
    infer it from its own rows and could disagree with another partition (or
    with training). Every partitioned path pins the types first: scoring those
    the model was trained with (:func:`trained_types`), Dask training those the
    first partition found (:func:`dataset_types`). Declared types win.
    """
    data = config.data
    cust = data.customers
    if cust is None:
        return config
    attributes = {**{c: t for c, t in attributes.items() if c not in cust.exclude},
                  **cust.attributes}
    events = {}
    for name, spec in data.events.items():
        keep = {c: t for c, t in columns.get(name, {}).items()
                if c not in spec.exclude and c not in (spec.customer_id, spec.timestamp)
                and t in {"categorical", "numeric", "boolean", "text"}}
        events[name] = spec.model_copy(update={"columns": {**keep, **spec.columns}})
    return config.model_copy(update={"data": data.model_copy(update={
        "customers": cust.model_copy(update={"attributes": attributes}), "events": events})})


def _encoding(path: Path, given: str | None, table: str) -> str:
    """The encoding :func:`churnkit.data.read_table` would pick, found by streaming the file."""
    if given is not None:
        return given
    with path.open("rb") as fh:
        sniffed = sniff_bytes(fh.read(4096), path, table)
    if sniffed is not None:
        return sniffed
    for enc in ENCODINGS:
        decoder = codecs.getincrementaldecoder(enc)()
        try:
            with path.open("rb") as fh:
                while block := fh.read(1 << 24):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return enc
    raise SchemaError(f"{path}: cannot decode the file; set the table's 'encoding' key.")


def evidence_columns(spec: Any, names: Iterable[str], *, customers: bool) -> list[str]:
    """Columns whose date order and decimal mark a partitioned engine decides on the whole table.

    Every column of the customers table (read whole or small); of an event
    table, the timestamp and the columns typed or playing a role as numbers or dates.
    """
    names = list(names)
    if customers:
        return names
    typed = [c for c, t in spec.columns.items() if t in {"numeric", "datetime"}]
    roles = [spec.roles[r] for r in ("duration", "score") if r in spec.roles]
    return [c for c in dict.fromkeys([spec.timestamp, *typed, *roles]) if c in names]


def add_evidence(evidence: dict[str, Evidence], frame: pd.DataFrame, columns: list[str]
                 ) -> dict[str, Evidence]:
    """``evidence`` plus that of ``frame``'s ``columns`` (see :class:`churnkit.data.Evidence`)."""
    out = dict(evidence)
    for col in columns:
        if col in frame.columns:
            out[col] = out.get(col, Evidence()) + column_evidence(frame[col])
    return out


def unreadable_csv(exc: Exception, path: Path | None, table: str) -> SchemaError:
    """The error for a CSV file that pandas cannot split into rows while streaming it."""
    detail = " ".join(str(exc).split("Original Message:")[-1].split())  # without Dask's wrapping
    return SchemaError(
        f"Table {table!r}: file {path} cannot be read a block at a time ({detail}). "
        "A line has more fields than the header, or a quoted field is never closed. Fix the "
        "export, or score with the local engine, which sets such rows aside in the rejects."
    )


def csv_options(path: Path, spec: Any, table: str) -> tuple[dict[str, Any], list[str] | None]:
    """Keyword arguments for ``pandas.read_csv`` that read ``path`` as ``read_table`` does.

    Returns the options and the header names to set on each chunk (stripped of
    spaces, as ``read_table`` does), or None when the file has no header row.
    """
    if not path.is_file():
        raise SchemaError(f"Table {table!r}: file {str(path)!r} does not exist. Check its 'path'.")
    with path.open("rb") as fh:
        magic = fh.read(4)
    packed = ("gzip-compressed" if magic.startswith(b"\x1f\x8b") else
              "a ZIP archive or Excel .xlsx workbook" if magic == b"PK\x03\x04" else None)
    if packed is not None:
        raise SchemaError(
            f"Table {table!r}: file {path} is {packed}, which cannot be read a block at a "
            "time. Score it with the local engine (which unpacks it), or give the table as "
            "plain CSV or Parquet."
        )
    encoding = _encoding(path, spec.encoding, table)
    with path.open(encoding=encoding, newline="") as fh:
        header_line = fh.readline().rstrip("\r\n")
    if not header_line.strip():
        raise SchemaError(
            f"Table {table!r}: file {path} is empty. Export the table again with a header row."
        )
    delimiter = spec.sep or sniff_delimiter(header_line)
    if spec.names is not None:
        header: list[str] | None = None
    elif delimiter == r"\s+":
        header = header_line.split()
    else:
        header = [h.strip() for h in next(csv.reader([header_line], delimiter=delimiter))]
    dup = sorted(name for name, n in Counter(header or spec.names or []).items() if n > 1)
    if dup:
        raise SchemaError(
            f"Table {table!r}: file {path} has duplicate column name(s) {dup}. "
            "Rename them so each column name is unique."
        )
    options = {
        "sep": delimiter, "dtype": str, "keep_default_na": False, "na_values": NA_VALUES,
        "skipinitialspace": True, "encoding": encoding,
        "header": None if spec.names is not None else 0, "names": spec.names,
        "engine": "python" if delimiter == r"\s+" else "c",
    }
    return options, header


def name_columns(frame: pd.DataFrame, header: list[str] | None) -> pd.DataFrame:
    """Set the stripped header names on a chunk read with :func:`csv_options`."""
    if header is not None and len(header) == len(frame.columns):
        frame.columns = header
    return frame


def fix_reject_rows(rejects: pd.DataFrame, rows: dict[str, np.ndarray]) -> pd.DataFrame:
    """Turn the row numbers of a partition's tables back into the rows of the source files."""
    if not len(rejects):
        return rejects
    rejects = rejects.copy()
    row = rejects["row"].to_numpy(dtype=object).copy()
    table = rejects["table"].to_numpy(dtype=object)
    for name, source_rows in rows.items():
        hit = (table == name) & pd.notna(row)
        if hit.any():
            row[hit] = source_rows[row[hit].astype(np.int64)]
    rejects["row"] = row
    return rejects
