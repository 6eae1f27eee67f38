"""The at-risk table: who to call, why, and what to do, ordered by value at risk."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import STR_DTYPE, require_columns
from churnkit.actions._risk import band_order, risk_band, value_at_risk
from churnkit.exceptions import SchemaError

__all__ = ["at_risk_from_scores", "AT_RISK_COLUMNS", "UNASSIGNED", "build_at_risk"]

UNASSIGNED = "(unassigned)"
AT_RISK_COLUMNS: tuple[str, ...] = (
    "customer_id", "account_manager", "churn_probability", "risk_band", "value_at_risk",
    "reason_1", "reason_2", "reason_3", "action_1", "action_2", "action_3",
    "last_contact", "last_feedback",
)

TouchInput = pd.Series | pd.DataFrame | Mapping[Any, str] | None


_FIX = "Rename the columns or map them in the config."


def _kept_bands(min_band: str | None, bands: Mapping[str, float] | None, func: str) -> list[str] | None:
    """The bands ``min_band`` keeps (it and the riskier ones), or None to keep all."""
    order = band_order(bands)
    if min_band is None:
        return None
    if min_band not in order:
        raise ValueError(
            f"The 'min_band' parameter of {func} must be one of {order}. Got {min_band!r} instead."
        )
    return order[: order.index(min_band) + 1]


def _by_value_at_risk(table: pd.DataFrame, kept: list[str] | None) -> pd.DataFrame:
    """Rows of the kept bands, highest value at risk first (missing last), ties by probability."""
    if kept is not None:
        table = table[table["risk_band"].isin(kept)]
    return table.sort_values(
        ["value_at_risk", "churn_probability"], ascending=False, na_position="last", kind="stable"
    ).reset_index(drop=True)


def _unique_ids(frame: pd.DataFrame, name: str) -> None:
    dup = frame["customer_id"].duplicated(keep=False)
    if dup.any():
        ids = frame.loc[dup, "customer_id"].drop_duplicates().head(5).tolist()
        raise SchemaError(
            f"{name}.customer_id: {int(dup.sum())} rows share an id, e.g. {ids}. "
            "Keep one row per customer (e.g. the latest as_of)."
        )


def _aligned(frame: pd.DataFrame | None, scores: pd.DataFrame, name: str) -> pd.DataFrame:
    """Return ``frame``'s rows in the order of ``scores`` (by customer_id, else by index)."""
    if frame is None:
        return pd.DataFrame(index=scores.index)
    if "customer_id" in frame.columns:
        _unique_ids(frame, name)
        pos = pd.Index(frame["customer_id"]).get_indexer(scores["customer_id"])
        out = frame.drop(columns="customer_id").iloc[np.where(pos >= 0, pos, 0)]
        out = out.set_axis(scores.index)
        return out.where(pd.Series(pos >= 0, index=scores.index), axis=0)
    if not frame.index.equals(scores.index):
        raise SchemaError(
            f"{name} must have the same index as scores (or a customer_id column); "
            f"first labels {frame.index[:3].tolist()} vs {scores.index[:3].tolist()}."
        )
    return frame


def _touch(values: TouchInput, ids: pd.Series, column: str) -> pd.Series:
    if values is None:
        return pd.Series(np.nan, index=ids.index, dtype=STR_DTYPE)
    if isinstance(values, pd.DataFrame):
        require_columns(values, ["customer_id", column], table=column, fix=_FIX)
        values = values.set_index("customer_id")[column]
    lookup = values if isinstance(values, pd.Series) else pd.Series(dict(values), dtype=object)
    if lookup.index.has_duplicates:
        dups = lookup.index[lookup.index.duplicated()][:5].tolist()
        raise SchemaError(f"{column}: several entries for customers {dups}; keep one each.")
    return pd.Series(ids.map(lookup).to_numpy(dtype=object), index=ids.index, dtype=STR_DTYPE)


def build_at_risk(
    scores: pd.DataFrame,
    customers: pd.DataFrame,
    reasons_frame: pd.DataFrame | None,
    actions_frame: pd.DataFrame | None,
    last_contact: TouchInput = None,
    last_feedback: TouchInput = None,
    *,
    bands: Mapping[str, float] | None = None,
    value_horizon_months: float = 12,
    min_band: str | None = None,
) -> pd.DataFrame:
    """Assemble the at-risk table, highest value at risk first.

    Parameters
    ----------
    scores : DataFrame
        ``customer_id, churn_probability`` (plus ``as_of``, ``model_version``...).
    customers : DataFrame
        ``customer_id, value`` (monthly value) and optionally ``account_manager``.
        A customer without a manager is listed under ``"(unassigned)"``.
    reasons_frame : DataFrame or None
        ``reason_1..3`` from :func:`churnkit.explain.top_reasons`; aligned with
        ``scores`` by index, or by a ``customer_id`` column if it has one.
    actions_frame : DataFrame or None
        ``action_1..3`` from :func:`recommend`, aligned the same way.
    last_contact, last_feedback : Series, DataFrame or mapping, optional
        Text per customer id (e.g. from :func:`describe_last_contact`): a
        Series indexed by customer id, a mapping, or a DataFrame with
        ``customer_id`` and a ``last_contact`` / ``last_feedback`` column.
    bands : mapping, optional
        Risk band thresholds (see :func:`risk_band`).
    value_horizon_months : float, default 12
        Months of revenue at stake (see :func:`value_at_risk`).
    min_band : str, optional
        Keep only customers in this band or a riskier one (e.g. ``"medium"``).

    Returns
    -------
    DataFrame
        Exactly the columns of ``AT_RISK_COLUMNS``, ordered by
        ``value_at_risk`` (descending, missing last), ties by
        ``churn_probability``. ``attrs["as_of"]`` holds the latest ``as_of`` of
        ``scores`` as text, if it has that column.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnkit.actions import build_at_risk
    >>> scores = pd.DataFrame({"customer_id": ["a", "b", "c"],
    ...                        "churn_probability": [0.9, 0.4, 0.7]})
    >>> customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "value": [100.0, 900.0, 50.0],
    ...                           "account_manager": ["Ana", "Ana", "Ben"]})
    >>> reasons = pd.DataFrame({"reason_1": ["No login in 30 days", "Price rise", "Open ticket"]})
    >>> table = build_at_risk(scores, customers, reasons, None)
    >>> table[["customer_id", "account_manager", "risk_band", "value_at_risk"]]
      customer_id account_manager risk_band  value_at_risk
    0           b             Ana    medium         4320.0
    1           a             Ana      high         1080.0
    2           c             Ben      high          420.0
    """
    require_columns(scores, ["customer_id", "churn_probability"], table="scores", fix=_FIX)
    require_columns(customers, ["customer_id", "value"], table="customers", fix=_FIX)
    _unique_ids(scores, "scores")
    _unique_ids(customers, "customers")
    kept = _kept_bands(min_band, bands, "build_at_risk")
    ids = scores["customer_id"]
    pos = pd.Index(customers["customer_id"]).get_indexer(ids)
    found = pos >= 0
    if len(ids) and len(customers) and not found.any():
        raise SchemaError(
            f"None of the scored customer ids is in customers (e.g. {ids.iloc[0]!r} vs "
            f"{customers['customer_id'].iloc[0]!r}); check that both use the same ids and type."
        )

    def from_customers(column: str) -> np.ndarray:
        if column not in customers.columns:
            return np.full(len(ids), None, dtype=object)
        values = customers[column].to_numpy(dtype=object)[np.where(found, pos, 0)]
        values[~found] = None
        return values

    manager = pd.Series(from_customers("account_manager"), index=scores.index, dtype=STR_DTYPE)
    manager = manager.str.strip()
    manager = manager.where(manager != "").fillna(UNASSIGNED)
    prob = pd.Series(scores["churn_probability"].to_numpy(dtype=float), index=scores.index)
    money = pd.to_numeric(pd.Series(from_customers("value"), index=scores.index), errors="coerce")
    reasons = _aligned(reasons_frame, scores, "reasons_frame")
    actions = _aligned(actions_frame, scores, "actions_frame")

    out = pd.DataFrame(
        {
            "customer_id": ids,
            "account_manager": manager,
            "churn_probability": prob,
            "risk_band": risk_band(prob, bands),
            "value_at_risk": value_at_risk(prob, money, value_horizon_months),
        },
        index=scores.index,
    )
    for col in AT_RISK_COLUMNS[5:11]:
        source = reasons if col.startswith("reason") else actions
        out[col] = source[col].astype(STR_DTYPE) if col in source.columns else pd.Series(
            np.nan, index=scores.index, dtype=STR_DTYPE
        )
    out["last_contact"] = _touch(last_contact, ids, "last_contact")
    out["last_feedback"] = _touch(last_feedback, ids, "last_feedback")
    out = _by_value_at_risk(out, kept)[list(AT_RISK_COLUMNS)]
    if "as_of" in scores.columns and scores["as_of"].notna().any():
        latest = scores["as_of"].dropna().max()
        out.attrs["as_of"] = (
            latest.strftime("%Y-%m-%d") if hasattr(latest, "strftime") else str(latest)
        )
    return out


def at_risk_from_scores(
    scores: pd.DataFrame,
    *,
    bands: Mapping[str, float] | None = None,
    min_band: str | None = None,
) -> pd.DataFrame:
    """The at-risk table from a scores table written by ``churnkit score``.

    Such a table already carries ``risk_band``, ``value_at_risk``, reasons, actions,
    ``account_manager`` and the last contact and feedback; this orders it by value at
    risk and keeps the columns of ``AT_RISK_COLUMNS`` (missing ones are left empty).

    Parameters
    ----------
    scores : DataFrame
        At least ``customer_id`` and ``churn_probability``.
    bands : mapping, optional
        Risk band thresholds, used for ``min_band`` and when ``risk_band`` is absent.
    min_band : str, optional
        Keep only customers in this band or a riskier one.
    """
    require_columns(scores, ["customer_id", "churn_probability"], table="scores", fix=_FIX)
    _unique_ids(scores, "scores")
    kept = _kept_bands(min_band, bands, "at_risk_from_scores")
    out = scores.copy()
    if "risk_band" not in out:
        out["risk_band"] = risk_band(out["churn_probability"], bands)
    for col in AT_RISK_COLUMNS:
        if col not in out:
            out[col] = np.nan
    manager = out["account_manager"].astype(STR_DTYPE).str.strip()
    out["account_manager"] = manager.where(manager != "").fillna(UNASSIGNED)
    result = _by_value_at_risk(out, kept)[list(AT_RISK_COLUMNS)]
    if "as_of" in scores.columns and scores["as_of"].notna().any():
        result.attrs["as_of"] = str(scores["as_of"].dropna().max())[:10]
    return result
