"""What scikit-learn-style estimators of the package accept as ``X`` and ``y``.

:class:`churnkit.model.ChurnModel` and :class:`churnkit.evaluate.RuleBaseline` take a
DataFrame or a dense numeric array as ``X`` and churn labels (bool or 0/1) as ``y``,
and refuse everything else in scikit-learn's words, so that scikit-learn's own
estimator checks and tools work with them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, column_or_1d

from churnkit.exceptions import SchemaError

__all__ = ["churn_labels", "feature_frame"]


def feature_frame(X: Any, who: str, *, names: list[str] | None = None) -> pd.DataFrame:
    """``X`` as a DataFrame: a DataFrame as it is, a dense numeric array wrapped.

    The array's columns are named ``names`` (a fitted model's features, taken by
    position), else ``x0, x1, ...`` as scikit-learn names unnamed features. Sparse
    input, complex numbers, non-numeric arrays and empty data are refused with a
    ``ValueError`` (:class:`SchemaError`) or ``TypeError``, in scikit-learn's words.
    """
    if sparse.issparse(X):
        raise SchemaError(f"{who} does not support sparse input: pass X as a DataFrame or a "
                          "dense array (e.g. X.toarray()).")
    if isinstance(X, pd.DataFrame):
        if X.shape[1] == 0 or len(X) == 0:
            what = "0 feature(s)" if X.shape[1] == 0 else "0 sample(s)"
            raise SchemaError(f"Found array with {what} (shape={X.shape}) while a minimum of 1 "
                              f"is required by {who}.")
        return X
    # NaN and inf stay: LightGBM splits them like in a DataFrame
    arr = check_array(X, dtype="numeric", ensure_all_finite=False, input_name="X",
                      estimator=who)
    if names is not None and arr.shape[1] != len(names):
        raise SchemaError(f"X has {arr.shape[1]} features, but {who} is expecting {len(names)} "
                          "features as input.")
    columns = names if names is not None else [f"x{i}" for i in range(arr.shape[1])]
    return pd.DataFrame(arr, columns=columns)


def churn_labels(y: Any, who: str) -> np.ndarray:
    """``y`` as a boolean array of churn labels (``True`` = churned).

    Labels must be ``bool`` or ``0``/``1``, so that column 1 of ``predict_proba`` is
    always the churn probability; a column vector is raveled with scikit-learn's
    ``DataConversionWarning``. Missing or infinite labels, continuous targets and more
    than two classes are a ``ValueError`` in scikit-learn's words.
    """
    if y is None:
        raise SchemaError(f"{who} requires y to be passed, but the target y is None.")
    y = column_or_1d(y, warn=True)
    if y.dtype.kind in "fc":
        check_array(y, ensure_2d=False, ensure_min_samples=0, dtype=None, input_name="y")
    values = pd.unique(y) if y.dtype.kind == "O" else np.unique(y)
    if all(isinstance(v, bool | int | float | np.bool_ | np.number) and v in (0, 1)
           for v in values):
        return y.astype(bool)
    kind = type_of_target(y, input_name="y")
    if kind == "continuous":
        raise SchemaError(f"Unknown label type: {kind}. {who} is a classifier of churn labels "
                          f"(bool or 0/1); y holds continuous values, e.g. {values[0]!r}.")
    if kind in ("multiclass", "multiclass-multioutput", "multilabel-indicator"):
        raise SchemaError(f"Only binary classification is supported. The type of the target is "
                          f"{kind}: {who} learns churn labels, bool or 0/1.")
    shown = sorted(repr(v.item() if isinstance(v, np.generic) else v) for v in values)[:5]
    raise SchemaError(f"{who} takes churn labels as bool or 0/1 (True/1 = churned); y holds "
                      f"the classes {', '.join(shown)}. Map them to True/False first.")
