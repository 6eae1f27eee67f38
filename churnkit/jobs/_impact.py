"""The impact job: what the retention lists achieved, measured against their control groups."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import __version__, atomic_write_text, settle, write_table
from churnkit.config import Config
from churnkit.data import Dataset, load_dataset
from churnkit.exceptions import SchemaError
from churnkit.impact import IMPACT_COLUMNS, impact_by, impact_page, impact_table, realised_outcomes

__all__ = ["BREAKDOWNS", "ImpactResult", "impact", "read_assignments"]

BREAKDOWNS = ("recommended_playbook", "reason_1", "risk_band", "account_manager")
"""Columns the effect is broken down by, when the assignments (or customers) have them."""


def read_assignments(path: str | Path) -> pd.DataFrame:
    """An ``assignments.csv`` (or Parquet) file written by ``churnkit report --holdout``."""
    path = Path(path)
    settle(path.parent)  # a report run interrupted while renaming its files is completed
    if not path.is_file():
        raise SchemaError(f"Assignments file {str(path)!r} does not exist. Write one with "
                          "'churnkit report --holdout 0.1'.")
    if path.suffix.lower() in {".parquet", ".pq"}:
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"customer_id": str, "run_id": str})


def _number(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


@dataclass(frozen=True, eq=False)
class ImpactResult:
    """Treated vs control per run and overall, the breakdowns, and what was left out."""

    overall: pd.DataFrame
    breakdown: pd.DataFrame
    left_out: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    currency: str = ""

    def to_json(self) -> dict[str, Any]:
        """Summary, per-run and breakdown rows as plain JSON values."""
        def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{str(k): _number(v) for k, v in r.items()} for r in frame.to_dict("records")]
        return {"summary": {k: _number(v) for k, v in self.summary.items()},
                "runs": rows(self.overall), "breakdown": rows(self.breakdown)}

    def write(self, out: str | Path) -> dict[str, Path]:
        """Write ``impact.json``, ``impact.csv`` (every row), ``impact.html``, ``left_out.csv`` to ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"json": out / "impact.json", "csv": out / "impact.csv",
                 "html": out / "impact.html", "left_out": out / "left_out.csv"}
        atomic_write_text(paths["json"], json.dumps(self.to_json(), indent=2) + "\n")
        runs = self.overall.rename(columns={"run_id": "level"}).assign(breakdown="run")
        write_table(pd.concat([runs, self.breakdown], ignore_index=True)[
            ["breakdown", "level", *IMPACT_COLUMNS]], paths["csv"])
        atomic_write_text(paths["html"], impact_page(self.summary, self.overall, self.breakdown,
                                                     currency=self.currency))
        write_table(self.left_out, paths["left_out"])
        return paths


def impact(
    config: Config,
    assignments: Sequence[str | Path | pd.DataFrame] | str | Path | pd.DataFrame,
    *,
    tables: Mapping[str, pd.DataFrame] | None = None,
    dataset: Dataset | None = None,
) -> ImpactResult:
    """Measure the retention lists against their random control groups.

    Parameters
    ----------
    config : Config
        The configuration whose data now reaches past the runs' horizons; its
        ``labels`` section defines churn, an event table of kind ``actions``
        tells who was contacted.
    assignments : path, DataFrame, or a sequence of them
        ``assignments.csv`` files of ``churnkit report --holdout`` runs.
    tables : mapping, optional
        In-memory tables replacing the config's files.
    dataset : Dataset, optional
        Already loaded tables.

    Returns
    -------
    ImpactResult

    Raises
    ------
    HorizonNotPassedError
        If a run's horizon has not passed by the end of the data.
    """
    items = [assignments] if isinstance(assignments, str | Path | pd.DataFrame) else list(assignments)
    frames = [a if isinstance(a, pd.DataFrame) else read_assignments(a) for a in items]
    if not frames:
        raise SchemaError("No assignments given: pass at least one assignments.csv.")
    asg = pd.concat(frames, ignore_index=True)
    ds = dataset if dataset is not None else load_dataset(config, tables)
    if ds.label is not None:
        raise SchemaError("Impact needs dated outcomes (event data); snapshot data has none.")
    lab = config.labels
    joined, left_out = realised_outcomes(
        ds, asg, definition=lab.definition, horizon_days=lab.horizon_days,
        lookback_days=lab.lookback_days, activity_tables=lab.activity_tables or None,
        risk_bands=config.scoring.risk_bands)
    months = float(config.scoring.value_horizon_months)
    overall = pd.DataFrame(
        [{"run_id": str(run), **impact_table(part, value_horizon_months=months).to_dict()}
         for run, part in joined.groupby("run_id", sort=True)]
        + [{"run_id": "all", **impact_table(joined, value_horizon_months=months).to_dict()}])
    breakdown = impact_by(joined, BREAKDOWNS, value_horizon_months=months)
    total = overall.iloc[-1]
    horizon = pd.Timedelta(days=lab.horizon_days)
    summary = {
        "runs": int(joined["run_id"].nunique()),
        "as_of": ", ".join(sorted({str(d.date()) for d in joined["as_of"]})),
        "measured": len(joined), "left_out": len(left_out),
        "treated": int(total["treated"]), "control": int(total["control"]),
        "churn_treated": total["churn_treated"], "churn_control": total["churn_control"],
        "itt": total["itt"], "itt_low": total["itt_low"], "itt_high": total["itt_high"],
        "contacted_share": total["contacted_share"], "cace": total["cace"],
        "cace_low": total["cace_low"], "cace_high": total["cace_high"],
        "customers_saved": total["customers_saved"], "value_saved": total["value_saved"],
        "note": (f"Churn within {lab.horizon_days} days of each run's as_of "
                 f"(horizons end by {(joined['as_of'].max() + horizon).date()}; data end "
                 f"{ds.end.date()}); value saved counts {months:g} months of value."),
        "churnkit_version": __version__,
    }
    summary = {k: _number(v) for k, v in summary.items()}
    return ImpactResult(overall=overall, breakdown=breakdown, left_out=left_out, summary=summary,
                        currency=config.scoring.currency)
