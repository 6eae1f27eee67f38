"""Calibration of the booster's probabilities on the validation rows."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

__all__ = ["apply_calibration", "fit_calibration"]


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(p, 1e-9, 1 - 1e-9) / np.clip(1 - p, 1e-9, 1)).reshape(-1, 1)


def fit_calibration(method: str, p: np.ndarray, y: np.ndarray) -> Any:
    """A calibrator of ``method`` (``isotonic``, ``sigmoid`` or ``none``) fitted on ``p``."""
    if method == "none":
        return None
    if method == "isotonic":
        return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p, y)
    if method == "sigmoid":
        return LogisticRegression().fit(_logit(p), y)
    raise ValueError(
        "The 'calibration' parameter of ChurnModel must be one of "
        f"'isotonic', 'sigmoid', 'none'. Got {method!r} instead."
    )


def apply_calibration(calibrator: Any, p: np.ndarray) -> np.ndarray:
    """``p`` calibrated by ``calibrator`` (from :func:`fit_calibration`)."""
    if calibrator is None:
        return p
    if isinstance(calibrator, IsotonicRegression):
        return np.asarray(calibrator.predict(p), dtype=float)
    return calibrator.predict_proba(_logit(p))[:, 1]
