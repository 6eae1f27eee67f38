"""Assignments joined with what happened: realised churn over the horizon and contacts made."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from churnkit._core import require_columns
from churnkit.actions import risk_band
from churnkit.data import Dataset
from churnkit.exceptions import ChurnkitError, SchemaError
from churnkit.labels import make_labels

__all__ = ["HorizonNotPassedError", "action_tables", "realised_outcomes"]


class HorizonNotPassedError(ChurnkitError, ValueError):
    """A run's horizon ends after the data: some of its outcomes are not known yet."""


def action_tables(dataset: Dataset) -> list[str]:
    """Names of the event tables of kind ``actions`` (the actions log)."""
    return [name for name, spec in dataset.specs.items() if spec.kind == "actions"]


def _check_horizon(runs: pd.DataFrame, end: pd.Timestamp, horizon: pd.Timedelta) -> None:
    pending = runs[runs["as_of"] + horizon > end]
    if pending.empty:
        return
    parts = []
    for run_id, as_of, n in zip(pending["run_id"], pending["as_of"], pending["n"], strict=True):
        stamp = pd.Timestamp(as_of)
        parts.append(f"{run_id!s} (as_of {stamp.date()}: horizon ends {(stamp + horizon).date()}, "
                     f"{int(n):,} outcome(s) still unknown)")
    raise HorizonNotPassedError(
        f"The horizon of {len(pending)} run(s) has not passed by the end of the data "
        f"({end.date()}): {'; '.join(parts)}. Measure them with data up to the end of their "
        "horizon, or leave them out."
    )


def realised_outcomes(
    dataset: Dataset,
    assignments: pd.DataFrame,
    *,
    definition: str = "contractual",
    horizon_days: int = 90,
    lookback_days: int = 365,
    activity_tables: Sequence[str] | None = None,
    risk_bands: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Join assignments with the churn they ended in and the contacts made over the horizon.

    Parameters
    ----------
    dataset : Dataset
        Validated tables whose data reaches past every run's horizon.
    assignments : DataFrame
        ``run_id, as_of, customer_id, group`` (from ``churnkit report --holdout``),
        other columns kept.
    definition, horizon_days, lookback_days, activity_tables
        The label definition (``labels`` section of the config).
    risk_bands : mapping, optional
        Bands for a ``risk_band`` column computed from ``churn_probability`` when
        the assignments have none.

    Returns
    -------
    joined : DataFrame
        One row per assignment of a customer who was a customer at ``as_of``:
        the assignment's columns plus ``churned`` (bool), ``value`` (if the
        customers have one), ``account_manager`` (from the customers when the
        assignments lack it) and ``contacted`` (an action of the actions log in
        ``[as_of, as_of + horizon)``; only when the data has an actions table).
    left_out : DataFrame
        ``run_id, customer_id, reason`` of the assignments not measured
        (unknown customer, or no longer a customer at ``as_of``).

    Raises
    ------
    HorizonNotPassedError
        If a run's horizon ends after the data: it names the run and how many
        outcomes are still unknown.
    SchemaError
        If the assignments lack a column or name a group other than treat/control.
    """
    require_columns(assignments, ("run_id", "as_of", "customer_id", "group"), table="assignments",
                    fix="Use the assignments.csv written by 'churnkit report --holdout'.")
    asg = assignments.copy()
    asg["customer_id"] = asg["customer_id"].astype(str)
    asg["as_of"] = pd.to_datetime(asg["as_of"])
    asg["group"] = asg["group"].astype(str).str.strip().str.lower()
    bad = ~asg["group"].isin(["treat", "control"])
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())[:5].tolist()
        raise SchemaError(
            f"assignments.group: {int(bad.sum())} value(s) other than 'treat' or 'control' at rows "
            f"{rows} (e.g. {asg['group'].iloc[rows[0]]!r}). Use the file 'churnkit report' wrote."
        )
    dup = asg.duplicated(["run_id", "customer_id"], keep=False)
    if dup.any():
        ids = asg.loc[dup, "customer_id"].head(5).tolist()
        raise SchemaError(f"assignments: customers {ids} appear twice in the same run. "
                          "Keep one row per customer and run.")
    horizon = pd.Timedelta(days=horizon_days)
    runs = asg.groupby(["run_id", "as_of"], sort=True).size().rename("n").reset_index()
    _check_horizon(runs, dataset.end, horizon)

    labels = make_labels(dataset, pd.DatetimeIndex(runs["as_of"].unique()), definition=definition,
                         horizon_days=horizon_days, lookback_days=lookback_days,
                         activity_tables=activity_tables, complete_only=False)
    labels = labels.rename(columns={"cutoff": "as_of", "label": "churned"})
    labels["customer_id"] = labels["customer_id"].astype(str)
    joined = asg.merge(labels, on=["customer_id", "as_of"], how="left", validate="many_to_one")
    known = set(dataset.customers["customer_id"].astype(str))
    missing = joined["churned"].isna()
    left_out = joined.loc[missing, ["run_id", "customer_id"]].copy()
    left_out["reason"] = np.where(left_out["customer_id"].isin(known),
                                  "not a customer at as_of", "unknown customer")
    joined = joined[~missing].reset_index(drop=True)
    joined["churned"] = joined["churned"].astype(bool)

    cust = dataset.customers.set_index(dataset.customers["customer_id"].astype(str))
    if "value" in cust:
        joined["value"] = joined["customer_id"].map(cust["value"]).astype("float64")
    if "account_manager" not in joined and "account_manager" in cust:
        joined["account_manager"] = joined["customer_id"].map(cust["account_manager"])
    if "risk_band" not in joined and "churn_probability" in joined:
        joined["risk_band"] = risk_band(joined["churn_probability"].astype("float64"), risk_bands)

    logs = action_tables(dataset)
    if logs:
        acts = pd.concat([dataset.events[n][["customer_id", "timestamp"]] for n in logs],
                         ignore_index=True)
        acts["customer_id"] = acts["customer_id"].astype(str)
        hits = joined[["customer_id", "as_of"]].reset_index().merge(acts, on="customer_id")
        inside = (hits["timestamp"] >= hits["as_of"]) & (hits["timestamp"] < hits["as_of"] + horizon)
        joined["contacted"] = False
        joined.loc[hits.loc[inside, "index"].unique(), "contacted"] = True
    return joined, left_out.reset_index(drop=True)
