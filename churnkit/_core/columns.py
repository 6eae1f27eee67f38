"""The one required-columns check of every stage, and a column mapped once per distinct value."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from churnkit._core.messages import short_list
from churnkit.exceptions import SchemaError

__all__ = ["per_distinct", "require_columns"]


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

def per_distinct(values: Any, fn: Any) -> np.ndarray:
    """``fn`` of each value as an object array, computed once per distinct value.

    Missing values (``None``, NaN) give ``None`` without calling ``fn``.

    Examples
    --------
    >>> per_distinct(np.array([3.0, np.nan, 3.0, 1.0]), lambda v: f"{v:.0f} days").tolist()
    ['3 days', None, '3 days', '1 days']
    """
    arr = np.asarray(values)
    if arr.dtype.kind == "f":  # one value to a hash table: -0.0 reads as 0
        arr = arr + 0.0
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    words = np.empty(len(uniques) + 1, dtype=object)
    words[:-1] = [fn(u) for u in uniques]
    words[-1] = None
    return words[codes]
