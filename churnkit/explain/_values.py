"""Values written for a reader: numbers by the feature's name, missing values in words.

Values without a format spec are written by :func:`format_value`, which reads
the feature's name: days and counts as whole numbers, shares as percentages,
changes with a sign, money and minutes rounded to what a reader needs.
:func:`whole_if_shown_whole` rounds values beforehand where they are shown
whole, so that each distinct text is formatted once; :func:`missing_text`
words a missing value.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import numpy as np

__all__ = ["format_value", "missing_text", "whole_if_shown_whole"]

_MONEY = re.compile(r"amount|value|charge|price|revenue|spend|fee|cost|balance|invoice", re.I)
_SCORE = re.compile(r"(^|__)(nps|csat|score|rating)(__|$)", re.I)
_SIGNED = re.compile(r"__(change|trend)(__|$)", re.I)


def _strip(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def missing_text(feature: str) -> str:
    """How a missing value of ``feature`` reads in a reason.

    ``never`` for days since an event, ``none in that period`` for a statistic
    over a window without events, else ``missing``.
    """
    name = feature.lower()
    if "days_since" in name:
        return "never"
    return "none in that period" if re.search(r"__\d+d$", name) else "missing"


_WHOLE_SPEC = re.compile(r"^,?\.0f$")
_PERCENT_SPEC = re.compile(r"^\+?\.0%$")


def whole_if_shown_whole(values: Any, feature: str = "", spec: str = "") -> Any:
    """``values`` rounded to whole numbers where :func:`format_value` shows them whole.

    Rounding first (half to even, as ``format`` does) leaves every text the
    same and makes the few distinct texts few distinct values, so that each is
    formatted once (e.g. days since an event, fractional, read as whole days).
    Other values come back unchanged.

    Examples
    --------
    >>> whole_if_shown_whole(np.array([124.48, 2.5, 3.5]), "contacts__days_since_last")
    array([124.,   2.,   4.])
    >>> whole_if_shown_whole(np.array([0.2549]), "contacts__unresolved__share__90d")
    array([0.25])
    >>> whole_if_shown_whole(np.array([0.25]), "contacts__unresolved__trend__90d")
    array([0.25])
    """
    arr = np.asarray(values)
    if arr.dtype.kind != "f":
        return values
    if _PERCENT_SPEC.match(spec) if spec else _number_kind(feature)[0] == "share":
        # whole percents: the product by 100 in double precision, as format takes it
        wide = arr.astype(np.float64)
        rounded = np.rint(wide * 100) / 100
        return np.where((rounded == 0) & (wide < 0), wide, rounded)
    name = feature.lower()
    parts = name.split("__")
    if spec:
        whole = bool(_WHOLE_SPEC.match(spec))
    else:
        whole = not ("share" in parts or parts[-1].endswith("share") or "monthly" in parts
                     or _SIGNED.search(name)) and (
            "days" in name or "__count" in name or name.endswith("tenure"))
    if not whole:
        return values
    rounded = np.rint(arr)
    # a small negative value reads "-0": keep it as it is
    return np.where((rounded == 0) & (arr < 0), arr, rounded)


@functools.lru_cache(maxsize=4096)
def _number_kind(feature: str) -> tuple[str, bool, bool]:
    """How :func:`format_value` writes a number of ``feature``: its kind, signed, money."""
    name = feature.lower()
    parts = name.split("__")
    if "share" in parts or parts[-1].endswith("share"):
        kind = "share"
    elif "monthly" in parts:
        kind = "monthly"
    elif "days" in name or "__count" in name or name.endswith("tenure"):
        kind = "whole"
    elif _SCORE.search(name):
        kind = "mean score" if "__mean__" in name else "score"
    else:
        kind = "other"
    return kind, bool(_SIGNED.search(name)), bool(_MONEY.search(name))


def format_value(value: Any, feature: str = "", spec: str = "") -> str | None:
    """Write one value for a reader; ``None`` if it is missing (or does not fit ``spec``).

    Without ``spec`` the feature's name decides: days, counts and tenure as
    whole numbers; shares as percentages; scores as whole numbers (averages
    with one decimal); changes and trends with a sign; money under 1,000 with
    cents; other numbers whole from 10 on, else with one or two significant
    decimals; thousands separated.

    Examples
    --------
    >>> format_value(124.48, "feedback__detractor__days_since_last")
    '124'
    >>> format_value(0.25, "contacts__unresolved__share__90d")
    '25%'
    >>> format_value(-1425.6, "usage__minutes__change__365d")
    '-1,426'
    >>> format_value(15.28, "contacts__duration_min__mean__365d")
    '15'
    >>> format_value(7.25, "feedback__nps__mean__90d")
    '7.2'
    >>> format_value(0.5, "usage__count__monthly__90d")
    '0.5'
    """
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return None
    if spec:
        try:
            return format(value, spec)
        except (ValueError, TypeError):
            return None
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if not isinstance(value, int | float | np.number):
        return str(value)
    x = float(value)
    if not math.isfinite(x):
        return str(x)
    kind, signed, money = _number_kind(feature)
    sign = "+" if signed and x != 0 else ""
    if kind == "share":
        return f"{x:{sign}.0%}"
    if kind == "monthly":  # rates per month: a fraction of an event matters
        if money and abs(x) < 1000:
            return f"{x:{sign},.2f}"
        return _strip(f"{x:{sign},.1f}") if abs(x) < 100 else f"{x:{sign},.0f}"
    if kind == "whole":
        return f"{x:{sign},.0f}"
    if kind in ("score", "mean score"):
        return _strip(f"{x:{sign}.1f}") if kind == "mean score" else f"{x:{sign}.0f}"
    if money and abs(x) < 1000 and not x.is_integer():
        return f"{x:{sign},.2f}"
    if abs(x) >= 10 or x.is_integer():
        return f"{x:{sign},.0f}"
    return _strip(f"{x:{sign}.2g}" if abs(x) < 1 else f"{x:{sign}.1f}")
