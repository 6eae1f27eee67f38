"""Grouped, worded churn reasons from SHAP contributions.

``configs/reasons.yaml`` lists reason groups in order. Each group claims the
features whose names match one of its ``patterns`` (case-insensitive
``fnmatch`` globs); the first group that matches a feature wins. Contributions
are summed per group, and each customer's largest *positive* groups become
that customer's reasons, worded with the customer's own values through the
group's ``template`` list (tried in order; the group label is the last resort).
A feature that no group claims becomes a reason of its own, worded from its
name and value, e.g. ``static__Contract = "Month-to-month"`` gives
``"Contract: Month-to-month"``.

Template fields
---------------
``{feature_name:spec}``
    The customer's value of that feature, formatted with ``spec``.
``{abs(feature_name):spec}``
    Its absolute value (for wording like "fell by 12" under ``when: x < 0``).
``{feature_name|singular|plural}``
    ``singular`` if the value is 1, else ``plural``.
``{feature}``, ``{value}``, ``{label}``
    The group's largest contributor for this customer (humanised name and
    value) and the group label.

A template with ``top_feature`` globs is used only for customers whose largest
contributor in the group matches one of them.

A template is skipped for a customer when a field is missing or NaN, or when
one of its ``when`` conditions (``operand op operand`` with ``op`` among
``< <= > >= == !=``; operands are feature names, ``abs(name)``, numbers or
quoted strings) is false.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import math
import re
import string
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

__all__ = [
    "EXPECTED_COLUMN",
    "GlobalImportance",
    "ReasonConfig",
    "ReasonGroup",
    "ReasonTemplate",
    "explanations_long",
    "global_importance",
    "group_contributions",
    "humanize_feature",
    "load_reasons",
    "top_reasons",
]

EXPECTED_COLUMN = "(expected)"
_SPECIAL_FIELDS = frozenset({"feature", "value", "label"})
_ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_COND_RE = re.compile(r"^\s*(?P<left>.+?)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<right>.+?)\s*$")
_OPS = {
    "<": np.less, "<=": np.less_equal, ">": np.greater,
    ">=": np.greater_equal, "==": np.equal, "!=": np.not_equal,
}


# ----------------------------------------------------------------------------- config plumbing
class StrictModel(BaseModel):
    """Frozen pydantic model that rejects unknown keys, naming the allowed ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    _scalar_key: ClassVar[str | None] = None

    @model_validator(mode="before")
    @classmethod
    def _check_keys(cls, data: Any) -> Any:
        if cls._scalar_key is not None and isinstance(data, str):
            return {cls._scalar_key: data}
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


# ----------------------------------------------------------------------------- template parsing
class _Field(NamedTuple):
    kind: str  # "feature" | "abs" | "plural" | "special"
    name: str
    spec: str
    singular: str = ""
    plural: str = ""


class _Operand(NamedTuple):
    kind: str  # "feature" | "abs" | "number" | "string"
    value: Any


def _parse_ref(text: str) -> _Operand:
    text = text.strip()
    match = re.fullmatch(r"abs\((.+)\)", text)
    if match:
        return _Operand("abs", match.group(1).strip())
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return _Operand("string", text[1:-1])
    try:
        return _Operand("number", float(text))
    except ValueError:
        pass
    if not text or any(ch in text for ch in " {}()"):
        raise ValueError(f"{text!r} is not a feature name, abs(feature), number or quoted string")
    return _Operand("feature", text)


@functools.lru_cache(maxsize=1024)
def _parse_template(text: str) -> tuple[tuple[str, _Field | None], ...]:
    parts: list[tuple[str, _Field | None]] = []
    for literal, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            parts.append((literal, None))
            continue
        if conversion is not None:
            raise ValueError(f"conversions such as '!{conversion}' are not supported in {{{name}}}")
        if not name.strip():
            raise ValueError("empty field {} (name a feature, e.g. {contacts__count__90d})")
        if spec and "{" in spec:
            raise ValueError(f"nested fields are not supported in {{{name}:{spec}}}")
        if "|" in name:
            pieces = name.split("|")
            if len(pieces) != 3:
                raise ValueError(f"{{{name}}}: plural fields read {{feature|singular|plural}}")
            field = _Field("plural", pieces[0].strip(), spec, pieces[1], pieces[2])
        elif name in _SPECIAL_FIELDS:
            field = _Field("special", name, spec)
        else:
            ref = _parse_ref(name)
            if ref.kind not in ("feature", "abs"):
                raise ValueError(f"{{{name}}} must name a feature")
            field = _Field(ref.kind, ref.value, spec)
        parts.append((literal, field))
    return tuple(parts)


@functools.lru_cache(maxsize=1024)
def _parse_condition(text: str) -> tuple[_Operand, str, _Operand]:
    match = _COND_RE.match(text)
    if not match:
        raise ValueError(f"{text!r} must read 'operand op operand', e.g. 'x__count__90d > 0'")
    try:
        left, right = _parse_ref(match["left"]), _parse_ref(match["right"])
    except ValueError as exc:
        raise ValueError(
            f"{text!r} must read 'operand op operand', e.g. 'x__count__90d > 0': {exc}"
        ) from None
    if "string" in (left.kind, right.kind) and match["op"] not in ("==", "!="):
        raise ValueError(f"{text!r}: strings can only be compared with == or !=")
    return left, match["op"], right


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
        return (value,) if isinstance(value, str) else value

    @field_validator("text")
    @classmethod
    def _text_parses(cls, value: str) -> str:
        _parse_template(value)
        return value

    @field_validator("when")
    @classmethod
    def _when_parses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cond in value:
            _parse_condition(cond)
        return value


class ReasonGroup(StrictModel):
    """A reason: the features it claims and how to word it."""

    id: str
    label: str
    patterns: tuple[str, ...]
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
        """Whether ``feature`` matches one of the group's patterns (case-insensitive)."""
        return _glob_regex(self.patterns).match(feature) is not None


@functools.lru_cache(maxsize=256)
def _glob_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(p) for p in patterns), re.IGNORECASE)


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

    def assign(self, features: Sequence[str]) -> dict[str, str | None]:
        """Map each feature to the id of the first group that claims it (or ``None``)."""
        return {f: next((g.id for g in self.reasons if g.matches(f)), None) for f in features}


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


# ----------------------------------------------------------------------------- humanising
_AGG_WORDS = {
    "sum": "Total", "mean": "Average", "min": "Lowest", "max": "Highest",
    "last": "Latest", "first": "First", "change": "Change in",
}


def _words(name: str) -> str:
    if name.lower().endswith("_days") and len(name) > 5:
        return f"{_words(name[:-5])} (days)"
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ")
    words = [w if (w.isupper() and len(w) > 1) else w.lower() for w in name.split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _one(table: str) -> str:
    return table[:-1] if table.endswith("s") and not table.endswith("ss") else table


def humanize_feature(name: str) -> str:
    """Turn a structured feature name into words.

    Examples
    --------
    >>> humanize_feature("static__Contract")
    'Contract'
    >>> humanize_feature("contacts__topic=billing__count__90d")
    'Contacts with topic billing (last 90 days)'
    >>> humanize_feature("usage__logins__sum__30d")
    'Total logins (usage, last 30 days)'
    """
    parts = name.split("__")
    if len(parts) < 2:
        return _words(name)
    table, rest = parts[0], parts[1:]
    if table == "static":
        return _words("__".join(rest))
    window = None
    if re.fullmatch(r"\d+d", rest[-1]):
        window, rest = rest[-1][:-1], rest[:-1]
    within = f"last {window} days" if window else "all time"
    t = table.replace("_", " ")
    if rest == ["count"]:
        return f"{_words(t)} ({within})"
    if rest == ["count", "trend"]:
        return f"Change in {t} vs the previous {window} days"
    if rest in (["days_since_last"], ["days_since_first"]):
        return f"Days since the {rest[0].rsplit('_', 1)[1]} {_one(t)}"
    if len(rest) == 2 and "=" in rest[0] and rest[1] == "count":
        col, value = rest[0].split("=", 1)
        return f"{_words(t)} with {col.replace('_', ' ')} {value} ({within})"
    if len(rest) == 2:
        col, agg = rest[0].replace("_", " "), rest[1]
        if agg == "count":
            return f"{_words(col)} {t} ({within})"
        if agg == "share":
            return f"Share of {col} {t} ({within})"
        if agg == "days_since_last":
            return f"Days since the last {col} {_one(t)}"
        if agg in _AGG_WORDS:
            return f"{_AGG_WORDS[agg]} {col} ({t}, {within})"
    return _words(name.replace("__", " "))


def _fmt(value: Any, spec: str, feature: str = "") -> str | None:
    """Format one value; ``None`` if it is missing or does not fit ``spec``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if spec:
        try:
            return format(value, spec)
        except (ValueError, TypeError):
            return None
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | float | np.number):
        if "__share__" in feature:
            return f"{float(value):.0%}"
        if float(value).is_integer():
            return f"{float(value):,.0f}"
        return f"{float(value):,.2f}".rstrip("0").rstrip(".")
    return str(value)


# ----------------------------------------------------------------------------- grouping
class _Grouping(NamedTuple):
    ids: list[str]
    labels: list[str]
    groups: list[ReasonGroup | None]  # None: an unclaimed feature, its own reason
    members: list[np.ndarray]  # feature positions per group
    features: list[str]
    values: np.ndarray  # n x m contributions (features only)


def _grouping(contrib: pd.DataFrame, cfg: ReasonConfig) -> _Grouping:
    if not isinstance(contrib, pd.DataFrame):
        raise SchemaError(f"contrib must be a DataFrame of SHAP values, got {type(contrib)}.")
    features = [str(c) for c in contrib.columns if c != EXPECTED_COLUMN]
    values = contrib[features].to_numpy(dtype=float)
    if np.isnan(values).any():
        bad = contrib.index[np.isnan(values).any(axis=1)][:5].tolist()
        raise SchemaError(f"contrib has NaN contributions at rows {bad}; recompute SHAP values.")
    assigned = cfg.assign(features)
    ids, labels, groups, members = [], [], [], []
    for group in cfg.reasons:
        pos = [i for i, f in enumerate(features) if assigned[f] == group.id]
        if pos:
            ids.append(group.id)
            labels.append(group.label)
            groups.append(group)
            members.append(np.asarray(pos))
    for i, feature in enumerate(features):
        if assigned[feature] is None:
            ids.append(feature)
            labels.append(humanize_feature(feature))
            groups.append(None)
            members.append(np.asarray([i]))
    return _Grouping(ids, labels, groups, members, features, values)


def _grouped_matrix(grp: _Grouping) -> np.ndarray:
    if not grp.members:
        return np.zeros((len(grp.values), 0))
    order = np.concatenate(grp.members)
    starts = np.cumsum([0] + [len(m) for m in grp.members[:-1]])
    return np.add.reduceat(grp.values[:, order], starts, axis=1)


def group_contributions(
    contrib: pd.DataFrame, reasons: ReasonConfig | str | Path | None = None
) -> pd.DataFrame:
    """Sum SHAP contributions per reason group.

    Parameters
    ----------
    contrib : DataFrame
        SHAP values, one column per feature (``"(expected)"`` is ignored).
    reasons : ReasonConfig, path or None
        Reason groups; ``None`` uses the built-in ``configs/reasons.yaml``.

    Returns
    -------
    DataFrame
        Same index as ``contrib``; one column per group that claims at least
        one feature (configuration order), then one per unclaimed feature.
    """
    grp = _grouping(contrib, _as_config(reasons))
    return pd.DataFrame(_grouped_matrix(grp), index=contrib.index, columns=grp.ids)


def _top_k(grouped: np.ndarray, k: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    n, g = grouped.shape
    top = np.zeros((n, k), dtype=np.intp)
    valid = np.zeros((n, k), dtype=bool)
    keff = min(k, g)
    if keff == 0:
        return top, valid
    step = max(1, 4_000_000 // g)
    for start in range(0, n, step):
        block = grouped[start:start + step]
        if keff < g:
            cand = np.argpartition(-block, keff - 1, axis=1)[:, :keff]
        else:
            cand = np.tile(np.arange(g), (len(block), 1))
        vals = np.take_along_axis(block, cand, axis=1)
        order = np.lexsort((cand, -vals), axis=1)
        top[start:start + step, :keff] = np.take_along_axis(cand, order, axis=1)
        valid[start:start + step, :keff] = np.take_along_axis(vals, order, axis=1) > threshold
    return top, valid


class _Columns:
    """Feature values of selected rows, resolving names case-insensitively."""

    def __init__(self, X: pd.DataFrame) -> None:
        self.X = X
        self.lower = {str(c).lower(): c for c in X.columns}

    def get(self, name: str, rows: np.ndarray) -> np.ndarray | None:
        col = name if name in self.X.columns else self.lower.get(name.lower())
        if col is None:
            return None
        series = self.X[col]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            return series.to_numpy(dtype=float, na_value=np.nan)[rows]
        return series.to_numpy(dtype=object, na_value=None)[rows]


def _operand(op: _Operand, cols: _Columns, rows: np.ndarray) -> np.ndarray | None:
    if op.kind in ("number", "string"):
        return np.full(len(rows), op.value, dtype=float if op.kind == "number" else object)
    vals = cols.get(op.value, rows)
    if vals is not None and op.kind == "abs":
        return np.abs(vals) if vals.dtype == float else None
    return vals


def _condition(text: str, cols: _Columns, rows: np.ndarray) -> np.ndarray | None:
    left, op, right = _parse_condition(text)
    a, b = _operand(left, cols, rows), _operand(right, cols, rows)
    if a is None or b is None:
        return None
    ok = ~(pd.isna(a) | pd.isna(b))
    if a.dtype != b.dtype and op not in ("==", "!="):
        return None
    with np.errstate(invalid="ignore"):
        result = _OPS[op](a, b) if a.dtype == b.dtype else _OPS[op](a.astype(object), b)
    return ok & np.asarray(result, dtype=bool)


def _render(
    template: ReasonTemplate, cols: _Columns, rows: np.ndarray, special: Mapping[str, np.ndarray]
) -> np.ndarray | None:
    """Word ``template`` for ``rows``; cells that cannot be worded are ``None``."""
    ok = np.ones(len(rows), dtype=bool)
    if template.top_feature:
        regex = _glob_regex(template.top_feature)
        for name in np.unique(special["top"]):
            if regex.match(name) is None:
                ok[special["top"] == name] = False
    for cond in template.when:
        held = _condition(cond, cols, rows)
        if held is None:
            return None
        ok &= held
    pieces: list[list[str | None] | str] = []
    for literal, field in _parse_template(template.text):
        pieces.append(literal)
        if field is None:
            continue
        if field.kind == "special":
            vals = special[field.name]
            if field.name == "value" and field.spec:
                vals = special["raw"]
        else:
            vals = cols.get(field.name, rows)
            if vals is None or (field.kind == "abs" and vals.dtype != float):
                return None
            if field.kind == "abs":
                vals = np.abs(vals)
        if field.kind == "plural":
            texts = [None if v is None or v != v else (field.singular if v == 1 else field.plural)
                     for v in vals]
        elif field.kind == "special" and not (field.name == "value" and field.spec):
            texts = list(vals)
        else:
            texts = [_fmt(v, field.spec, field.name) for v in vals]
        ok &= np.array([t is not None for t in texts], dtype=bool)
        pieces.append(texts)
    out = np.full(len(rows), None, dtype=object)
    for i in np.flatnonzero(ok):
        out[i] = "".join(p if isinstance(p, str) else p[i] for p in pieces)  # type: ignore[misc]
    return out


def _word_group(
    grp: _Grouping, g: int, rows: np.ndarray, cols: _Columns, fallback: ReasonTemplate
) -> np.ndarray:
    members = grp.members[g]
    best = members[np.argmax(grp.values[np.ix_(rows, members)], axis=1)]
    raw = np.full(len(rows), None, dtype=object)
    shown = np.full(len(rows), None, dtype=object)
    for pos in np.unique(best):
        sel = best == pos
        vals = cols.get(grp.features[pos], rows[sel])
        if vals is not None:
            raw[sel] = vals
            shown[sel] = [_fmt(v, "", grp.features[pos]) for v in vals]
    names = np.asarray(grp.features, dtype=object)
    words = np.empty(len(names), dtype=object)
    words[np.unique(best)] = [humanize_feature(names[p]) for p in np.unique(best)]
    special = {
        "feature": words[best], "top": names[best], "value": shown, "raw": raw,
        "label": np.full(len(rows), grp.labels[g], dtype=object),
    }
    group = grp.groups[g]
    templates = group.template if group is not None else (fallback,)
    out = np.full(len(rows), None, dtype=object)
    for template in templates:
        todo = np.flatnonzero(pd.isna(out))
        if not len(todo):
            break
        worded = _render(template, cols, rows[todo], {k: v[todo] for k, v in special.items()})
        if worded is not None:
            out[todo] = worded
    out[pd.isna(out)] = grp.labels[g]
    return out


def _check_aligned(contrib: pd.DataFrame, X: pd.DataFrame) -> None:
    if not contrib.index.equals(X.index):
        raise SchemaError(
            f"contrib and X must have the same index in the same order ({len(contrib)} vs "
            f"{len(X)} rows; first labels {contrib.index[:3].tolist()} vs {X.index[:3].tolist()}). "
            "Pass the SHAP values computed from this X."
        )


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
        The feature values the contributions were computed from.
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
    _check_aligned(contrib, X)
    grp = _grouping(contrib, _as_config(reasons))
    top, valid = _top_k(_grouped_matrix(grp), k, min_contribution)
    texts = np.full(top.shape, None, dtype=object)
    ids = np.full(top.shape, None, dtype=object)
    rows, slots = np.nonzero(valid)
    chosen = top[rows, slots]
    ids[rows, slots] = np.asarray(grp.ids, dtype=object)[chosen]
    cols, fallback = _Columns(X), ReasonTemplate(text="{feature}: {value}")
    for g in np.unique(chosen):
        sel = chosen == g
        texts[rows[sel], slots[sel]] = _word_group(grp, int(g), rows[sel], cols, fallback)
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
    contrib: pd.DataFrame, reasons: ReasonConfig | str | Path | None = None
) -> GlobalImportance:
    """Rank features and reason groups by mean absolute contribution.

    A group's importance is the mean of ``|sum of its features' SHAP values|``
    per customer, so features pushing in opposite directions partly cancel.
    Both tables are sorted by importance, largest first.
    """
    grp = _grouping(contrib, _as_config(reasons))
    owner = np.empty(len(grp.features), dtype=object)
    for gid, members in zip(grp.ids, grp.members, strict=True):
        owner[members] = gid
    features = pd.DataFrame(
        {"reason_id": owner, "mean_abs_contribution": np.abs(grp.values).mean(axis=0)},
        index=pd.Index(grp.features, name="feature"),
    ).astype({"reason_id": "str"})
    groups = pd.DataFrame(
        {
            "label": grp.labels,
            "mean_abs_contribution": np.abs(_grouped_matrix(grp)).mean(axis=0),
            "n_features": [len(m) for m in grp.members],
        },
        index=pd.Index(grp.ids, name="reason_id"),
    ).astype({"label": "str"})
    return GlobalImportance(
        features.sort_values("mean_abs_contribution", ascending=False, kind="stable"),
        groups.sort_values("mean_abs_contribution", ascending=False, kind="stable"),
    )


def explanations_long(
    contrib: pd.DataFrame,
    X: pd.DataFrame,
    ids: Sequence[Any] | pd.Series | np.ndarray | None = None,
    *,
    top_n: int | None = None,
) -> pd.DataFrame:
    """Explanations in long format: one row per customer and feature.

    Parameters
    ----------
    contrib, X : DataFrame
        SHAP values and feature values, same index.
    ids : array-like, optional
        Customer ids in row order (default: the index).
    top_n : int, optional
        Keep only each customer's ``top_n`` features by absolute contribution.

    Returns
    -------
    DataFrame
        ``customer_id, feature, value, contribution`` ordered by customer (row
        order) then absolute contribution, largest first. ``value`` is text
        (numbers written with up to 10 significant digits, categories as is)
        so one column holds numeric and categorical features alike.
    """
    _check_aligned(contrib, X)
    features = [str(c) for c in contrib.columns if c != EXPECTED_COLUMN]
    values = contrib[features].to_numpy(dtype=float)
    ids_arr = np.asarray(contrib.index if ids is None else ids, dtype=object)
    if len(ids_arr) != len(values):
        raise SchemaError(f"ids has {len(ids_arr)} entries but contrib has {len(values)} rows.")
    n, m = values.shape
    keep = m if top_n is None else max(0, min(int(top_n), m))
    order = np.zeros((n, keep), dtype=np.intp)
    step = max(1, 4_000_000 // max(m, 1))
    for start in range(0, n, step):
        size = -np.abs(values[start:start + step])
        cand = np.argpartition(size, keep - 1, axis=1)[:, :keep] if 0 < keep < m else (
            np.tile(np.arange(m), (len(size), 1))[:, :keep]
        )
        ranked = np.lexsort((cand, np.take_along_axis(size, cand, axis=1)), axis=1)
        order[start:start + step] = np.take_along_axis(cand, ranked, axis=1)
    rows = np.repeat(np.arange(n), keep)
    feat = order.ravel()
    text = np.full(len(rows), None, dtype=object)
    cols = _Columns(X)
    for pos in np.unique(feat):
        sel = feat == pos
        vals = cols.get(features[pos], rows[sel])
        if vals is not None:
            text[sel] = [_fmt(v, ".10g" if isinstance(v, float) else "") for v in vals]
    return pd.DataFrame(
        {
            "customer_id": ids_arr[rows],
            "feature": pd.array(np.asarray(features, dtype=object)[feat], dtype="str"),
            "value": pd.array(text, dtype="str"),
            "contribution": values[rows, feat],
        }
    )
