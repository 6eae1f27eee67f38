"""Score customers a chunk at a time, so that the raw events never all sit in memory.

:func:`score_chunked` streams every event table once (Parquet by row batches,
CSV in chunks), sends each row to the chunk of its customer (a stable hash of
the customer id, see :mod:`churnkit.scoring._partition`) in temporary Parquet
files, then loads, validates and scores one chunk at a time with the same
:func:`~churnkit.scoring.score_partition` as the local engine. The scores
equal those of :func:`churnkit.score` customer for customer.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from churnkit._core import Progress, no_progress, resolve_as_of
from churnkit.config import Config
from churnkit.data import (
    ColumnFormat,
    DayCounts,
    Evidence,
    date_order,
    day_counts,
    first_day,
    load_dataset,
    parse_dates,
    require_config_columns,
    source_table,
)
from churnkit.exceptions import ConfigError, SchemaError
from churnkit.scoring._partition import (
    FAR_END,
    add_evidence,
    check_partitionable,
    csv_options,
    data_end,
    dataset_stamp,
    evidence_columns,
    fix_reject_rows,
    name_columns,
    normalised_ids,
    partition_of,
    pin_types,
    trained_types,
    unreadable_csv,
    with_end,
)
from churnkit.scoring._result import ScoreResult, concat_scores, merge_summaries
from churnkit.scoring._unit import score_partition

__all__ = ["score_chunked"]

_ROW = "__churnkit_row"


def _batches(config: Config, name: str, spec: Any, block_rows: int, seen: dict[str, Any]
             ) -> Iterator[tuple[pa.Table, pd.Series, pd.Series]]:
    """Row batches of an event table: the rows (Arrow), their raw ids and raw timestamps.

    A CSV file's delimiter goes to ``seen["sep"]``.
    """
    path = config.resolve(spec.path)
    if path is None:
        raise SchemaError(f"Table {name!r} has no 'path' in the config. Set data.events.{name}.path.")
    fmt = spec.format or ("parquet" if path.suffix.lower() in {".parquet", ".pq"} else "csv")
    if fmt == "parquet":
        if not path.is_file():
            raise SchemaError(f"Table {name!r}: file {str(path)!r} does not exist. Check its 'path'.")
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
        for col in (spec.customer_id, spec.timestamp):
            if col not in schema.names:
                raise SchemaError(f"Table {name!r} has no column {col!r}. Available columns: "
                                  f"{schema.names}. Fix data.events.{name} in the config.")
        empty = True
        for batch in pf.iter_batches(batch_size=block_rows):
            empty = False
            table = pa.Table.from_batches([batch], schema=schema)
            cols = table.select([spec.customer_id, spec.timestamp]).to_pandas()
            yield table, cols[spec.customer_id], cols[spec.timestamp]
        if empty:
            table = schema.empty_table()
            yield table, pd.Series([], dtype=object), pd.Series([], dtype="datetime64[ns]")
        return
    options, header = csv_options(path, spec, name)
    seen["sep"] = options["sep"]
    empty = True
    for chunk in _csv_chunks(path, name, block_rows, options):
        empty = False
        chunk = name_columns(chunk, header)
        for col in (spec.customer_id, spec.timestamp):
            if col not in chunk.columns:
                raise SchemaError(f"Table {name!r} has no column {col!r}. Available columns: "
                                  f"{list(chunk.columns)}. Fix data.events.{name} in the config.")
        yield (pa.Table.from_pandas(chunk, preserve_index=False), chunk[spec.customer_id],
               chunk[spec.timestamp])
    if empty:
        frame = pd.DataFrame({c: pd.Series([], dtype=str) for c in header or []})
        yield pa.Table.from_pandas(frame, preserve_index=False), frame.get(
            spec.customer_id, pd.Series([], dtype=object)), frame.get(
            spec.timestamp, pd.Series([], dtype=object))


def _csv_chunks(path: Path, name: str, rows: int, options: dict[str, Any]) -> Iterator[pd.DataFrame]:
    try:
        yield from pd.read_csv(path, chunksize=rows, **options)
    except pd.errors.ParserError as exc:
        raise unreadable_csv(exc, path, name) from None


class _Spill:
    """One temporary Parquet file per (table, chunk), each row with its source row number."""

    def __init__(self, folder: Path, n: int) -> None:
        self.folder, self.n = folder, n
        self.writers: dict[tuple[str, int], pq.ParquetWriter] = {}

    def write(self, name: str, table: pa.Table, part: np.ndarray, offset: int) -> None:
        rows = pa.array(np.arange(offset, offset + len(table), dtype=np.int64))
        table = table.append_column(_ROW, rows)
        if (name, 0) not in self.writers:
            for k in range(self.n):
                self.writers[name, k] = pq.ParquetWriter(self.folder / f"{name}-{k}.parquet",
                                                         table.schema)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(self.n + 1))
        for k in range(self.n):
            if bounds[k + 1] > bounds[k]:
                self.writers[name, k].write_table(table.take(order[bounds[k]:bounds[k + 1]]))

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()

    def read(self, name: str, k: int) -> tuple[pd.DataFrame, np.ndarray]:
        frame = pd.read_parquet(self.folder / f"{name}-{k}.parquet")
        rows = frame.pop(_ROW).to_numpy(dtype=np.int64)
        return frame, rows


def score_chunked(
    config: Config,
    model: Any,
    *,
    as_of: str | pd.Timestamp | None = None,
    partitions: int = 8,
    block_rows: int = 1_000_000,
    tmp_dir: str | Path | None = None,
    progress: Progress = no_progress,
) -> ScoreResult:
    """Score every customer active at ``as_of``, loading one chunk of customers at a time.

    Parameters
    ----------
    config : Config
        The configuration; its tables are read from their files.
    model : ChurnModel
        A model trained by :func:`churnkit.train`.
    as_of : str or Timestamp, optional
        Score date; default the end of all the data, as :func:`churnkit.score` finds it.
    partitions : int, default 8
        Number of chunks; memory for raw events is about their total divided by this.
    block_rows : int, default 1_000_000
        Rows read at a time while splitting the event files.
    tmp_dir : path-like, optional
        Where the chunk files go (about the size of the event files); default the
        system's temporary folder.
    progress : callable, optional
        Called with a short description before each step.

    Returns
    -------
    ScoreResult
        Scores equal to those of :func:`churnkit.score` (same rows, order and
        values); the rejects hold the same rows (in another order), ``row`` being
        the row in the source file.

    Raises
    ------
    ConfigError
        For configurations whose tables cannot be split by customer id up front
        (snapshot mode, lookups, joins, customers from events).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import churnkit as ck
    >>> folder = Path(tempfile.mkdtemp())
    >>> config = ck.load_config(ck.datasets.make_crm(300, random_state=0).write_project(folder))
    >>> model = ck.train(config).model
    >>> from churnkit.scoring import score_chunked
    >>> chunked = score_chunked(config, model, partitions=3)
    >>> local = ck.score(config, model)
    >>> key = ["customer_id", "churn_probability", "reason_1"]
    >>> a = chunked.scores[key].sort_values("customer_id", ignore_index=True)
    >>> b = local.scores[key].sort_values("customer_id", ignore_index=True)
    >>> chunked.summary["partitions"], a.equals(b)
    (3, True)
    """
    n_chunks = partitions
    if not isinstance(n_chunks, int) or isinstance(n_chunks, bool) or n_chunks < 1:
        raise ConfigError(f"The 'partitions' parameter of score_chunked must be an int >= 1. "
                          f"Got {n_chunks!r} instead.")
    check_partitionable(config, "chunked")
    config = pin_types(config, *trained_types(model))
    assert config.data.customers is not None  # guaranteed by check_partitionable
    cust_spec = config.data.customers
    load_config = with_end(config, config.data.end or FAR_END)

    progress("Reading the customers table")
    customers = source_table(config, cust_spec, "customers", {})
    # each chunk reads dates and numbers as the whole table decides (see ColumnFormat)
    cust_attrs = {"sep": customers.attrs.get("sep"), "excel": customers.attrs.get("excel"),
                  "evidence": add_evidence({}, customers, list(customers.columns))}
    require_config_columns(customers, "customers", [cust_spec.customer_id], "customers")
    cust_part = partition_of(customers[cust_spec.customer_id], n_chunks)
    # a chunk without customers would hold only rejected events: they go to a chunk
    # that has customers (loading needs a non-empty customers table)
    remap = _fill_empty(np.bincount(cust_part, minlength=n_chunks))
    # the customers that loading keeps: their events count towards the end of the data
    only_customers = load_config.model_copy(
        update={"data": load_config.data.model_copy(update={"events": {}})})
    kept = load_dataset(only_customers, {"customers": customers})
    known = pd.Index(kept.customers["customer_id"].to_numpy(dtype=object))
    stamps = [dataset_stamp(kept)]
    del kept
    event_attrs: dict[str, dict[str, Any]] = {}

    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix="churnkit-chunks-") as folder:
        spill = _Spill(Path(folder), n_chunks)
        try:
            for name, spec in config.data.events.items():
                progress(f"Splitting {name} into {n_chunks} chunks")
                offset = 0
                seen: dict[str, Any] = {}
                evidence: dict[str, Evidence] = {}
                newest: dict[str, list[DayCounts]] = {"DMY": [], "MDY": []}
                for table, ids, stamps_raw in _batches(config, name, spec, block_rows, seen):
                    part = remap[partition_of(ids, n_chunks)]
                    spill.write(name, table, part, offset)
                    offset += len(table)
                    batch = table.select(evidence_columns(spec, table.column_names,
                                                          customers=False)).to_pandas()
                    evidence = add_evidence(evidence, batch, list(batch.columns))
                    if config.data.end is None:
                        for how, found in newest.items():
                            found.append(_kept_days(ids, stamps_raw, known, how))
                event_attrs[name] = {"sep": seen.get("sep"), "evidence": evidence}
                if config.data.end is None:
                    fmt = ColumnFormat(date_format=_given(spec.date_format, spec.timestamp),
                                       sep=seen.get("sep"))
                    stamps += newest[date_order(evidence.get(spec.timestamp, Evidence()), fmt)]
        finally:
            spill.close()
        end = data_end(config, stamps)
        when = resolve_as_of(as_of, end, start=first_day(stamps))
        scores, rejects, summaries = [], [], []
        for k in np.unique(remap):
            progress(f"Scoring chunk {k + 1} of {n_chunks}")
            rows = {"customers": np.flatnonzero(cust_part == k)}
            tables = {"customers": customers.iloc[rows["customers"]].reset_index(drop=True)}
            tables["customers"].attrs.update(cust_attrs)
            for name in config.data.events:
                tables[name], rows[name] = spill.read(name, k)
                tables[name].attrs.update(event_attrs[name])
            # with the end known, events dated after it go to the rejects as in load_dataset
            dataset = load_dataset(with_end(load_config, end), tables)
            del tables
            result = score_partition(config, model, dataset, as_of=when)
            summaries.append({**result.summary, "monitoring": result.monitoring})
            scores.append(result.scores)
            rejects.append(fix_reject_rows(result.rejects, rows))
            del dataset, result

    first_row = _first_rows(customers[cust_spec.customer_id])
    out = concat_scores(scores)
    order = np.argsort(first_row.reindex(out["customer_id"]).to_numpy(), kind="stable")
    out = out.iloc[order].reset_index(drop=True)
    summary = {**merge_summaries(summaries, as_of=when, model_version=model.version_),
               "engine": "chunked", "partitions": n_chunks}
    return ScoreResult(summary, {"scores": out, "rejects": pd.concat(rejects, ignore_index=True)})


def _fill_empty(sizes: np.ndarray) -> np.ndarray:
    """Chunk each chunk's rows go to: itself, or the first chunk with rows if it has none."""
    remap = np.arange(len(sizes))
    if sizes.any():
        remap[sizes == 0] = int(np.argmax(sizes > 0))
    return remap


def _given(value: Any, column: str) -> str | None:
    """A table's ``date_format``/``decimal`` setting for ``column`` (one value or one per column)."""
    return value.get(column) if isinstance(value, dict) else value


def _kept_days(ids: pd.Series, stamps: pd.Series, known: pd.Index, order: str) -> DayCounts:
    """Rows per day of the rows :func:`churnkit.load_dataset` keeps (known customer, valid time).

    Numeric dates are read in ``order``: which order the whole table takes is
    known only once every batch has been seen.
    """
    codes, distinct = normalised_ids(ids)
    is_known = np.append(known.get_indexer(pd.Index(distinct)) >= 0, False)[codes]
    forced = Evidence(day_first=1) if order == "DMY" else Evidence(month_first=1)
    ts, _ = parse_dates(stamps.reset_index(drop=True), ColumnFormat(evidence=forced))
    kept = ts.to_numpy("datetime64[ns]")[is_known & ts.notna().to_numpy()]
    return day_counts([pd.Series(kept)]), day_counts([])


def _first_rows(raw_ids: pd.Series) -> pd.Series:
    """Row of each normalised customer id's first appearance in the customers table."""
    codes, distinct = normalised_ids(raw_ids)
    present = codes >= 0
    first = np.full(len(distinct), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, codes[present], np.flatnonzero(present))
    return pd.Series(first, index=pd.Index(distinct, dtype=object))

