"""Random control groups kept out of the at-risk lists, and the assignments table."""

from __future__ import annotations

import hashlib
import numbers

import numpy as np
import pandas as pd

from churnkit._core import require_columns
from churnkit.exceptions import ConfigError

__all__ = ["ASSIGNMENT_COLUMNS", "assign_holdout", "assignments_table"]

ASSIGNMENT_COLUMNS: tuple[str, ...] = (
    "run_id", "as_of", "customer_id", "group", "churn_probability", "risk_band",
    "value_at_risk", "account_manager", "reason_1", "reason_2", "reason_3",
    "recommended_playbook", "model_version",
)
"""Columns of ``assignments.csv``; ``recommended_playbook`` is the first recommended action."""


def _unit(keys: pd.Series | np.ndarray, random_state: int) -> np.ndarray:
    """A uniform number in [0, 1) per key, fixed by ``random_state`` and the key's text only."""
    salt = hashlib.sha256(f"churnkit-holdout:{random_state}".encode()).hexdigest()[:16]
    hashed = pd.util.hash_array(np.asarray(keys, dtype=object).astype(str), hash_key=salt)
    return (hashed >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def assign_holdout(
    at_risk: pd.DataFrame,
    share: float,
    *,
    random_state: int = 0,
    strata: tuple[str, ...] = ("risk_band", "account_manager"),
) -> pd.Series:
    """Draw a random control group in every stratum (risk band × account manager).

    Each customer gets a uniform number from a hash of ``random_state`` and its id;
    in each stratum the customers are ordered by it and every ``1/share``-th one
    (from a random start fixed by the stratum and ``random_state``) is control. So
    each stratum holds ``share`` of its customers as control up to rounding,
    the same ``random_state`` and ids give the same groups whatever the row order, and a
    customer keeps its group when others are added or removed only through
    its rank.

    Parameters
    ----------
    at_risk : DataFrame
        One row per customer: ``customer_id`` and the ``strata`` columns.
    share : float
        Share of control customers, in [0, 1).
    random_state : int, default 0
        Seed of the draw.
    strata : tuple of str, default ("risk_band", "account_manager")
        Columns whose combinations are the strata.

    Returns
    -------
    Series of str
        ``"treat"`` or ``"control"``, indexed like ``at_risk``.

    Raises
    ------
    ConfigError
        If ``share`` is not in [0, 1) or ``random_state`` is not an int >= 0.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"customer_id": [f"C{i}" for i in range(100)],
    ...                       "risk_band": ["high"] * 50 + ["medium"] * 50,
    ...                       "account_manager": "Ann"})
    >>> groups = assign_holdout(table, 0.1, random_state=3)
    >>> groups.value_counts().to_dict()
    {'treat': 90, 'control': 10}
    >>> groups.equals(assign_holdout(table.iloc[::-1], 0.1, random_state=3).sort_index())
    True
    """
    if isinstance(share, bool) or not isinstance(share, numbers.Real) or not 0 <= share < 1:
        raise ConfigError(
            f"The 'share' parameter of assign_holdout must be a float in [0, 1). Got {share!r} instead."
        )
    if (isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral)
            or random_state < 0):
        raise ConfigError(
            "The 'random_state' parameter of assign_holdout must be an int >= 0. "
            f"Got {random_state!r} instead."
        )
    require_columns(at_risk, ("customer_id", *strata), table="at_risk",
                    fix="Pass the at-risk table of churnkit.actions.build_at_risk.")
    groups = pd.Series("treat", index=at_risk.index, dtype=object)
    if share == 0 or at_risk.empty:
        return groups
    u = _unit(at_risk["customer_id"], random_state)
    stratum = pd.Series("", index=at_risk.index, dtype=object)
    for col in strata:
        stratum = stratum + "\x1f" + at_risk[col].astype(str).astype(object)
    frame = pd.DataFrame({"stratum": stratum.to_numpy(), "u": u}, index=at_risk.index)
    rank = frame.sort_values(["stratum", "u"], kind="stable").groupby("stratum").cumcount()
    rank = rank.reindex(frame.index).to_numpy()
    start = _unit(frame["stratum"].to_numpy(), random_state + 1)  # random phase per stratum
    control = np.floor(share * (rank + 1) + start) - np.floor(share * rank + start) >= 1
    groups[control] = "control"
    return groups


def assignments_table(
    at_risk: pd.DataFrame, groups: pd.Series, *, run_id: str, model_version: str | None = None,
) -> pd.DataFrame:
    """The assignments of one run: every listed or held-out customer, its group and its score.

    Parameters
    ----------
    at_risk : DataFrame
        The at-risk table before the control group was taken out.
    groups : Series
        From :func:`assign_holdout`.
    run_id : str
        Identifies the run (e.g. ``"2026-01-01-s0"``).
    model_version : str, optional
        Default: the table's ``model_version`` column, if any.

    Returns
    -------
    DataFrame
        Columns :data:`ASSIGNMENT_COLUMNS`.
    """
    out = pd.DataFrame(index=at_risk.index)
    out["run_id"] = run_id
    out["as_of"] = at_risk.get("as_of", at_risk.attrs.get("as_of"))
    out["customer_id"] = at_risk["customer_id"]
    out["group"] = groups.reindex(at_risk.index)
    for col in ("churn_probability", "risk_band", "value_at_risk", "account_manager",
                "reason_1", "reason_2", "reason_3"):
        out[col] = at_risk.get(col, pd.NA)
    out["recommended_playbook"] = at_risk.get("action_1", pd.NA)
    if model_version is None and "model_version" in at_risk:
        out["model_version"] = at_risk["model_version"]
    else:
        out["model_version"] = model_version
    return out[list(ASSIGNMENT_COLUMNS)].reset_index(drop=True)
