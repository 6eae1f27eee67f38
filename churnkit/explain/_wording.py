"""Words for reasons: feature names in plain language, values formatted, templates filled.

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
    value, see :func:`format_value`; a missing value reads "never" for days
    since an event, "none in that period" for a windowed statistic) and the
    group label.

Conditions
----------
``operand op operand`` with ``op`` among ``< <= > >= == !=``; operands are
feature names, ``abs(name)``, numbers or quoted strings. A missing value never
satisfies a condition. Reason patterns may also use the short form ``op
operand`` (e.g. ``> 0``), whose left operand is the matched feature itself.

Values without a format spec are written as :mod:`churnkit.explain._values`
writes them.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from churnkit._core import Coded, combine_coded, distinct_words
from churnkit.explain._values import format_value, missing_text, whole_if_shown_whole

__all__ = ["humanize_feature"]

SPECIAL_FIELDS = frozenset({"feature", "value", "label"})
_COND_RE = re.compile(r"^\s*(?P<left>.+?)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<right>.+?)\s*$")
_SELF_RE = re.compile(r"^\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<right>.+?)\s*$")
_OPS = {
    "<": np.less, "<=": np.less_equal, ">": np.greater,
    ">=": np.greater_equal, "==": np.equal, "!=": np.not_equal,
}
_COND_HELP = "must read 'operand op operand', e.g. 'x__count__90d > 0'"


# ----------------------------------------------------------------------------- parsing
class Field(NamedTuple):
    """One ``{...}`` field of a template."""

    kind: str  # "feature" | "abs" | "plural" | "special"
    name: str
    spec: str
    singular: str = ""
    plural: str = ""


class Operand(NamedTuple):
    """One side of a condition."""

    kind: str  # "feature" | "abs" | "number" | "string" | "self"
    value: Any


def _parse_ref(text: str) -> Operand:
    text = text.strip()
    match = re.fullmatch(r"abs\((.+)\)", text)
    if match:
        return Operand("abs", match.group(1).strip())
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return Operand("string", text[1:-1])
    try:
        return Operand("number", float(text))
    except ValueError:
        pass
    if not text or any(ch in text for ch in " {}()"):
        raise ValueError(f"{text!r} is not a feature name, abs(feature), number or quoted string")
    return Operand("feature", text)


@functools.lru_cache(maxsize=1024)
def parse_template(text: str) -> tuple[tuple[str, Field | None], ...]:
    """Split a template into literal text and fields; ``ValueError`` if malformed."""
    parts: list[tuple[str, Field | None]] = []
    for literal, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            parts.append((literal, None))
            continue
        spec = spec or ""  # always a string once a field is named
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
            field = Field("plural", pieces[0].strip(), spec, pieces[1], pieces[2])
        elif name in SPECIAL_FIELDS:
            field = Field("special", name, spec)
        else:
            ref = _parse_ref(name)
            if ref.kind not in ("feature", "abs"):
                raise ValueError(f"{{{name}}} must name a feature")
            field = Field(ref.kind, ref.value, spec)
        parts.append((literal, field))
    return tuple(parts)


@functools.lru_cache(maxsize=1024)
def parse_condition(text: str, allow_self: bool = False) -> tuple[Operand, str, Operand]:
    """Parse ``operand op operand`` (or ``op operand`` if ``allow_self``); ``ValueError`` if bad."""
    help_ = _COND_HELP + (" or 'op value' about the feature itself, e.g. '> 0'" if allow_self
                          else "")
    match = (_SELF_RE.match(text) if allow_self else None) or _COND_RE.match(text)
    if match is None:
        raise ValueError(f"{text!r} {help_}")
    try:
        left = _parse_ref(match["left"]) if "left" in match.groupdict() else Operand("self", None)
        op, right = match["op"], _parse_ref(match["right"])
    except ValueError as exc:
        raise ValueError(f"{text!r} {help_}: {exc}") from None
    if "string" in (left.kind, right.kind) and op not in ("==", "!="):
        raise ValueError(f"{text!r}: strings can only be compared with == or !=")
    return left, op, right


# ----------------------------------------------------------------------------- evaluation
# a window total whose values may all be missing: then its mean sibling is missing too
_TOTAL = re.compile(r"^(?P<stem>.+)__(?:sum|trend|monthly)__(?P<window>\d+d)$")


class Columns:
    """Feature values of selected rows, resolving names case-insensitively.

    A window sum (its trend, its amount per month) over no recorded value reads as
    missing, not 0: the kernel adds up nothing to 0, so a customer whose logins
    were never recorded would read "0 logins". Its ``mean`` sibling (missing
    when no value was recorded in the window) tells the two apart.
    """

    def __init__(self, X: pd.DataFrame) -> None:
        self.X = X
        self.lower = {str(c).lower(): c for c in X.columns}

    def get(self, name: str, rows: np.ndarray | slice = slice(None)) -> np.ndarray | None:
        """Values of feature ``name`` at ``rows`` (float, or object for text); ``None`` if absent."""
        col = name if name in self.X.columns else self.lower.get(name.lower())
        if col is None:
            return None
        series = self.X[col]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            out: np.ndarray = series.to_numpy(dtype=float, na_value=np.nan)[rows]
            total = _TOTAL.match(str(col))
            mean = None if total is None else self.get(
                f"{total['stem']}__mean__{total['window']}", rows)
            if mean is not None and mean.dtype == float:
                out = np.where(np.isnan(mean), np.nan, out)
            return out
        values = series.to_numpy(dtype=object, copy=True)[rows]
        values[pd.isna(values)] = None
        return values


def _operand(op: Operand, cols: Columns, rows: np.ndarray | slice, n: int,
             own: str | None) -> np.ndarray | None:
    if op.kind in ("number", "string"):
        return np.full(n, op.value, dtype=float if op.kind == "number" else object)
    name = own if op.kind == "self" else op.value
    vals = None if name is None else cols.get(name, rows)
    if vals is not None and op.kind == "abs":
        return np.abs(vals) if vals.dtype == float else None
    return vals


def evaluate_condition(text: str, cols: Columns, rows: np.ndarray | slice, n: int,
                       own: str | None = None) -> np.ndarray | None:
    """Where ``text`` holds for ``rows`` (``n`` of them); ``None`` if an operand is unavailable.

    ``own`` names the feature a short-form condition (``> 0``) is about.
    Missing values never satisfy a condition.
    """
    left, op, right = parse_condition(text, own is not None)
    a, b = _operand(left, cols, rows, n, own), _operand(right, cols, rows, n, own)
    if a is None or b is None:
        return None
    ok = ~(pd.isna(a) | pd.isna(b))
    if a.dtype != b.dtype and op not in ("==", "!="):
        return None
    with np.errstate(invalid="ignore"):
        result = _OPS[op](a, b) if a.dtype == b.dtype else _OPS[op](a.astype(object), b)
    held: np.ndarray = ok & np.asarray(result, dtype=bool)
    return held


class RowConditions:
    """Conditions of reason patterns on some rows of ``X``, cached; none hold without ``X``.

    A condition whose operand is missing for a row, or names a feature ``X``
    lacks, does not hold for that row.
    """

    def __init__(self, X: pd.DataFrame | None, rows: np.ndarray | slice, n: int) -> None:
        self.cols = None if X is None else Columns(X)
        self.rows, self.n = rows, n
        self.cache: dict[tuple[str, str | None], np.ndarray] = {}

    def holds(self, conds: tuple[str, ...], feature: str) -> np.ndarray:
        """Where all ``conds`` hold; ``feature`` is the subject of short forms like ``> 0``."""
        ok = np.ones(self.n, dtype=bool)
        for cond in conds:
            own = parse_condition(cond, True)[0].kind == "self"
            key = (cond, feature.lower() if own else None)
            if key not in self.cache:
                held = None if self.cols is None else evaluate_condition(
                    cond, self.cols, self.rows, self.n, feature)
                self.cache[key] = np.zeros(self.n, dtype=bool) if held is None else held
            ok &= self.cache[key]
        return ok


def glob_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive regex matching any of the ``fnmatch`` globs."""
    return _glob_regex(tuple(patterns))


@functools.lru_cache(maxsize=256)
def _glob_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(p) for p in patterns) or r"(?!)", re.IGNORECASE)


def _constant(text: str, n: int) -> Coded:
    return Coded(np.zeros(n, dtype=np.int64), np.array([text], dtype=object))


def _joined(pieces: Sequence[str | Coded], n: int) -> Coded:
    """Each row's pieces joined, once per distinct combination; -1 where a piece is missing."""
    parts = [p for p in pieces if not isinstance(p, str)]
    if not parts:
        return _constant("".join(str(p) for p in pieces), n)

    def join(*words: str) -> str:
        it = iter(words)
        return "".join(p if isinstance(p, str) else next(it) for p in pieces)

    return combine_coded(parts, join, required=True)


def _field_words(field: Field, cols: Columns, rows: np.ndarray,
                 special: Mapping[str, Any]) -> Coded | None:
    """One field's words for ``rows``; ``None`` when the feature it names is absent."""
    if field.kind == "special" and not (field.name == "value" and field.spec):
        coded: Coded = special[field.name]
        return coded
    if field.kind == "special":
        vals = special["raw"]
    else:
        found = cols.get(field.name, rows)
        if found is None or (field.kind == "abs" and found.dtype != float):
            return None
        vals = np.abs(found) if field.kind == "abs" else found
    if field.kind == "plural":
        return Coded(*distinct_words(vals, lambda v, f=field: f.singular if v == 1 else f.plural))
    return Coded(*distinct_words(whole_if_shown_whole(vals, field.name, field.spec),
                                 lambda v, f=field: format_value(v, f.name, f.spec)))


def render(
    text: str,
    when: tuple[str, ...],
    top_feature: tuple[str, ...],
    cols: Columns,
    rows: np.ndarray,
    special: Mapping[str, Any],
) -> Coded | None:
    """Word one template for ``rows``; cells that cannot be worded have code -1.

    Returns ``None`` as a whole when a feature it names is absent from ``X``.
    ``special`` holds the :class:`Coded` ``feature``, ``top`` (feature names),
    ``value`` and ``label`` of each row, and its ``raw`` values.
    """
    ok = np.ones(len(rows), dtype=bool)
    if top_feature:
        regex = glob_regex(top_feature)
        top: Coded = special["top"]
        for code, name in enumerate(top.words):
            if regex.match(name) is None:
                ok[top.codes == code] = False
    for cond in when:
        held = evaluate_condition(cond, cols, rows, len(rows))
        if held is None:
            return None
        ok &= held
    pieces: list[str | Coded] = []
    for literal, field in parse_template(text):
        if literal:
            pieces.append(literal)
        if field is None:
            continue
        words = _field_words(field, cols, rows, special)
        if words is None:
            return None
        pieces.append(words)
    joined = _joined(pieces, len(rows))
    return Coded(np.where(ok, joined.codes, -1), joined.words)


def word_rows(
    templates: Sequence[Any],
    label: str,
    features: Sequence[str],
    best: np.ndarray,
    cols: Columns,
    rows: np.ndarray,
) -> Coded:
    """Word one reason for ``rows``: the first template that fits each row, else ``label``.

    ``templates`` have ``text``, ``when`` and ``top_feature``; ``best`` is the
    position in ``features`` of each row's strongest feature of the reason.
    """
    n = len(rows)
    positions, which = np.unique(best, return_inverse=True)
    raw = np.full(n, None, dtype=object)
    shown = np.full(n, -1, dtype=np.int64)
    shown_words: list[Any] = []
    for k, pos in enumerate(positions):
        sel = which == k
        got = cols.get(features[pos], rows[sel])
        if got is not None:
            raw[sel] = got
            absent = missing_text(features[pos])
            codes, words = distinct_words(whole_if_shown_whole(got, features[pos]),
                                          lambda v, f=features[pos], a=absent:
                                          format_value(v, f) or a)
            shown[sel] = np.where(codes < 0, len(words), codes) + len(shown_words)
            shown_words.extend([*words, absent])
    names = np.asarray(features, dtype=object)[positions]
    special: dict[str, Any] = {
        "feature": Coded(which, np.array([humanize_feature(f) for f in names], dtype=object)),
        "top": Coded(which, names), "value": Coded(shown, np.array(shown_words, dtype=object)),
        "raw": raw, "label": _constant(label, n),
    }
    out = np.full(n, -1, dtype=np.int64)
    out_words: list[Any] = []
    for template in templates:
        todo = np.flatnonzero(out < 0)
        if not len(todo):
            break
        worded = render(template.text, template.when, template.top_feature, cols, rows[todo],
                        {key: v[todo] if key == "raw" else v.take(todo)
                         for key, v in special.items()})
        if worded is not None:
            hit = worded.codes >= 0
            out[todo[hit]] = worded.codes[hit] + len(out_words)
            out_words.extend(worded.words)
    out[out < 0] = len(out_words)
    out_words.append(label)
    return Coded(out, np.array(out_words, dtype=object))


# ----------------------------------------------------------------------------- names
_AGG_WORDS = {
    "sum": "Total", "mean": "Average", "min": "Lowest", "max": "Highest",
    "last": "Latest", "first": "First", "change": "Change in",
}
_UNITS = {"min": "minutes", "mins": "minutes", "minutes": "minutes", "sec": "seconds",
          "secs": "seconds", "seconds": "seconds", "hours": "hours", "days": "days"}
_ACRONYMS = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
_VALUE_FIRST = {"direction", "kind", "type", "survey", "status", "segment"}


def _words(name: str) -> str:
    if name.lower().endswith("_days") and len(name) > 5:
        return f"{_words(name[:-5])} (days)"
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ")
    words = [w if (w.isupper() and len(w) > 1) else _ACRONYMS.get(w.lower(), w.lower())
             for w in name.split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _one(table: str) -> str:
    return table[:-1] if table.endswith("s") and not table.endswith("ss") else table


def _column(col: str, table: str) -> tuple[str, str]:
    """Words for a numeric column and its unit: ``duration_min`` -> ``("duration", "minutes")``."""
    head, _, tail = col.rpartition("_")
    if head and tail.lower() in _UNITS:
        return _words(head).lower(), _UNITS[tail.lower()]
    if table == "feedback" and col.lower() in {"nps", "csat", "ces", "score"}:
        return f"{_ACRONYMS.get(col.lower(), col.lower())} score", ""
    return _words(col).lower().replace("nps", "NPS").replace("csat", "CSAT"), ""


def _value_count(t: str, col: str, value: str, within: str) -> str:
    v = value.replace("_", " ")
    if col in _VALUE_FIRST:
        return f"{_words(v)} {t} ({within})"
    if col in {"topic", "subject", "reason", "category"}:
        return f"{_words(t)} about {v} ({within})"
    if col in {"channel", "medium"}:
        return f"{_words(t)} by {v} ({within})"
    if not v.replace(".", "").isdigit():  # a named code: "event type: Billing dispute"
        col = re.sub(r"_(id|code|cd|no|nr)$", "", col)
        return f"{_words(t)} with {col.replace('_', ' ')}: {v} ({within})"
    return f"{_words(t)} with {col.replace('_', ' ')} {v} ({within})"


def humanize_feature(name: str) -> str:
    """Turn a structured feature name into words.

    Examples
    --------
    >>> humanize_feature("static__Contract")
    'Contract'
    >>> humanize_feature("contacts__topic=billing__count__90d")
    'Contacts about billing (last 90 days)'
    >>> humanize_feature("usage__logins__sum__30d")
    'Total logins (usage, last 30 days)'
    >>> humanize_feature("feedback__nps__last__365d")
    'Latest NPS score (last 365 days)'
    >>> humanize_feature("usage__logins__monthly__90d")
    'Logins per month (usage, last 90 days)'
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
    if rest == ["days_since_last", "tenure_share"]:
        return f"Time since the last {_one(t)}, as a share of tenure"
    if rest == ["count", "monthly"]:
        return f"{_words(t)} per month ({within})"
    if len(rest) == 2 and "=" in rest[0] and rest[1] == "count":
        col, value = rest[0].split("=", 1)
        return _value_count(t, col.lower(), value, within)
    if len(rest) == 2:
        col, agg = rest
        if agg == "count":
            return f"{_words(col)} {t} ({within})"
        if agg == "share":
            return f"Share of {col.replace('_', ' ')} {t} ({within})"
        if agg == "days_since_last":
            return f"Days since the last {col.replace('_', ' ')} {_one(t)}"
        words, unit = _column(col, table)
        detail = ", ".join(x for x in (unit, "" if table == "feedback" else t, within) if x)
        if agg == "trend":
            detail = ", ".join(x for x in (unit, t) if x)
            return f"Change in total {words} vs the previous {window} days ({detail})"
        if agg == "monthly":
            return f"{words[:1].upper() + words[1:]} per month ({detail})"
        if agg in _AGG_WORDS:
            return f"{_AGG_WORDS[agg]} {words} ({detail})"
    return _words(name.replace("__", " "))
