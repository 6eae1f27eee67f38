"""The one required-columns check of every stage, and a column mapped once per distinct value."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from churnkit._core.messages import short_list
from churnkit.exceptions import SchemaError

__all__ = ["Coded", "coded_words", "combine_coded", "distinct_words", "per_distinct",
           "require_columns"]


def require_columns(frame: Any, columns: Iterable[Any], *, table: str, fix: str) -> pd.DataFrame:
    """Return ``frame`` if it is a DataFrame holding every one of ``columns``, else raise.

    Parameters
    ----------
    frame : DataFrame
        The table to check.
    columns : iterable of column labels
        The columns it needs (repeats are checked once).
    table : str
        The table's name in the message.
    fix : str
        The remedy, ending the message, e.g. ``"Pass signup_col= if it is named
        differently."``.

    Raises
    ------
    SchemaError
        ``Table 'x' lacks column(s) [...]. Available columns: [...]. <fix>`` (at
        most 30 available columns are listed), or if ``frame`` is no DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> try:
    ...     require_columns(pd.DataFrame({"id": [1]}), ["id", "ts"], table="events",
    ...                     fix="Rename it.")
    ... except SchemaError as exc:
    ...     print(exc)
    Table 'events' lacks column(s) ['ts']. Available columns: ['id']. Rename it.
    """
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"Table {table!r} must be a pandas DataFrame, got {type(frame).__name__}.")
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"Table {table!r} lacks column(s) {missing}. "
            f"Available columns: {short_list(map(str, frame.columns))}. {fix}".rstrip()
        )
    return frame

def distinct_words(values: Any, fn: Any) -> tuple[np.ndarray, np.ndarray]:
    """``fn`` of each distinct value: each value's code (-1: missing) and the words by code.

    Missing values (``None``, NaN) and values ``fn`` maps to ``None`` get code -1.

    Examples
    --------
    >>> codes, words = distinct_words(np.array([3.0, np.nan, 3.0, 1.0]), lambda v: f"{v:.0f}")
    >>> codes.tolist(), words.tolist()
    ([0, -1, 0, 1], ['3', '1'])
    """
    arr = np.asarray(values)
    if arr.dtype.kind == "f":  # one value to a hash table: -0.0 reads as 0
        arr = arr + 0.0
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    words = np.empty(len(uniques), dtype=object)
    words[:] = [fn(u) for u in uniques]
    return _none_missing(codes, words).astype(np.int64, copy=False), words


def _none_missing(codes: np.ndarray, words: np.ndarray) -> np.ndarray:
    """``codes`` (-1: missing) with the codes of words that are ``None`` (or NaN) set to -1."""
    none = np.flatnonzero(pd.isna(words))
    if len(none):
        remap = np.arange(len(words) + 1) - 1  # slot 0: missing
        remap[none + 1] = -1
        codes = remap[codes + 1]
    return codes


def per_distinct(values: Any, fn: Any) -> np.ndarray:
    """``fn`` of each value as an object array, computed once per distinct value.

    Missing values (``None``, NaN) give ``None`` without calling ``fn``, as do
    values ``fn`` maps to ``None`` or NaN.

    Examples
    --------
    >>> per_distinct(np.array([3.0, np.nan, 3.0, 1.0]), lambda v: f"{v:.0f} days").tolist()
    ['3 days', None, '3 days', '1 days']
    """
    return coded_words(values, fn).texts()


class Coded(NamedTuple):
    """Texts as codes into their distinct words: ``words[codes]``, ``None`` where a code is -1."""

    codes: np.ndarray  # int64
    words: np.ndarray  # object

    def take(self, rows: np.ndarray) -> Coded:
        return Coded(self.codes[rows], self.words)

    def texts(self) -> np.ndarray:
        """The texts as an object array."""
        return np.append(self.words, np.array([None], dtype=object))[self.codes]


def coded_words(values: Any, fn: Any = None) -> Coded:
    """:func:`distinct_words` of ``values`` (``fn`` default: the values as they are)."""
    return Coded(*distinct_words(values, (lambda v: v) if fn is None else fn))


_MAX_KEY = 2**62


def combine_coded(parts: Sequence[Coded], fn: Any, *, required: bool = False) -> Coded:
    """``fn(*words)`` of each row's parts, called once per distinct combination.

    A missing part is passed as ``None``; with ``required`` a row with a missing
    part gets code -1 without calling ``fn``. ``fn`` returning ``None`` gives -1.

    Examples
    --------
    >>> day = Coded(np.array([0, 0, 1]), np.array(["Mon", "Tue"], dtype=object))
    >>> what = Coded(np.array([0, -1, 0]), np.array(["call"], dtype=object))
    >>> combine_coded([day, what], lambda d, w: f"{d}: {w or '-'}").texts().tolist()
    ['Mon: call', 'Mon: -', 'Tue: call']
    """
    n = len(parts[0].codes) if parts else 0
    ok = np.ones(n, dtype=bool)
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for part in parts:
        if required:
            ok &= part.codes >= 0
        m = len(part.words) + 1  # slot 0: missing
        if size > _MAX_KEY // m:  # renumber the combinations so far before they overflow
            key, seen = pd.factorize(key)
            size = max(len(seen), 1)
        key = key * m + part.codes + 1
        size *= m
    at = np.flatnonzero(ok) if required else np.arange(n)
    combo, distinct = pd.factorize(key[at])
    rep = np.empty(len(distinct), dtype=np.intp)
    rep[combo] = at  # a row of each combination
    words = np.empty(len(distinct), dtype=object)
    words[:] = [fn(*(p.words[c] if c >= 0 else None for p in parts
                     for c in (p.codes[r],))) for r in rep]
    codes = np.full(n, -1, dtype=np.int64)
    codes[at] = combo
    return Coded(_none_missing(codes, words), words)
