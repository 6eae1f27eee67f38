"""Pieces of error messages: values echoed at a bounded length, did-you-mean hints."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "ECHO_LIMIT",
    "cap_text",
    "closest",
    "did_you_mean",
    "short_list",
    "short_repr",
    "unknown_names",
]

ECHO_LIMIT = 200
"""Most characters of a user's value an error message repeats."""


def cap_text(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` cut to about ``limit`` characters, saying how much was left out.

    Examples
    --------
    >>> cap_text("x" * 500, 10)
    'xxxxxxxxxx… (490 more characters)'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def short_repr(value: Any, limit: int = ECHO_LIMIT) -> str:
    """``repr(value)``, cut to about ``limit`` characters.

    Examples
    --------
    >>> short_repr("abc")
    "'abc'"
    >>> short_repr("y" * 1000, 5)
    "'yyyy… (997 more characters)"
    """
    return cap_text(repr(value), limit)


def short_list(items: Iterable[Any], limit: int = 30) -> str:
    """``[a, b, ...]`` with at most ``limit`` items (each at most 60 characters), then a count.

    Examples
    --------
    >>> short_list(["a", "b", "c"], 2)
    "['a', 'b'] (and 1 more)"
    """
    values = list(items)
    shown = ", ".join(short_repr(v, 60) for v in values[:limit])
    more = f" (and {len(values) - limit} more)" if len(values) > limit else ""
    return f"[{shown}]{more}"


def closest(word: Any, choices: Sequence[str]) -> str | None:
    """The choice closest to ``word`` (:func:`difflib.get_close_matches`), or None if none is close."""
    close = difflib.get_close_matches(str(word)[:100], [str(c) for c in choices], n=1)
    return close[0] if close else None


def did_you_mean(word: Any, choices: Sequence[str]) -> str:
    """``" (did you mean 'x'?)"`` for the choice closest to ``word``, or ``""`` if none is close.

    Examples
    --------
    >>> did_you_mean("custmer_id", ["customer_id", "segment"])
    " (did you mean 'customer_id'?)"
    >>> did_you_mean("zzz", ["customer_id"])
    ''
    """
    close = closest(word, choices)
    return "" if close is None else f" (did you mean {close!r}?)"


def unknown_names(names: Iterable[Any], known: Sequence[str], *, what: str) -> str | None:
    """A message naming those of ``names`` not in ``known``, or None if all are known.

    Examples
    --------
    >>> unknown_names(["sum", "summ"], ["sum", "mean"], what="aggregation")
    "unknown aggregation(s) ['summ'] (did you mean 'sum'?); use any of ['sum', 'mean']"
    """
    unknown = sorted({str(n) for n in names} - set(known))
    if not unknown:
        return None
    return (f"unknown {what}(s) {short_list(unknown, 5)}{did_you_mean(unknown[0], known)}; "
            f"use any of {list(known)}")
