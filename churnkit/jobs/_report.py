"""The report job: at-risk lists per account manager from a scores table or file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from churnkit._core import __version__, settle
from churnkit.actions import at_risk_from_scores
from churnkit.exceptions import SchemaError
from churnkit.impact import assign_holdout, assignments_table
from churnkit.report import write_at_risk_lists

__all__ = ["read_scores", "report"]

LOWEST_BAND = "low"
"""The band below every threshold of ``scoring.risk_bands`` (see :func:`churnkit.actions.risk_band`)."""


def read_scores(path: str | Path) -> pd.DataFrame:
    """A scores table written by ``churnkit score``: a CSV or Parquet file, or a folder of parts."""
    path = Path(path)
    if path.is_dir():  # the scores/ folder of part files written by the Dask engine
        settle(path.parent)
        return pd.read_parquet(path)
    if not path.is_file():
        what = ("is not a regular file (a device, pipe or socket)" if path.exists()
                else "does not exist")
        raise SchemaError(f"Scores file {str(path)!r} {what}. Write one with 'churnkit score'.")
    settle(path.parent)  # a run interrupted while renaming its files is completed first
    if path.suffix.lower() in {".parquet", ".pq"}:
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"customer_id": str, "account_manager": str})


def report(
    scores: pd.DataFrame | str | Path,
    out_dir: str | Path,
    *,
    min_band: str | None = None,
    currency: str = "",
    holdout: float = 0.0,
    random_state: int = 0,
) -> dict[str, Any]:
    """Write the at-risk lists of every account manager (CSV, one XLSX sheet each, HTML pages).

    Parameters
    ----------
    scores : DataFrame or path-like
        A scores table (:attr:`ScoreResult.scores`) or a file/folder written by
        ``churnkit score``.
    out_dir : path-like
        Folder for ``at_risk.csv``, ``at_risk.xlsx`` and ``at_risk/<manager>.html``.
    min_band : str, optional
        List only this risk band and riskier ones (e.g. ``"medium"``); ``"low"``
        lists every customer. Default: every band above ``low``, so that the lists
        hold the customers at risk, not every customer scored.
    currency : str, default ""
        Currency symbol for values.
    holdout : float, default 0.0
        Share of the listed customers kept out of every list as a random control
        group, stratified by risk band and account manager (see
        :func:`churnkit.impact.assign_holdout`). With a share above 0,
        ``assignments.csv`` records every customer's group for ``churnkit impact``;
        control customers appear in no at-risk file.
    random_state : int, default 0
        Seed of the holdout draw (the same ``random_state`` and ids give the same groups).

    Returns
    -------
    dict
        ``at_risk_customers``, ``account_managers`` and the files written.
    """
    table = scores if isinstance(scores, pd.DataFrame) else read_scores(scores)
    at_risk = at_risk_from_scores(table, min_band=min_band)
    if min_band is None:  # the band below every threshold is not at risk
        attrs = dict(at_risk.attrs)
        at_risk = at_risk[at_risk["risk_band"].astype(str) != LOWEST_BAND].reset_index(drop=True)
        at_risk.attrs.update(attrs)
    assignments = None
    if holdout:
        groups = assign_holdout(at_risk, holdout, random_state=random_state)
        if "model_version" in table:
            version = table.drop_duplicates("customer_id").set_index("customer_id")["model_version"]
            at_risk = at_risk.assign(model_version=at_risk["customer_id"].map(version))
        run_id = f"{at_risk.attrs.get('as_of', 'run')}-s{random_state}-h{holdout:g}"
        assignments = assignments_table(at_risk, groups, run_id=run_id)
        attrs = dict(at_risk.attrs)
        at_risk = at_risk[(groups == "treat").to_numpy()].drop(
            columns="model_version", errors="ignore").reset_index(drop=True)
        at_risk.attrs.update(attrs)
    paths = write_at_risk_lists(at_risk, out_dir, currency=currency, assignments=assignments)
    extra: dict[str, Any] = {}
    if assignments is not None:
        extra = {"control_customers": int((assignments["group"] == "control").sum()),
                 "assignments_csv": str(paths["assignments"])}
    return {"at_risk_customers": len(at_risk),
            "account_managers": int(at_risk["account_manager"].nunique()),
            "at_risk_csv": str(paths["csv"]), "at_risk_xlsx": str(paths["xlsx"]),
            "at_risk_html": str(paths["html_index"]), **extra, "churnkit_version": __version__}
