"""Score and train on a Dask cluster, a partition of customers per task.

The tables are read lazily with :mod:`dask.dataframe` (CSV or Parquet). Every
input partition is split by a stable hash of the customer id (see
:mod:`churnkit.scoring._partition`), so all rows of a customer, in the
customers table and in every event table, meet in the same partition, in
their file order. Each partition then runs exactly the code of the local
engine: :func:`churnkit.load_dataset` on its tables, and
:func:`~churnkit.scoring.score_partition` with the end of the data computed
over all partitions first. The model is sent to each worker once.

numba's parallel kernels use GNU OpenMP here, which is not fork-safe: worker
processes must be spawned (distributed's default; :func:`score_dask` sets it
for the clusters it starts).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import (
    STR_DTYPE,
    Progress,
    atomic_path,
    atomic_write_text,
    no_progress,
    output_run,
    resolve_as_of,
)
from churnkit.config import Config
from churnkit.data import Evidence, first_day, load_dataset
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
    partition_of,
    pin_types,
    trained_types,
    unreadable_csv,
    with_end,
)
from churnkit.scoring._result import ScoreResult, merge_summaries
from churnkit.scoring._unit import score_partition

__all__ = ["read_partitioned", "score_dask", "scheduler_client"]

_ROW, _SRC = "__churnkit_row", "__churnkit_source"


def require_dask(engine: str = "Dask engine") -> None:
    """Stop with the install command when Dask's packages are missing."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"The {engine} needs dask and distributed ({exc}). Install them with: "
            "pip install 'churnkit-crm[dask]' (the same versions on every worker)."
        ) from None


@contextmanager
def scheduler_client(scheduler: Any = None, *, n_workers: int | None = None) -> Iterator[Any]:
    """A :class:`distributed.Client` for ``scheduler``.

    ``None``: the current client if there is one, else a local cluster of
    spawned worker processes (closed on exit); a string: the address of a
    running scheduler (``tcp://host:8786``); a ``Client``: used as is.
    """
    import dask
    from distributed import Client, LocalCluster, get_client

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if isinstance(scheduler, str):
        with Client(scheduler) as client:
            yield client
        return
    if scheduler is not None:
        raise ValueError(
            "The 'scheduler' parameter must be None, a scheduler address such as "
            f"'tcp://10.0.0.5:8786' or a distributed.Client. Got {scheduler!r} instead."
        )
    try:
        yield get_client()
        return
    except ValueError:  # no client yet: start a local cluster
        pass
    with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}), LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
    ) as cluster, Client(cluster) as client:
        yield client


def _read_lazy(config: Config, spec: Any, name: str, csv_blocksize: Any,
               seen: dict[str, Any] | None = None) -> Any:
    """One table as a lazy Dask DataFrame, read as :func:`churnkit.data.read_table` reads it.

    A CSV file's delimiter goes to ``seen["sep"]``.
    """
    import dask.dataframe as dd

    path = config.resolve(spec.path)
    key = "customers" if name == "customers" else f"events.{name}"
    if path is None:
        raise SchemaError(f"Table {name!r} has no 'path' in the config. Set data.{key}.path.")
    fmt = spec.format or ("parquet" if path.suffix.lower() in {".parquet", ".pq"} else "csv")
    if fmt == "parquet":
        if not path.is_file():
            raise SchemaError(f"Table {name!r}: file {str(path)!r} does not exist. Check its 'path'.")
        return dd.read_parquet(str(path))
    options, header = csv_options(path, spec, name)
    if seen is not None:
        seen["sep"] = options["sep"]
    try:
        frame = dd.read_csv(str(path), blocksize=csv_blocksize, **options)
    except pd.errors.ParserError as exc:  # in the first rows, which Dask reads for the types
        raise unreadable_csv(exc, path, name) from None
    if header is not None and len(header) == len(frame.columns):
        frame = frame.rename(columns=dict(zip(frame.columns, header, strict=True)))
    return frame


def _default_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """String columns in ``STR_DTYPE`` (Dask may hand out ``string[pyarrow]``)."""
    for col in frame.columns:
        dtype = frame[col].dtype
        if isinstance(dtype, pd.StringDtype) and dtype != STR_DTYPE:
            frame[col] = frame[col].astype(STR_DTYPE)
    return frame


def _split(frame: pd.DataFrame, id_col: str, n: int, source: int, columns: list[str]
           ) -> tuple[Any, ...]:
    """Split input partition ``source`` into ``n`` pieces by customer.

    The two last outputs are its length and the evidence of its ``columns`` on
    their date order and decimal mark (see :class:`churnkit.data.Evidence`).
    """
    frame = _default_strings(frame.reset_index(drop=True))
    evidence = add_evidence({}, frame, columns)
    part = (partition_of(frame[id_col], n) if id_col in frame
            else np.zeros(len(frame), dtype=np.int64))
    frame[_ROW] = np.arange(len(frame), dtype=np.int64)
    frame[_SRC] = np.int64(source)
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(n + 1))
    pieces = [frame.iloc[order[bounds[k]:bounds[k + 1]]] for k in range(n)]
    return (*pieces, len(frame), evidence)


def read_partitioned(client: Any, config: Config, n: int, *, csv_blocksize: Any = None,
                     formats: dict[str, dict[str, Any]] | None = None,
                     ) -> tuple[list[dict[str, list[Any]]], dict[str, list[Any]]]:
    """Futures of each partition's pieces of every table, and of each input partition's length.

    Returns ``(pieces, lengths)``: ``pieces[k][table]`` lists the futures of
    partition ``k``'s rows of ``table``, one per input partition in file order;
    ``lengths[table]`` the futures of the input partitions' row counts.
    ``formats`` (when given) receives each table's delimiter and the evidence of
    the whole table on date orders and decimal marks, for :func:`_load_unit`.
    """
    import dask

    assert config.data.customers is not None  # checked by check_partitionable
    specs: dict[str, Any] = {"customers": config.data.customers, **config.data.events}
    pieces: list[dict[str, list[Any]]] = [{} for _ in range(n)]
    lengths: dict[str, list[Any]] = {}
    for name, spec in specs.items():
        seen: dict[str, Any] = {}
        frame = _read_lazy(config, spec, name, csv_blocksize, seen)
        columns = evidence_columns(spec, [str(c) for c in frame.columns],
                                   customers=name == "customers")
        outs = [dask.delayed(_split, nout=n + 2, pure=True)(p, spec.customer_id, n, i, columns)
                for i, p in enumerate(frame.to_delayed())]
        flat = client.compute([out[j] for out in outs for j in range(n + 2)])
        found = []
        for i in range(len(outs)):
            row = flat[i * (n + 2):(i + 1) * (n + 2)]
            for k in range(n):
                pieces[k].setdefault(name, []).append(row[k])
            lengths.setdefault(name, []).append(row[n])
            found.append(row[n + 1])
        if formats is not None:
            formats[name] = {"sep": seen.get("sep"), "evidence": found}
    for name, futures in lengths.items():  # a file pandas cannot split into rows stops here
        try:
            client.gather(futures)
        except pd.errors.ParserError as exc:
            raise unreadable_csv(exc, config.resolve(specs[name].path), name) from None
    for attrs in (formats or {}).values():
        total: dict[str, Evidence] = {}
        for part in client.gather(attrs["evidence"]):
            total = {c: total.get(c, Evidence()) + part.get(c, Evidence())
                     for c in dict.fromkeys([*total, *part])}
        attrs["evidence"] = total
    # a partition without customers would hold only rejected events: they join the first
    # partition that has customers (loading needs a non-empty customers table)
    sizes = client.gather([[client.submit(len, p) for p in unit["customers"]] for unit in pieces])
    filled = [k for k in range(n) if sum(sizes[k])]
    if filled:
        for k in range(n):
            if not sum(sizes[k]) and k != filled[0]:
                for name, futures in pieces[k].items():
                    if name != "customers":
                        pieces[filled[0]][name] += futures
                pieces[k] = {}
    return pieces, lengths


def _load_unit(config: Config, pieces: dict[str, list[pd.DataFrame]],
               formats: dict[str, dict[str, Any]] | None = None) -> tuple[Any, ...]:
    """Load and validate one partition; keep where each row came from.

    ``formats`` gives each table's delimiter and whole-table evidence (see
    :func:`read_partitioned`), so the partition reads dates and numbers as the
    whole table would be read.
    """
    tables, origin = {}, {}
    for name, parts in pieces.items():
        frame = pd.concat(parts, ignore_index=True)
        source = frame.pop(_SRC).to_numpy(dtype=np.int64)
        origin[name] = (source, frame.pop(_ROW).to_numpy(dtype=np.int64))
        frame.attrs.update((formats or {}).get(name, {}))
        tables[name] = frame
    dataset = load_dataset(config, tables)
    return dataset, dataset_stamp(dataset), origin


def _arrow_table(frame: pd.DataFrame) -> Any:
    """The frame as an Arrow table; all-missing object columns typed as strings."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f
              for f in table.schema]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def _write_part(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(_arrow_table(frame), tmp)


def _score_unit(unit: tuple[Any, ...], config: Config, model: Any, when: pd.Timestamp,
                offsets: dict[str, np.ndarray], folders: dict[str, str], k: int) -> dict[str, Any]:
    """Score one loaded partition, write its scores and rejects parts, return its summary.

    ``folders`` gives the (staged) folders of the ``scores`` and ``rejects`` parts.
    """
    _limit_threads()
    dataset, _, origin = unit
    result = score_partition(config, model, dataset, as_of=when)
    rows = {name: offsets[name][src] + pos for name, (src, pos) in origin.items()}
    rejects = fix_reject_rows(result.rejects, rows)
    rejects["row"] = rejects["row"].astype("Int64")
    name = f"part-{k:05d}.parquet"
    if len(result.scores):
        _write_part(result.scores, Path(folders["scores"]) / name)
    if len(rejects):
        _write_part(rejects, Path(folders["rejects"]) / name)
    return {**result.summary, "monitoring": result.monitoring}


def _limit_threads() -> None:
    """Let numba use as many threads as the worker has (not every core of the machine)."""
    try:
        import numba
        from distributed import get_worker

        limit = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]  # set at import
        numba.set_num_threads(max(1, min(get_worker().state.nthreads, limit)))
    except (ImportError, ValueError):  # not on a worker
        pass


def _score_on_cluster(config: Config, model: Any, as_of: str | pd.Timestamp | None,
                      scheduler: Any, partitions: int | None, csv_blocksize: Any,
                      folders: dict[str, str], progress: Progress) -> dict[str, Any]:
    """Score every partition on the cluster, its parts written to ``folders``; the summary."""
    load_config = with_end(config, config.data.end or FAR_END)
    with scheduler_client(scheduler) as client:
        threads = sum(client.nthreads().values()) or 1
        n = partitions or 2 * threads
        progress(f"Splitting the tables into {n} partitions of customers")
        formats: dict[str, dict[str, Any]] = {}
        pieces, lengths = read_partitioned(client, config, n, csv_blocksize=csv_blocksize,
                                           formats=formats)
        model_future = client.scatter(model, broadcast=True, hash=False)
        progress("Loading and validating each partition")
        used = [k for k in range(n) if pieces[k]]
        units = [client.submit(_load_unit, load_config, pieces[k], formats, pure=False)
                 for k in used]
        stamps = client.gather([client.submit(operator.itemgetter(1), u) for u in units])
        end = data_end(config, stamps)
        when = resolve_as_of(as_of, end, start=first_day(stamps))
        if config.data.end is None:
            # partitions with events on or after the end found: loaded again with that end,
            # so that those rows go to the rejects as with the local engine (rarely any)
            for i, (days, _) in enumerate(stamps):
                if len(days) and days.index[-1] >= end:
                    units[i] = client.submit(_load_unit, with_end(load_config, end),
                                             pieces[used[i]], formats, pure=False)
        offsets = {name: np.cumsum([0, *client.gather(futs)[:-1]], dtype=np.int64)
                   for name, futs in lengths.items()}
        progress(f"Scoring {n} partitions")
        parts = client.gather([
            client.submit(_score_unit, unit, config, model_future, when, offsets, folders, k,
                          pure=False)
            for unit, k in zip(units, used, strict=True)])
        del units
    return {**merge_summaries(parts, as_of=when, model_version=model.version_),
            "engine": "dask", "partitions": n}


def score_dask(
    config: Config,
    model: Any,
    *,
    out_dir: str | Path,
    as_of: str | pd.Timestamp | None = None,
    scheduler: Any = None,
    partitions: int | None = None,
    csv_blocksize: Any = None,
    progress: Progress = no_progress,
) -> ScoreResult:
    """Score every customer active at ``as_of`` on a Dask cluster.

    Parameters
    ----------
    config : Config
        The configuration; its tables are read from their files (CSV or Parquet).
    model : ChurnModel
        A model trained by :func:`churnkit.train` (or :func:`train_dask`).
    out_dir : path-like
        Output folder: ``scores/part-*.parquet``, ``rejects/part-*.parquet`` and
        ``summary.json``, one run (see :func:`churnkit._core.output_run`): the
        parts are written to staged folders that replace ``scores/`` and
        ``rejects/`` together with the summary, or not at all.
    as_of : str or Timestamp, optional
        Score date; default the end of all the data, as :func:`churnkit.score` finds it.
    scheduler : None, str or distributed.Client
        ``None``: the current client, else a local cluster started for the run;
        a scheduler address such as ``"tcp://10.0.0.5:8786"``; or a ``Client``.
    partitions : int, optional
        Partitions of customers; default twice the cluster's worker threads.
    csv_blocksize : str or int, optional
        Read CSV files in blocks of this size (e.g. ``"64MB"``) in parallel.
        Default ``None`` reads each CSV file as one partition, which is safe
        for quoted fields that contain line breaks.
    progress : callable, optional
        Called with a short description before each step.

    Returns
    -------
    ScoreResult
        Its ``parts`` are the part files; its summary (also written to
        ``summary.json``) is that of the local engine plus ``engine`` and ``partitions``.

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
    >>> from distributed import Client
    >>> from churnkit.scoring import score_dask
    >>> model = ck.train(config).model
    >>> with Client(processes=False, n_workers=1, threads_per_worker=2,
    ...             dashboard_address=None) as client:
    ...     result = score_dask(config, model, out_dir=folder / "scores", scheduler=client,
    ...                         partitions=2)
    >>> local = ck.score(config, model)
    >>> key = ["customer_id", "churn_probability", "reason_1"]
    >>> a = result.scores[key].sort_values("customer_id", ignore_index=True)
    >>> b = local.scores[key].sort_values("customer_id", ignore_index=True)
    >>> result.summary["engine"], a.equals(b)
    ('dask', True)
    >>> sorted(p.name for p in (folder / "scores").iterdir())
    ['rejects', 'scores', 'summary.json']
    """
    require_dask()
    check_partitionable(config, "Dask")
    if partitions is not None and (not isinstance(partitions, int) or partitions < 1):
        raise ConfigError(f"The 'partitions' parameter of score_dask must be an int >= 1. "
                          f"Got {partitions!r} instead.")
    config = pin_types(config, *trained_types(model))
    out = Path(out_dir)
    with output_run(out, command="churnkit score") as run:
        # the parts go to staged folders that replace scores/ and rejects/ together
        folders = {sub: run.stage(out / sub) for sub in ("scores", "rejects")}
        for folder in folders.values():
            folder.mkdir()
        summary = _score_on_cluster(config, model, as_of, scheduler, partitions, csv_blocksize,
                                    {sub: str(f) for sub, f in folders.items()}, progress)
        monitoring = summary.pop("monitoring", None)
        atomic_write_text(run.stage(out / "summary.json"),
                          json.dumps(summary, indent=2, default=str) + "\n")
    return ScoreResult(summary, parts={
        sub: sorted((out / sub).glob("part-*.parquet")) for sub in ("scores", "rejects")},
        monitoring=monitoring)

