"""Load, validate and quarantine the input tables of a configuration.

The result is a :class:`Dataset` with canonical column names (``customer_id``,
``timestamp``, ``signup_date``...), parsed types, and a rejects table that
lists every row that was set aside and why. Nothing is dropped silently.
The tables themselves are read by :mod:`churnkit.data._customers`,
:mod:`churnkit.data._events` and :mod:`churnkit.data._snapshot`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from churnkit.config import Config
from churnkit.data._customers import customers_from_events, load_customers
from churnkit.data._end import DayCounts, day_counts, find_end, late_reason
from churnkit.data._events import EventSpec, load_events
from churnkit.data._links import apply_joins
from churnkit.data._merge import sorted_text
from churnkit.data._rejects import REJECT_COLUMNS, Rejects, rejected_customers
from churnkit.data._snapshot import load_snapshot
from churnkit.data._table import read_source
from churnkit.exceptions import SchemaError

__all__ = ["REJECT_COLUMNS", "Dataset", "EventSpec", "load_dataset", "rejected_customers",
           "stamp_of"]


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



def stamp_of(customers: pd.DataFrame, events: Mapping[str, pd.DataFrame]) -> DayCounts:
    """Rows per day of the event timestamps, and of the customer dates (see ``find_end``)."""
    cust_dates = [customers[c] for c in ("signup_date", "end_date") if c in customers]
    return (day_counts(df["timestamp"] for df in events.values()), day_counts(cust_dates))




def _read_ahead(reader: ThreadPoolExecutor, config: Config, specs: Mapping[str, Any],
                tables: Mapping[str, pd.DataFrame]) -> Iterator[Future[pd.DataFrame]]:
    """The event tables as read by ``reader``, each started when the one before is taken.

    Reading (Parquet decoding releases the GIL) then overlaps the validation of
    the table before, with at most one table read ahead of the one in hand.
    """
    reads = (reader.submit(read_source, config, spec, name, tables) for name, spec in specs.items())
    pending = next(reads, None)
    while pending is not None:
        current, pending = pending, next(reads, None)
        yield current


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
        customers, attributes, label = load_snapshot(config, tables, rejects, ignored)
        return Dataset(customers, attributes, {}, {}, end or pd.Timestamp.now().normalize(),
                       label, rejects.frame(), ignored)

    assert data.customers is not None  # guaranteed by DataConfig validation
    with ThreadPoolExecutor(1) as reader:  # reads the next event table while one is validated
        return _load_tables(config, tables, rejects, ignored, end,
                            _read_ahead(reader, config, data.events, tables))


def _load_tables(config: Config, tables: Mapping[str, pd.DataFrame], rejects: Rejects,
                 ignored: dict[str, str], end: pd.Timestamp | None,
                 event_frames: Iterator[Future[pd.DataFrame]]) -> Dataset:
    """The customers and event tables of ``load_dataset``, the event tables from ``event_frames``."""
    data = config.data
    assert data.customers is not None
    cust_spec = data.customers
    # table-level problems of every table are collected and reported together
    problems: list[str] = []
    try:
        if cust_spec.from_events is not None:
            frame = customers_from_events(config, cust_spec.from_events, tables)
            cust_spec = cust_spec.model_copy(
                update={"signup_date": cust_spec.signup_date or "signup_date"}
            )
        else:
            frame = read_source(config, cust_spec, "customers", tables)
        frame = apply_joins(frame, cust_spec, config, tables, rejects)
        customers, attributes = load_customers(frame, cust_spec, "customers", rejects, ignored,
                                                data.max_rejected_share)
    except SchemaError as exc:
        problems.append(str(exc))
        customers, attributes = pd.DataFrame({"customer_id": pd.Series(dtype=object)}), {}
    customers = customers.reset_index(drop=True)
    known = pd.Index(customers["customer_id"])
    rejected = rejects.dropped_ids("customers")
    # event tables hold customer ids as a category over the sorted customer ids
    id_type = pd.CategoricalDtype(known.sort_values())
    known_text = sorted_text(id_type.categories.to_numpy(dtype=object)) if data.events else None
    events: dict[str, pd.DataFrame] = {}
    specs: dict[str, EventSpec] = {}
    source_rows: dict[str, pd.Index] = {}
    for name, spec in data.events.items():
        try:
            events[name], specs[name], source_rows[name] = load_events(
                next(event_frames).result(), spec, name, known, rejects, end, config, tables,
                id_type, rejected, ignored, known_text)
        except SchemaError as exc:
            problems.append(str(exc))
    if len(problems) == 1:
        raise SchemaError(problems[0])
    if problems:
        raise SchemaError(
            f"{len(problems)} tables cannot be loaded:\n" + "\n".join(f"- {p}" for p in problems)
        )
    if end is None:
        stamps = stamp_of(customers, events)
        end = find_end([stamps])
        days = stamps[0].index
        # every event before the end (the usual case) when the last event day ends by then
        any_late = bool(len(days)) and days[-1] + pd.Timedelta(days=1) > end
        for name, ev in events.items() if any_late else ():
            late = ev["timestamp"] >= end
            if late.any():
                ev_rows = pd.DataFrame(index=source_rows[name])
                rejects.add(name, late, ev_rows, ev["customer_id"], data.events[name].timestamp,
                            ev["timestamp"], late_reason(end), drop=True)
                events[name] = ev[~late.to_numpy()].reset_index(drop=True)
    return Dataset(customers, attributes, events, specs, end, None, rejects.frame(), ignored)

