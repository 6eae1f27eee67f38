"""Grouped, worded churn reasons from SHAP contributions.

``configs/reasons.yaml`` lists reason groups in order; each claims features by
name (``fnmatch`` globs, case-insensitive), optionally under conditions on the
customer's values (``"transactions__amount__change* if > 0"``). For each
customer a feature's contribution goes to the first group whose pattern
matches it and whose conditions hold for that customer; a missing value never
satisfies a condition, and without ``X`` no condition holds (conditional
patterns are skipped). A feature no group claims is a reason of its own
(``static__Contract`` gives ``"Contract: Month-to-month"``). Contributions are
summed per group, and each customer's largest *positive* groups are worded
with the customer's own values through the group's templates (see
:mod:`churnkit.explain._wording`); the group label is the last resort.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numba import prange

from churnkit._core import Coded, cached_njit, str_take
from churnkit.exceptions import SchemaError
from churnkit.explain._reason_config import (
    EXPECTED_COLUMN,
    ReasonConfig,
    ReasonGroup,
    ReasonPattern,
    ReasonTemplate,
    as_reason_config,
    load_reasons,
)
from churnkit.explain._wording import (
    Columns,
    RowConditions,
    humanize_feature,
    word_rows,
)

__all__ = [
    "EXPECTED_COLUMN",
    "GlobalImportance",
    "ReasonConfig",
    "ReasonGroup",
    "ReasonPattern",
    "ReasonTemplate",
    "global_importance",
    "group_contributions",
    "humanize_feature",
    "load_reasons",
    "top_reasons",
]

# ----------------------------------------------------------------------------- grouping
class _Grouping(NamedTuple):
    ids: list[str]
    labels: list[str]
    groups: list[ReasonGroup | None]  # None: an unclaimed feature, its own reason
    features: list[str]
    values: np.ndarray  # n x m contributions (features only)
    fixed: np.ndarray  # column of each feature, -1 if it depends on the customer's values
    chains: dict[int, tuple[tuple[int, tuple[str, ...]], ...]]  # feature -> (column, conds)
    members: list[np.ndarray]  # features that can count towards each column


def feature_columns(contrib: pd.DataFrame) -> list[str]:
    """The feature columns of a SHAP frame (all but ``"(expected)"``)."""
    if not isinstance(contrib, pd.DataFrame):
        raise SchemaError(f"contrib must be a DataFrame of SHAP values, got {type(contrib)}.")
    return [str(c) for c in contrib.columns if c != EXPECTED_COLUMN]


def _grouping(features: list[str], values: np.ndarray, cfg: ReasonConfig) -> _Grouping:
    chains = {f: cfg.chain(f) for f in features}
    used = {gid for chain in chains.values() for gid, _ in chain}
    groups: list[ReasonGroup | None] = [g for g in cfg.reasons if g.id in used]
    ids = [g.id for g in groups if g is not None]
    labels = [g.label for g in groups if g is not None]
    for f in features:
        if chains[f][-1][0] is None:
            ids.append(f)
            labels.append(humanize_feature(f))
            groups.append(None)
    column = {gid: i for i, gid in enumerate(ids)}
    fixed = np.full(len(features), -1, dtype=np.intp)
    conditional: dict[int, tuple[tuple[int, tuple[str, ...]], ...]] = {}
    members: list[list[int]] = [[] for _ in ids]
    for j, f in enumerate(features):
        entries = tuple((column[f if gid is None else gid], conds) for gid, conds in chains[f])
        if len(entries) == 1:
            fixed[j] = entries[0][0]
        else:
            conditional[j] = entries
        for col in dict.fromkeys(col for col, _ in entries):
            members[col].append(j)
    return _Grouping(ids, labels, groups, features, values, fixed, conditional,
                     [np.asarray(m, dtype=np.intp) for m in members])


def _from_contrib(contrib: pd.DataFrame, cfg: ReasonConfig) -> _Grouping:
    features = feature_columns(contrib)
    values = contrib[features].to_numpy(dtype=float)
    if np.isnan(values.sum(axis=0)).any():  # a NaN makes its column's sum NaN: one cheap pass
        nan = np.isnan(values).any(axis=1)
        if nan.any():
            bad = contrib.index[nan][:5].tolist()
            raise SchemaError(
                f"contrib has NaN contributions at rows {bad}; recompute SHAP values.")
    return _grouping(features, values, cfg)


def _winners(grp: _Grouping, j: int, cond: RowConditions) -> list[tuple[int, np.ndarray]]:
    """Where each entry of feature ``j``'s chain is the one that claims it."""
    remaining = np.ones(cond.n, dtype=bool)
    out = []
    for col, conds in grp.chains[j]:
        held = remaining & cond.holds(conds, grp.features[j]) if conds else remaining
        out.append((col, held))
        remaining = remaining & ~held
    return out


@cached_njit(parallel=True)
def _fixed_sums(values: np.ndarray, group: np.ndarray, out: np.ndarray) -> None:
    """``out[:, g] += values[:, j]`` for every feature ``j`` of group ``g = group[j]`` (>= 0).

    In ascending ``j`` within a group, the order of ``np.add.reduceat``; blocks of
    rows in parallel, each block's sums held in cache while the columns stream by.
    """
    n, f = values.shape
    step = 2048
    for b in prange(n // step + 1):
        lo = b * step
        hi = min(n, lo + step)
        for j in range(f):
            g = group[j]
            if g >= 0:
                for i in range(lo, hi):
                    out[i, g] += values[i, j]


def _grouped_matrix(grp: _Grouping, cond: RowConditions) -> np.ndarray:
    n = len(grp.values)
    out = np.zeros((n, len(grp.ids)), order="F")  # columns, like the contributions
    if len(grp.values):
        _fixed_sums(grp.values, grp.fixed.astype(np.int64), out)
    for j, chain in ((j, _winners(grp, j, cond)) for j in grp.chains):
        column = grp.values[:, j]
        for c, held in chain:
            col = out[:, c]  # a view: the sum is added in place
            np.add(col, column, out=col, where=held)
    return out


def _players(grp: _Grouping, cond: RowConditions) -> np.ndarray:
    """The group column that claims each feature, row by row: the players of the groups' game."""
    player = np.empty((cond.n, len(grp.features)), dtype=np.intp)
    player[:, grp.fixed >= 0] = grp.fixed[grp.fixed >= 0]
    for j in grp.chains:
        for col, held in _winners(grp, j, cond):
            player[held, j] = col
    return player


def _group_values(grp: _Grouping, cond: RowConditions, X: pd.DataFrame | None,
                  model: Any) -> np.ndarray:
    """Per group: its features' summed contributions, or its Shapley value as one player."""
    if model is None:
        return _grouped_matrix(grp, cond)
    names = [str(c) for c in getattr(model, "feature_names_in_", [])]
    if names != grp.features or X is None:
        raise SchemaError(
            "Ranking reasons with the model needs the contributions of that model's features, "
            f"in its order ({len(names)} features), and their values X; got {len(grp.features)} "
            "contribution columns. Pass model.explain(X) and X."
        )
    values = model.explain_players(X[grp.features], _players(grp, cond), len(grp.ids))
    return np.asarray(values)[:, :-1]


def check_aligned(contrib: pd.DataFrame, X: pd.DataFrame) -> None:
    """Refuse feature values that are not those the contributions were computed from."""
    if not isinstance(X, pd.DataFrame):
        raise SchemaError(f"X must be a DataFrame of feature values, got {type(X).__name__}.")
    if not contrib.index.equals(X.index):
        raise SchemaError(
            f"contrib and X must have the same index in the same order ({len(contrib)} vs "
            f"{len(X)} rows; first labels {contrib.index[:3].tolist()} vs {X.index[:3].tolist()}). "
            "Pass the SHAP values computed from this X."
        )


def group_contributions(
    contrib: pd.DataFrame,
    reasons: ReasonConfig | str | Path | None = None,
    *,
    X: pd.DataFrame | None = None,
    model: Any = None,
) -> pd.DataFrame:
    """Sum SHAP contributions per reason group (or value the groups as players).

    Parameters
    ----------
    contrib : DataFrame
        SHAP values, one column per feature (``"(expected)"`` is ignored).
    reasons : ReasonConfig, path or None
        Reason groups; ``None`` uses the built-in ``configs/reasons.yaml``.
    X : DataFrame, optional
        The feature values, same index as ``contrib``, for patterns with
        conditions. Without it no condition holds: conditional patterns are
        skipped.
    model : ChurnModel, optional
        The model ``contrib`` comes from (with ``X``). Each group's value is
        then its exact Shapley value with the groups as players
        (:meth:`churnkit.model.ChurnModel.explain_players`) instead of the
        sum of its features' SHAP values: interactions between a group's
        features count for the group whole.

    Returns
    -------
    DataFrame
        Same index as ``contrib``; one column per group that can claim at
        least one feature (configuration order), then one per feature that
        no group claims unconditionally. Rows sum to the sum of the features'
        contributions.
    """
    if X is not None:
        check_aligned(contrib, X)
    grp = _from_contrib(contrib, as_reason_config(reasons))
    cond = RowConditions(X, slice(None), len(contrib))
    return pd.DataFrame(_group_values(grp, cond, X, model), index=contrib.index, columns=grp.ids)


def _top_k(grouped: np.ndarray, k: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` largest columns (ties: first column first) and whether they pass."""
    n, g = grouped.shape
    top = np.zeros((n, k), dtype=np.intp)
    valid = np.zeros((n, k), dtype=bool)
    step = max(1, 4_000_000 // max(g, 1))
    for start in range(0, n if g else 0, step):
        block = -grouped[start:start + step]
        best = np.argsort(block, axis=1, kind="stable")[:, :k]
        top[start:start + step, :best.shape[1]] = best
        valid[start:start + step, :best.shape[1]] = (
            -np.take_along_axis(block, best, axis=1) > threshold)
    return top, valid


@cached_njit()
def _best_member(values: np.ndarray, rows: np.ndarray, members: np.ndarray,
                 allowed: np.ndarray) -> np.ndarray:
    """Per row of ``rows``, the position in ``members`` of its largest allowed value.

    As ``np.argmax`` of the values with the disallowed ones set to -inf: the first
    of equal values, position 0 when none is allowed.
    """
    out = np.zeros(rows.shape[0], dtype=np.int64)
    for i in range(rows.shape[0]):
        r = rows[i]
        best = values[r, members[0]] if allowed[i, 0] else -np.inf
        at = 0
        for k in range(1, members.shape[0]):
            if allowed[i, k]:
                v = values[r, members[k]]
                if v > best:
                    best = v
                    at = k
        out[i] = at
    return out


def _word_group(
    grp: _Grouping, g: int, rows: np.ndarray, X: pd.DataFrame, cols: Columns,
    fallback: ReasonTemplate,
) -> Coded:
    members = grp.members[g]
    allowed = np.ones((len(rows), len(members)), dtype=bool)
    cond = RowConditions(X, rows, len(rows))
    for k, j in enumerate(members):
        if j in grp.chains:
            mine = allowed[:, k]
            mine[:] = False
            for col, held in _winners(grp, int(j), cond):
                if col == g:
                    mine |= held
    best = members[_best_member(grp.values, rows, members.astype(np.int64), allowed)]
    group = grp.groups[g]
    templates = group.template if group is not None else (fallback,)
    return word_rows(templates, grp.labels[g], grp.features, best, cols, rows)


def top_reasons(
    contrib: pd.DataFrame,
    X: pd.DataFrame,
    reasons: ReasonConfig | str | Path | None = None,
    k: int = 3,
    *,
    min_contribution: float = 0.0,
    model: Any = None,
) -> pd.DataFrame:
    """Word each customer's ``k`` strongest positive reasons.

    Parameters
    ----------
    contrib : DataFrame
        SHAP values (log-odds), features as columns, same index as ``X``.
    X : DataFrame
        The feature values the contributions were computed from; they also
        decide conditional group membership.
    reasons : ReasonConfig, path or None
        Reason groups; ``None`` uses the built-in ``configs/reasons.yaml``.
    k : int, default 3
        Number of reasons per customer.
    min_contribution : float, default 0.0
        A group is listed only if its summed contribution exceeds this.
    model : ChurnModel, optional
        The model ``contrib`` comes from. Groups are then ranked by their
        exact Shapley values with the groups as players (see
        :func:`group_contributions`), which credits a cause whose evidence
        lies in a few interacting features as much as one spread over many;
        the wording still names each group's strongest feature.

    Returns
    -------
    DataFrame
        Index of ``X``; columns ``reason_1..k`` (sentences) then
        ``reason_1_id..k`` (group ids, or the feature name for a feature no
        group claims). Missing when a customer has fewer positive groups.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnkit.explain import top_reasons
    >>> X = pd.DataFrame({"contacts__unresolved__count__90d": [3.0, 0.0],
    ...                   "static__contract": ["monthly", "annual"],
    ...                   "static__seats": [12.0, 40.0]},
    ...                  index=pd.Index(["C1", "C2"], name="customer_id"))
    >>> contrib = pd.DataFrame({"contacts__unresolved__count__90d": [0.8, -0.1],
    ...                         "static__contract": [0.3, -0.4],
    ...                         "static__seats": [-0.2, 0.5]}, index=X.index)
    >>> reasons = top_reasons(contrib, X, k=2)
    >>> reasons.loc["C1", ["reason_1", "reason_2"]].tolist()
    ['3 unresolved contacts in the last 90 days', 'On a monthly contract']
    >>> reasons.loc["C1", ["reason_1_id", "reason_2_id"]].tolist()
    ['unresolved_complaints', 'contract_plan']

    ``static__seats`` belongs to no reason group, so it is a reason of its own;
    C2 has no second positive reason:

    >>> reasons.loc["C2", ["reason_1", "reason_1_id", "reason_2"]].tolist()
    ['Seats: 40', 'static__seats', nan]
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"The 'k' parameter of top_reasons must be an int >= 1. Got {k!r}.")
    check_aligned(contrib, X)
    grp = _from_contrib(contrib, as_reason_config(reasons))
    top, valid = _top_k(_group_values(grp, RowConditions(X, slice(None), len(X)), X, model), k,
                        min_contribution)
    # texts and ids as codes into their distinct words, taken into text columns at the end
    texts = np.full(top.shape, -1, dtype=np.int64)
    words: list[str] = []
    rows, slots = np.nonzero(valid)
    chosen = top[rows, slots]
    cols, fallback = Columns(X), ReasonTemplate(text="{feature}: {value}")
    for g in np.unique(chosen):
        sel = chosen == g
        worded = _word_group(grp, int(g), rows[sel], X, cols, fallback)
        texts[rows[sel], slots[sel]] = worded.codes + len(words)
        words.extend(worded.words)
    ids = np.where(valid, top, -1)
    data = {f"reason_{i + 1}": str_take(words, texts[:, i]) for i in range(k)}
    data |= {f"reason_{i + 1}_id": str_take(grp.ids, ids[:, i]) for i in range(k)}
    return pd.DataFrame(data, index=X.index)


@dataclass(frozen=True)
class GlobalImportance:
    """Mean absolute SHAP value per feature and per reason group."""

    features: pd.DataFrame
    """Index ``feature``; columns ``reason_id``, ``mean_abs_contribution``."""
    reasons: pd.DataFrame
    """Index ``reason_id``; columns ``label``, ``mean_abs_contribution``, ``n_features``."""


def global_importance(
    contrib: pd.DataFrame,
    reasons: ReasonConfig | str | Path | None = None,
    *,
    X: pd.DataFrame | None = None,
) -> GlobalImportance:
    """Rank features and reason groups by mean absolute contribution.

    A group's importance is the mean of ``|sum of its features' SHAP values|``
    per customer, so features pushing in opposite directions partly cancel.
    With ``X``, conditional patterns apply customer by customer (see
    :func:`group_contributions`); a feature's ``reason_id`` is then the group
    that receives most of its absolute contribution, and a group's
    ``n_features`` counts the features that count towards it for at least one
    customer. Both tables are sorted by importance, largest first.
    """
    if X is not None:
        check_aligned(contrib, X)
    grp = _from_contrib(contrib, as_reason_config(reasons))
    cond = RowConditions(X, slice(None), len(contrib))
    owner = np.empty(len(grp.features), dtype=object)
    owner[grp.fixed >= 0] = np.asarray(grp.ids, dtype=object)[grp.fixed[grp.fixed >= 0]]
    n_features = np.bincount(grp.fixed[grp.fixed >= 0], minlength=len(grp.ids))
    size = np.abs(grp.values)
    for j in grp.chains:
        shares = [(size[held, j].sum(), held.any(), col) for col, held in _winners(grp, j, cond)]
        owner[j] = grp.ids[max(shares, key=lambda s: (s[0], s[1]))[2]]
        for _, anywhere, col in shares:
            n_features[col] += int(anywhere)
    features = pd.DataFrame(
        {"reason_id": owner, "mean_abs_contribution": size.mean(axis=0)},
        index=pd.Index(grp.features, name="feature"),
    ).astype({"reason_id": "str"})
    groups = pd.DataFrame(
        {
            "label": grp.labels,
            "mean_abs_contribution": np.abs(_grouped_matrix(grp, cond)).mean(axis=0),
            "n_features": n_features,
        },
        index=pd.Index(grp.ids, name="reason_id"),
    ).astype({"label": "str"})
    return GlobalImportance(
        features.sort_values("mean_abs_contribution", ascending=False, kind="stable"),
        groups.sort_values("mean_abs_contribution", ascending=False, kind="stable"),
    )
