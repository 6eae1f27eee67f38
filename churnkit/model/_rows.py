"""Which rows train, which validate, and how they are weighted.

:func:`out_of_time_split` is the one split of every training path (local,
backtest, Dask); :func:`class_balance` is the ``class_weight="balanced"``
weighting of :class:`~churnkit.model.ChurnModel`, applied alike to the training
rows and to the refit on every row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from churnkit.exceptions import ModelError, SchemaError

__all__ = ["class_balance", "horizon_ends_by", "out_of_time_split", "take_rows", "valid_weights"]


def horizon_ends_by(cutoffs: Any, when: Any, horizon_days: int) -> np.ndarray:
    """Which cutoffs have their label horizon end by ``when``: the purge rule.

    A training cutoff may sit beside a later validation or test cutoff ``when``
    only if its ``horizon_days``-day label is fully observed by then; otherwise its
    label looks at the period it is validated on. Every split of the package
    (the out-of-time validation, the backtest's folds, the capacity search's
    inner split) applies this one rule.

    Parameters
    ----------
    cutoffs : array-like of datetime
        The cutoffs to check.
    when : datetime
        The first cutoff held out.
    horizon_days : int
        The label horizon.

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> import pandas as pd
    >>> cut = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"])
    >>> horizon_ends_by(cut, pd.Timestamp("2024-03-01"), 30).tolist()
    [True, False, False]
    """
    cut = pd.to_datetime(pd.Series(cutoffs)).to_numpy()
    return cut + np.timedelta64(int(horizon_days), "D") <= pd.Timestamp(when).to_datetime64()


def out_of_time_split(
    cutoffs: Any, *, validation_cutoffs: int, horizon_days: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation rows of a frame of customers × cutoffs, out of time.

    The newest ``validation_cutoffs`` cutoffs are the validation rows. Training rows
    are the older ones whose label is fully observed before validation starts: with
    ``horizon_days``, a cutoff whose horizon reaches the first validation cutoff is
    left out of both (purged), so that no training label looks at the validation
    period. Every training path (local, backtest, Dask) splits with this function.

    Parameters
    ----------
    cutoffs : array-like of datetime
        Each row's cutoff.
    validation_cutoffs : int
        Number of newest cutoffs held out.
    horizon_days : int, optional
        The label horizon; enables the purge.

    Returns
    -------
    train, valid : ndarray of bool
        Row masks.

    Examples
    --------
    >>> import pandas as pd
    >>> cut = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"])
    >>> train, valid = out_of_time_split(cut, validation_cutoffs=1, horizon_days=45)
    >>> train.tolist(), valid.tolist()
    ([True, True, False, False], [False, False, False, True])
    """
    cut = pd.to_datetime(pd.Series(cutoffs)).to_numpy()
    unique = np.unique(cut)
    if len(unique) <= validation_cutoffs:
        raise ModelError(
            f"Out-of-time validation needs more than validation_cutoffs="
            f"{validation_cutoffs} cutoffs; the training frame has {len(unique)}. "
            "Add cutoffs (labels.cutoffs) or lower labels.validation_cutoffs."
        )
    first_valid = unique[-validation_cutoffs]
    valid = cut >= first_valid
    train = ~valid
    if horizon_days is not None:
        train &= horizon_ends_by(cut, first_valid, horizon_days)
        if not train.any():
            raise ModelError(
                f"No training cutoff has its {horizon_days}-day horizon ending before the "
                f"first validation cutoff {pd.Timestamp(first_valid).date()}. Start the "
                "cutoff schedule earlier or shorten the horizon."
            )
    return train, valid


def take_rows(X: pd.DataFrame, idx: np.ndarray) -> pd.DataFrame:
    """Rows ``idx`` of ``X``: a view when they are one contiguous run (no copy of the frame)."""
    if len(idx) and idx[-1] - idx[0] + 1 == len(idx):
        return X.iloc[int(idx[0]):int(idx[-1]) + 1]
    return X.iloc[idx]


def class_balance(y: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """``weight`` (or 1) times the weights that give both classes half the total weight."""
    pos = np.average(y, weights=weight)
    balance = np.where(y, 0.5 / pos, 0.5 / (1 - pos))
    return balance if weight is None else balance * weight


def valid_weights(weight: Any, y: np.ndarray, *, name: str, zero: bool = False
                  ) -> np.ndarray | None:
    """``weight`` as floats, one finite positive value per label (``zero``: non-negative)."""
    if weight is None:
        return None
    w = np.asarray(weight, dtype=float)
    ok = w.shape == y.shape and bool(np.isfinite(w).all())
    ok = ok and bool((w >= 0).all() and w.any()) if zero else ok and bool((w > 0).all())
    if not ok:
        kind = "finite non-negative weights, one per row of X, not all 0" if zero else (
            "finite positive weights, one per row of X")
        raise SchemaError(f"{name} must hold {len(y)} {kind}.")
    return w
