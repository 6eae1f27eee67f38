"""Cutoff schedules and churn labels.

A label row is one (customer, cutoff) pair for a customer *active* at the
cutoff. Its label says whether the customer churned in the horizon
``[cutoff, cutoff + horizon)``. Labels only ever look at data in the horizon;
features (see :mod:`churnkit.features`) only at data strictly before the cutoff.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from churnkit.config import CutoffSchedule, LabelConfig
from churnkit.data import Dataset
from churnkit.exceptions import ConfigError, SchemaError

__all__ = ["active_mask", "label_population", "make_cutoffs", "make_labels"]

_DEFINITIONS = ("contractual", "inactivity")


def make_cutoffs(
    schedule: CutoffSchedule | Sequence[date | str | pd.Timestamp],
    *,
    end: pd.Timestamp,
    horizon_days: int,
) -> pd.DatetimeIndex:
    """Return the cutoff dates of a schedule or an explicit list.

    Parameters
    ----------
    schedule : CutoffSchedule or sequence of dates
        ``start``/``end``/``every``, or the cutoffs themselves.
    end : Timestamp
        End of the data (exclusive). When the schedule has no ``end``, the last
        cutoff is the latest one whose horizon still ends inside the data.
    horizon_days : int
        Length of the label horizon in days.

    Returns
    -------
    DatetimeIndex
        Sorted, unique cutoffs.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnkit.config import CutoffSchedule
    >>> make_cutoffs(CutoffSchedule(start="2024-01-01", every="QS"),
    ...              end=pd.Timestamp("2025-01-01"), horizon_days=90).strftime("%Y-%m-%d").tolist()
    ['2024-01-01', '2024-04-01', '2024-07-01', '2024-10-01']
    """
    if isinstance(schedule, CutoffSchedule):
        last = (
            pd.Timestamp(schedule.end)
            if schedule.end is not None
            else end - pd.Timedelta(days=horizon_days)
        )
        cutoffs = pd.date_range(pd.Timestamp(schedule.start), last, freq=schedule.every)
    else:
        cutoffs = pd.DatetimeIndex(pd.to_datetime(tuple(schedule)))
    cutoffs = cutoffs.normalize().unique().sort_values()
    if len(cutoffs) == 0:
        raise ConfigError(
            f"labels -> cutoffs: the schedule gives no cutoff before the end of the data "
            f"({end.date()}) minus the horizon ({horizon_days} days). Move 'start' earlier."
        )
    return cutoffs


class _Activity:
    """Sorted activity timestamps per customer, for fast window counts."""

    def __init__(self, dataset: Dataset, tables: Sequence[str] | None) -> None:
        names = list(tables) if tables else list(dataset.events)
        ids = pd.Index(dataset.customers["customer_id"])
        parts_code, parts_ts = [], []
        for name in names:
            ev = dataset.events[name]
            parts_code.append(ids.get_indexer(ev["customer_id"]))
            parts_ts.append(ev["timestamp"].to_numpy("datetime64[s]").astype(np.int64))
        code = np.concatenate(parts_code) if parts_code else np.empty(0, np.int64)
        ts = np.concatenate(parts_ts) if parts_ts else np.empty(0, np.int64)
        self.offset = int(ts.min()) - 10**10 if len(ts) else 0
        self.key = np.sort(code.astype(np.int64) * (1 << 36) + (ts - self.offset))
        self.codes = np.arange(len(ids), dtype=np.int64) * (1 << 36)

    def count(self, start: pd.Timestamp, stop: pd.Timestamp) -> np.ndarray:
        """Number of activity events of each customer in ``[start, stop)``."""
        lo = int(start.to_datetime64().astype("datetime64[s]").astype(np.int64)) - self.offset
        hi = int(stop.to_datetime64().astype("datetime64[s]").astype(np.int64)) - self.offset
        return np.searchsorted(self.key, self.codes + hi) - np.searchsorted(self.key, self.codes + lo)


def active_mask(
    dataset: Dataset,
    cutoff: pd.Timestamp,
    *,
    definition: str = "contractual",
    lookback_days: int = 365,
    activity_tables: Sequence[str] | None = None,
    _activity: _Activity | None = None,
) -> np.ndarray:
    """Boolean mask over ``dataset.customers``: who is a customer at ``cutoff``.

    Contractual: signed up before the cutoff (or signup date unknown) and not ended before it.
    Inactivity: also at least one activity event in ``[cutoff - lookback, cutoff)``.
    """
    cust = dataset.customers
    mask = np.ones(len(cust), dtype=bool)
    if "signup_date" in cust:
        # an unknown signup date (unparseable in the file) does not make a customer inactive
        signup = cust["signup_date"]
        mask &= ((signup < cutoff) | signup.isna()).to_numpy(dtype=bool)
    if "end_date" in cust:
        mask &= ~(cust["end_date"] < cutoff).fillna(False).to_numpy(dtype=bool)
    if definition == "inactivity":
        act = _activity or _Activity(dataset, activity_tables)
        mask &= act.count(cutoff - pd.Timedelta(days=lookback_days), cutoff) > 0
    return mask


def make_labels(
    dataset: Dataset,
    cutoffs: Sequence[pd.Timestamp] | pd.DatetimeIndex,
    *,
    definition: str = "contractual",
    horizon_days: int = 90,
    lookback_days: int = 365,
    activity_tables: Sequence[str] | None = None,
    complete_only: bool = True,
) -> pd.DataFrame:
    """Label every customer active at each cutoff.

    Parameters
    ----------
    dataset : Dataset
        Validated tables (event mode).
    cutoffs : sequence of Timestamp
        Cutoff dates.
    definition : {"contractual", "inactivity"}
        ``contractual``: churned if ``end_date`` falls in ``[cutoff, cutoff + horizon)``.
        ``inactivity``: active in the lookback window and no activity event in the horizon.
    horizon_days : int
        Horizon length in days.
    lookback_days : int
        Inactivity only: how recent activity must be for a customer to count as active.
    activity_tables : sequence of str, optional
        Inactivity only: event tables that count as activity (default all).
    complete_only : bool, default True
        Drop cutoffs whose horizon runs past the end of the data (their labels
        are not fully observed).

    Returns
    -------
    DataFrame
        ``customer_id, cutoff, label`` sorted by cutoff then customer.

    Examples
    --------
    >>> from importlib.resources import files
    >>> import pandas as pd
    >>> from churnkit import load_config, load_dataset, make_labels
    >>> from churnkit.datasets import make_crm
    >>> config = load_config(files("churnkit.configs") / "default.yaml")
    >>> ds = load_dataset(config, make_crm(300, random_state=0, months=12).tables)
    >>> labels = make_labels(ds, pd.to_datetime(["2024-04-01", "2024-07-01"]), horizon_days=90)
    >>> labels.columns.tolist()
    ['customer_id', 'cutoff', 'label']
    >>> counts = labels.groupby("cutoff")["label"].agg(["size", "sum"])
    >>> counts.to_numpy().tolist()  # active customers at each cutoff, churners among them
    [[179, 19], [198, 18]]
    """
    if definition not in _DEFINITIONS:
        raise ConfigError(
            f"The 'definition' parameter of make_labels must be one of {_DEFINITIONS}. "
            f"Got {definition!r} instead."
        )
    if horizon_days <= 0:
        raise ConfigError(f"horizon_days must be > 0. Got {horizon_days} instead.")
    cust = dataset.customers
    if definition == "contractual" and "end_date" not in cust:
        raise SchemaError(
            "Contractual churn needs the customers' end dates: map the column holding the "
            "contract end / churn date to data.customers.end_date, or use "
            "labels.definition: inactivity."
        )
    horizon = pd.Timedelta(days=horizon_days)
    activity = _Activity(dataset, activity_tables) if definition == "inactivity" else None
    frames = []
    for cutoff in pd.DatetimeIndex(list(cutoffs)):
        if complete_only and cutoff + horizon > dataset.end:
            continue
        mask = active_mask(
            dataset, cutoff, definition=definition, lookback_days=lookback_days,
            _activity=activity,
        )
        if definition == "contractual":
            label = (cust["end_date"] < cutoff + horizon).fillna(False).to_numpy(dtype=bool)
        else:
            assert activity is not None
            label = activity.count(cutoff, cutoff + horizon) == 0
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": cust["customer_id"].to_numpy()[mask],
                    "cutoff": cutoff,
                    "label": label[mask],
                }
            )
        )
    if not frames:
        raise ConfigError(
            f"No cutoff has its whole {horizon_days}-day horizon inside the data "
            f"(end {dataset.end.date()}). Move the cutoffs earlier or shorten the horizon."
        )
    out = pd.concat(frames, ignore_index=True)
    out["cutoff"] = out["cutoff"].astype("datetime64[ns]")
    return out


def labels_from_config(dataset: Dataset, cfg: LabelConfig) -> pd.DataFrame:
    """The label rows ``customer_id, cutoff, label`` of a configuration.

    Event data gets one row per customer active at each cutoff of ``cfg.cutoffs``,
    labelled by ``cfg.definition``; snapshot data (a label column) one row per
    customer, with the end of the data as its cutoff.
    """
    if dataset.label is not None:
        return pd.DataFrame({
            "customer_id": dataset.customers["customer_id"].to_numpy(),
            "cutoff": np.full(len(dataset.customers), dataset.end.to_datetime64()),
            "label": dataset.label.to_numpy(dtype=bool),
        })
    if cfg.cutoffs is None:
        raise ConfigError("labels -> cutoffs: missing; give a schedule or a list of dates.")
    cutoffs = make_cutoffs(cfg.cutoffs, end=dataset.end, horizon_days=cfg.horizon_days)
    return make_labels(
        dataset, cutoffs, definition=cfg.definition, horizon_days=cfg.horizon_days,
        lookback_days=cfg.lookback_days, activity_tables=cfg.activity_tables or None,
    )


def label_population(labels: pd.DataFrame) -> pd.DataFrame:
    """Rows, churners and churn rate per cutoff of a label table.

    Examples
    --------
    >>> import pandas as pd
    >>> labels = pd.DataFrame({"customer_id": ["a", "b", "a"], "label": [True, False, False],
    ...     "cutoff": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01"])})
    >>> label_population(labels).to_dict("records")[0]
    {'cutoff': '2024-01-01', 'rows': 2, 'churned': 1, 'churn_rate': 0.5}
    """
    grouped = labels.groupby("cutoff", sort=True)["label"]
    rows, churned = grouped.size(), grouped.sum()
    return pd.DataFrame({
        "cutoff": [str(pd.Timestamp(c).date()) for c in rows.index],
        "rows": rows.to_numpy(dtype=np.int64),
        "churned": churned.to_numpy(dtype=np.int64),
        "churn_rate": np.round(churned.to_numpy(dtype=float) / rows.to_numpy(dtype=float), 4),
    })
