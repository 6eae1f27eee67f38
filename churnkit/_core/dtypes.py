"""The dtype of every text column churnkit returns."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["STR_DTYPE"]


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
