"""The dtype of every text column churnkit returns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["STR_DTYPE", "as_text_column", "str_take"]


def _str_dtype() -> pd.StringDtype:
    """Return the string dtype whose missing value is ``NaN``, as pandas 3's ``"str"``.

    On pandas 2, ``astype("str")`` writes missing values as the text ``"nan"`` or
    ``"None"``; this dtype keeps them missing on every supported pandas. pandas 2.2
    names it ``"pyarrow_numpy"``; pandas 2.3 and later take ``na_value=np.nan``.
    """
    try:
        return pd.StringDtype(na_value=np.nan)
    except TypeError:
        return pd.StringDtype("pyarrow_numpy")  # type: ignore[call-overload]  # pandas 2.2


#: Text with missing values kept missing (``NaN``): ``"str"`` on pandas 3.
STR_DTYPE: pd.StringDtype = _str_dtype()


def str_take(uniques: Any, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Text ``uniques[codes]`` as :data:`STR_DTYPE`, missing where a code is -1 (or its value is).

    Taken in Arrow from the few distinct texts: no Python string per row.

    Examples
    --------
    >>> str_take(["a", "b", None], np.array([1, -1, 0, 2])).tolist()
    ['b', nan, 'a', nan]
    """
    values = pa.array([None if v is None or (isinstance(v, float) and v != v) else str(v)
                       for v in uniques], type=pa.large_string())
    codes = np.asarray(codes, dtype=np.int64)
    taken = values.take(pa.array(codes, mask=codes < 0)) if len(values) else pa.nulls(
        len(codes), type=pa.large_string())
    return STR_DTYPE.__from_arrow__(taken)  # type: ignore[attr-defined]  # pandas' Arrow protocol


#: Whether pandas stores a column of Python strings as its ``str`` dtype (pandas 3).
_INFERS_STR = pd.Series(["a"]).dtype != object


def as_text_column(values: pd.api.extensions.ExtensionArray) -> Any:
    """Text to assign as a column, stored as pandas stores Python strings.

    ``str`` on pandas 3 (``values`` as they are); on pandas 2, an object array with
    ``None`` for missing values, as a frame built from Python strings holds them.
    """
    if _INFERS_STR:
        return values
    out = np.asarray(values, dtype=object)
    out[pd.isna(out)] = None
    return out
