"""The one table writer: CSV or Parquet, atomic, with spreadsheet formulas neutralised.

A CSV file opened in a spreadsheet program runs any cell that starts with
``=``, ``+``, ``-`` or ``@`` (and, in some programs, a tab or carriage return)
as a formula -- a customer name, a comment or a segment value typed by anyone
can then execute on an account manager's machine ("CSV injection"). Every CSV
churnkit writes goes through :func:`write_table`, which puts an apostrophe in
front of such text cells, the way spreadsheet programs mark a cell as text.
Numbers stay numbers, also when they are held as text (``"-0.5"``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnkit._core.atomic import atomic_path
from churnkit._core.messages import short_repr
from churnkit.exceptions import OutputError

__all__ = ["FORMULA_START", "TABLE_SUFFIXES", "check_table_path", "guard_formulas", "write_table"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet program read a cell as a formula."""
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
"""File name endings :func:`write_table` writes: CSV, or Parquet."""
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?%?")


def _is_text(values: pd.Series | pd.Index) -> bool:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    return bool(pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype))


def _distinct_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Codes (-1 missing), the distinct values, and those of them that are text."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = np.asarray(uniques, dtype=object)
    is_str = np.fromiter((isinstance(v, str) for v in distinct), dtype=bool, count=len(distinct))
    return codes, distinct, pd.Series(distinct[is_str], index=np.flatnonzero(is_str), dtype=object)


def _risky(text: pd.Series) -> np.ndarray:
    """Where ``text`` starts like a formula and is not a plain number (a boolean array)."""
    risky = text.str.startswith(FORMULA_START, na=False).to_numpy(dtype=bool, copy=True)
    if risky.any():
        number = text[risky].str.fullmatch(_NUMBER.pattern, na=False).to_numpy(dtype=bool)
        risky[np.flatnonzero(risky)[number]] = False
    return risky


def _guard_values(values: pd.Series) -> pd.Series:
    """``values`` with risky text cells prefixed, or ``values`` itself when none is risky.

    The test runs once per distinct value, so a column of a million customers with a
    few reasons costs a hashing pass, not a million string checks.
    """
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(values.dtype):
        # a string column: every value is text, and its string methods are vectorised
        risky = _risky(values)
        if not risky.any():
            return values
        return values.where(~risky, "'" + values)
    codes, distinct, text = _distinct_text(values)
    if text.empty:
        return values
    risky = _risky(text)
    if not risky.any():
        return values
    distinct = distinct.copy()
    distinct[text.index.to_numpy()[risky]] = ("'" + text[risky]).to_numpy(dtype=object)
    out = np.append(distinct, np.array([None], dtype=object))[codes]
    missing = codes < 0
    if missing.any():  # keep the missing markers as they were (None, NaN, NA)
        out[missing] = values.to_numpy(dtype=object)[missing]
    return pd.Series(out, index=values.index, dtype=object)


def guard_formulas(frame: pd.DataFrame, *, index: bool = False) -> pd.DataFrame:
    """``frame`` with every text cell that a spreadsheet would run as a formula made inert.

    Such a cell starts with one of :data:`FORMULA_START` and is not a plain number;
    it gets a leading apostrophe. Numeric columns, and numbers held as text, are
    left as they are. With ``index``, the row labels are guarded too.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"name": ["=HYPERLINK(1)", "@SUM(A1)", "-0.5", "ok"],
    ...                       "x": [-1.5, 2.0, 3.0, 4.0]})
    >>> guard_formulas(frame)["name"].tolist()
    ["'=HYPERLINK(1)", "'@SUM(A1)", '-0.5', 'ok']
    >>> guard_formulas(frame)["x"].tolist()
    [-1.5, 2.0, 3.0, 4.0]
    """
    out = frame
    for pos in range(frame.shape[1]):
        column = frame.iloc[:, pos]
        if not _is_text(column):
            continue
        guarded = _guard_values(column)
        if guarded is not column:
            if out is frame:
                out = frame.copy()
            out.isetitem(pos, guarded.to_numpy(dtype=object))
    columns = pd.Series(frame.columns.to_numpy(dtype=object), dtype=object)
    if _is_text(columns):
        names = _guard_values(columns)
        if names is not columns:
            out = out.copy() if out is frame else out
            out.columns = pd.Index(names.tolist())
    if index and _is_text(frame.index):
        rows = pd.Series(frame.index.to_numpy(dtype=object), dtype=object)
        labels = _guard_values(rows)
        if labels is not rows:
            out = out.copy() if out is frame else out
            out.index = pd.Index(labels.tolist(), name=frame.index.name)
    return out


def write_table(frame: pd.DataFrame, path: str | Path, *, index: bool = False,
                **csv_options: Any) -> Path:
    """Write ``frame`` atomically as Parquet (``.parquet``/``.pq``) or CSV (any other name).

    CSV files are UTF-8 with LF line ends (CRLF when a cell holds a carriage
    return, so that the cell is quoted), text cells guarded by
    :func:`guard_formulas`; further keywords go to :meth:`DataFrame.to_csv`
    (e.g. ``date_format``). Returns the path.

    Examples
    --------
    >>> import pandas as pd, tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_table(pd.DataFrame({"a": ["=1+1"], "b": [-2]}), Path(tmp) / "t.csv")
    ...     print(path.read_text())
    a,b
    '=1+1,-2
    <BLANKLINE>
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() in {".parquet", ".pq"}:
            frame.to_parquet(tmp, index=index)
        else:
            guarded = guard_formulas(frame, index=index)
            # a bare CR inside a cell is quoted only when it is part of the line end
            end = "\r\n" if _has_cr(guarded, index=index) else "\n"
            guarded.to_csv(tmp, index=index, lineterminator=end, encoding="utf-8", **csv_options)
    return path


def _has_cr(frame: pd.DataFrame, *, index: bool) -> bool:
    parts = [frame.iloc[:, i] for i in range(frame.shape[1]) if _is_text(frame.iloc[:, i])]
    parts.append(pd.Series(frame.columns.to_numpy(dtype=object), dtype=object))
    if index:
        parts.append(pd.Series(frame.index.to_numpy(dtype=object), dtype=object))
    return any(_any_cr(part) for part in parts)


def _any_cr(values: pd.Series) -> bool:
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(values.dtype):
        return bool(values.str.contains("\r", regex=False, na=False).any())
    return bool(_distinct_text(values)[2].str.contains("\r", regex=False).any())


def check_table_path(path: str | Path, *, option: str) -> Path:
    """``path`` if a table can be written there as CSV or Parquet, else an :class:`OutputError`.

    The name must end in one of :data:`TABLE_SUFFIXES` (an ``.xlsx`` name would
    get CSV content) and must not be an existing folder. ``option`` names the
    setting in the message, e.g. ``"--out"``.

    Examples
    --------
    >>> check_table_path("scores.parquet", option="--out").name
    'scores.parquet'
    >>> try:
    ...     check_table_path("scores.xlsx", option="--out")
    ... except OutputError as exc:
    ...     print(exc)
    --out 'scores.xlsx': tables are written as CSV or Parquet; name the file *.csv or *.parquet.
    """
    path = Path(path)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise OutputError(
            f"{option} {short_repr(str(path))}: tables are written as CSV or Parquet; "
            "name the file *.csv or *.parquet."
        )
    if path.is_dir():
        raise OutputError(f"{option} {short_repr(str(path))} is a folder; give a file name.")
    return path
