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

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from churnkit._resources import builtin_config
from churnkit.exceptions import ConfigError, SchemaError
from churnkit.explain._wording import (
    Columns,
    RowConditions,
    glob_regex,
    humanize_feature,
    parse_condition,
    parse_template,
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

EXPECTED_COLUMN = "(expected)"
_ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_IF_RE = re.compile(r"\s+if\s+")
_AND_RE = re.compile(r"\s+and\s+")


# ----------------------------------------------------------------------------- config plumbing
class StrictModel(BaseModel):
    """Frozen pydantic model that rejects unknown keys, naming the allowed ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    _scalar_key: ClassVar[str | None] = None

    @classmethod
    def _coerce(cls, data: Any) -> Any:
        """Turn a scalar into a mapping (``{_scalar_key: data}``) before validation."""
        if cls._scalar_key is not None and isinstance(data, str):
            return {cls._scalar_key: data}
        return data

    @model_validator(mode="before")
    @classmethod
    def _check_keys(cls, data: Any) -> Any:
        data = cls._coerce(data)
        if isinstance(data, Mapping):
            allowed = list(cls.model_fields)
            unknown = [key for key in data if key not in allowed]
            if unknown:
                key = str(unknown[0])
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"unknown key {key!r} (allowed: {', '.join(allowed)}){hint}")
        return data


def format_validation_error(exc: ValidationError, where: str) -> str:
    """Rewrite a pydantic error as ``where: a -> 0 -> b: message`` lines."""
    lines = []
    for err in exc.errors(include_url=False):
        msg = str(err["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(prefix)
        msg = msg[:1].lower() + msg[1:]
        loc = " -> ".join(str(part) for part in err["loc"])
        lines.append(f"{where}: {loc}: {msg}" if loc else f"{where}: {msg}")
    return "\n".join(lines)


def load_yaml_model(path: str | Path | None, model: type[BaseModel], default: str) -> Any:
    """Load ``path`` (or the built-in ``configs/<default>``) into ``model``.

    Raises
    ------
    ConfigError
        If the file cannot be read, is not YAML, or does not validate; the
        message names the file and the key path.
    """
    if path is None:
        file, where = builtin_config(default), f"configs/{default}"
    else:
        file, where = Path(path), str(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be read ({exc.strerror}). Check the path.") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{where}: expected a mapping of keys at the top level, got {type(data).__name__}. "
            f"Start from the built-in configs/{default}."
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where)) from None


def _as_tuple(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


# ----------------------------------------------------------------------------- config models
class ReasonTemplate(StrictModel):
    """One wording of a reason, used when its fields exist and ``when`` holds."""

    _scalar_key: ClassVar[str | None] = "text"
    text: str
    when: tuple[str, ...] = ()
    top_feature: tuple[str, ...] = ()
    """Globs: use the template only if the group's strongest feature matches one."""

    @field_validator("when", "top_feature", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        return _as_tuple(value)

    @field_validator("text")
    @classmethod
    def _text_parses(cls, value: str) -> str:
        parse_template(value)
        return value

    @field_validator("when")
    @classmethod
    def _when_parses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cond in value:
            parse_condition(cond)
        return value


class ReasonPattern(StrictModel):
    """Globs on feature names, optionally conditional on the customer's values.

    Written as a string, ``"glob"`` or ``"glob if cond and cond"``, or as a
    mapping ``{pattern: glob or [globs], when: cond or [conds]}``. A condition
    is ``op value`` about the matched feature itself (``"> 0"``) or ``operand
    op operand`` naming other features (``"static__tenure_days < 180"``); all
    must hold.
    """

    pattern: tuple[str, ...]
    when: tuple[str, ...] = ()

    @classmethod
    def _coerce(cls, data: Any) -> Any:
        if isinstance(data, str):
            glob, *conds = _IF_RE.split(data.strip(), maxsplit=1)
            return {"pattern": glob, "when": _AND_RE.split(conds[0]) if conds else ()}
        if not isinstance(data, Mapping):
            raise ValueError(
                "input should be a valid string (a glob such as 'usage__*' or "
                f"'x__change* if > 0') or a mapping {{pattern: ..., when: ...}}, got {data!r}"
            )
        return data

    @field_validator("pattern", "when", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        return _as_tuple(value)

    @field_validator("pattern")
    @classmethod
    def _globs_ok(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("needs at least one glob, e.g. 'usage__*'")
        for glob in value:
            if not glob.strip() or re.search(r"\sif(\s|$)", glob.strip()):
                raise ValueError(
                    f"{glob!r} is not a glob; write e.g. 'usage__*' or 'usage__* if > 0' "
                    "(in the mapping form, conditions go in 'when')"
                )
        return tuple(glob.strip() for glob in value)

    @field_validator("when")
    @classmethod
    def _when_parses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cond in value:
            parse_condition(cond, allow_self=True)
        return value

    def matches(self, feature: str) -> bool:
        """Whether ``feature``'s name matches one of the globs (conditions aside)."""
        return glob_regex(self.pattern).match(feature) is not None


class ReasonGroup(StrictModel):
    """A reason: the features it claims and how to word it."""

    id: str
    label: str
    patterns: tuple[ReasonPattern, ...]
    template: tuple[ReasonTemplate, ...]

    @field_validator("id")
    @classmethod
    def _id_ok(cls, value: str) -> str:
        if not _ID_RE.match(value) or value == "default":
            raise ValueError(
                f"{value!r} is not a valid reason id: use letters, digits, '_', '.', '-' "
                "(and not the reserved 'default')"
            )
        return value

    @field_validator("patterns", mode="before")
    @classmethod
    def _patterns_list(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple) or not value:
            raise ValueError(
                "must be a non-empty list of glob patterns, e.g. ['contacts__unresolved__*']"
            )
        return value

    @field_validator("template", mode="before")
    @classmethod
    def _template_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | Mapping) else value

    def matches(self, feature: str) -> bool:
        """Whether ``feature`` matches one of the group's globs (conditions aside)."""
        return any(p.matches(feature) for p in self.patterns)


Chain = tuple[tuple[str | None, tuple[str, ...]], ...]


class ReasonConfig(StrictModel):
    """Ordered reason groups, as read from ``configs/reasons.yaml``."""

    reasons: tuple[ReasonGroup, ...]

    @field_validator("reasons")
    @classmethod
    def _unique_ids(cls, value: tuple[ReasonGroup, ...]) -> tuple[ReasonGroup, ...]:
        seen: set[str] = set()
        for group in value:
            if group.id in seen:
                raise ValueError(f"reason id {group.id!r} is defined twice")
            seen.add(group.id)
        return value

    @property
    def ids(self) -> list[str]:
        """Reason ids in configuration order."""
        return [group.id for group in self.reasons]

    def chain(self, feature: str) -> Chain:
        """The ``(reason id, conditions)`` a feature may belong to, in the order they are tried.

        The last entry has no conditions; its id is ``None`` when no group
        claims the feature unconditionally (it is then a reason of its own).
        """
        out: list[tuple[str | None, tuple[str, ...]]] = []
        for group in self.reasons:
            for pat in group.patterns:
                if pat.matches(feature):
                    out.append((group.id, pat.when))
                    if not pat.when:
                        return tuple(out)
        return (*out, (None, ()))

    def assign(self, features: Sequence[str]) -> dict[str, str | None]:
        """Map each feature to the first group that claims it unconditionally (or ``None``).

        This is the grouping when feature values are unknown; use
        :func:`churnkit.explain.feature_reasons` for the grouping of each customer.
        """
        return {f: self.chain(f)[-1][0] for f in features}


def load_reasons(path: str | Path | None = None) -> ReasonConfig:
    """Load reason groups from a YAML file (default: the built-in ``configs/reasons.yaml``).

    Parameters
    ----------
    path : str or Path, optional
        A reasons file; ``None`` loads the one shipped with churnkit.

    Returns
    -------
    ReasonConfig

    Raises
    ------
    ConfigError
        With the file and key path, e.g.
        ``configs/reasons.yaml: reasons -> 2 -> label: field required``.

    Examples
    --------
    >>> cfg = load_reasons()
    >>> cfg.ids[0]
    'unresolved_complaints'
    """
    return load_yaml_model(path, ReasonConfig, "reasons.yaml")


def _as_config(reasons: ReasonConfig | str | Path | None) -> ReasonConfig:
    return reasons if isinstance(reasons, ReasonConfig) else load_reasons(reasons)


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
    if np.isnan(values).any():
        bad = contrib.index[np.isnan(values).any(axis=1)][:5].tolist()
        raise SchemaError(f"contrib has NaN contributions at rows {bad}; recompute SHAP values.")
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


def _grouped_matrix(grp: _Grouping, cond: RowConditions) -> np.ndarray:
    n = len(grp.values)
    out = np.zeros((n, len(grp.ids)))
    pos = np.flatnonzero(grp.fixed >= 0)
    if len(pos):
        order = pos[np.argsort(grp.fixed[pos], kind="stable")]
        col = grp.fixed[order]
        starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
        out[:, col[starts]] = np.add.reduceat(grp.values[:, order], starts, axis=1)
    for j in grp.chains:
        column = np.ascontiguousarray(grp.values[:, j])
        for c, held in _winners(grp, j, cond):
            out[:, c] += np.where(held, column, 0.0)
    return out


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
) -> pd.DataFrame:
    """Sum SHAP contributions per reason group.

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
    grp = _from_contrib(contrib, _as_config(reasons))
    cond = RowConditions(X, slice(None), len(contrib))
    return pd.DataFrame(_grouped_matrix(grp, cond), index=contrib.index, columns=grp.ids)


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


def _word_group(
    grp: _Grouping, g: int, rows: np.ndarray, X: pd.DataFrame, cols: Columns,
    fallback: ReasonTemplate,
) -> np.ndarray:
    members = grp.members[g]
    vals = grp.values[np.ix_(rows, members)]
    cond = RowConditions(X, rows, len(rows))
    for k, j in enumerate(members):
        if j in grp.chains:
            mine = np.zeros(len(rows), dtype=bool)
            for col, held in _winners(grp, int(j), cond):
                mine |= held & (col == g)
            vals[~mine, k] = -np.inf
    best = members[np.argmax(vals, axis=1)]
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

    Returns
    -------
    DataFrame
        Index of ``X``; columns ``reason_1..k`` (sentences) then
        ``reason_1_id..k`` (group ids, or the feature name for a feature no
        group claims). Missing when a customer has fewer positive groups.
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"The 'k' parameter of top_reasons must be an int >= 1. Got {k!r}.")
    check_aligned(contrib, X)
    grp = _from_contrib(contrib, _as_config(reasons))
    top, valid = _top_k(_grouped_matrix(grp, RowConditions(X, slice(None), len(X))), k,
                        min_contribution)
    texts = np.full(top.shape, None, dtype=object)
    ids = np.full(top.shape, None, dtype=object)
    rows, slots = np.nonzero(valid)
    chosen = top[rows, slots]
    ids[rows, slots] = np.asarray(grp.ids, dtype=object)[chosen]
    cols, fallback = Columns(X), ReasonTemplate(text="{feature}: {value}")
    for g in np.unique(chosen):
        sel = chosen == g
        texts[rows[sel], slots[sel]] = _word_group(grp, int(g), rows[sel], X, cols, fallback)
    data = {f"reason_{i + 1}": texts[:, i] for i in range(k)}
    data |= {f"reason_{i + 1}_id": ids[:, i] for i in range(k)}
    return pd.DataFrame(data, index=X.index).astype("str")


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
    grp = _from_contrib(contrib, _as_config(reasons))
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
