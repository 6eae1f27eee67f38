"""A fitted :class:`ChurnModel` (minus its trees) as plain JSON data, and back.

The trees live in LightGBM's own text format (``model.txt``); everything else
a model needs -- its parameters, feature names and categories, the calibration
(sigmoid coefficients or the isotonic thresholds), the validation metrics and
its version -- is written here as JSON with exact floats. Reading builds the
calibrator from those numbers, so loading a model never runs saved code.
"""

from __future__ import annotations

import math
from typing import Any

import lightgbm as lgb
import numpy as np
import sklearn
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from churnkit._core.state import StateError, StateReader, plain_json
from churnkit.model._model import ChurnModel

__all__ = ["FORMAT", "FORMAT_VERSION", "model_from_state", "model_state"]

FORMAT = "churnkit.model"
FORMAT_VERSION = 1
_FITTED = {"booster_", "best_iteration_", "feature_names_in_", "categories_", "classes_",
           "calibrator_", "metrics_", "version_", "tuning_"}
_ATTACHED = {"feature_set_", "config_", "training_", "reasons_", "manifest_",
             "training_profile_"}
"""Attributes stored in other files of the model folder (or, for ``manifest_``, not at all)."""


def _calibration_state(cal: Any) -> dict[str, Any]:
    if cal is None:
        return {"kind": "none"}
    if isinstance(cal, IsotonicRegression):
        return {"kind": "isotonic", "increasing_": bool(cal.increasing_),
                "X_min_": float(cal.X_min_), "X_max_": float(cal.X_max_),
                "X_thresholds_": [float(x) for x in cal.X_thresholds_],
                "y_thresholds_": [float(y) for y in cal.y_thresholds_]}
    if isinstance(cal, LogisticRegression) and cal.coef_.shape == (1, 1):
        return {"kind": "sigmoid", "coef_": float(cal.coef_[0, 0]),
                "intercept_": float(cal.intercept_[0])}
    raise StateError(f"A calibrator of type {type(cal).__name__} cannot be saved as data.")


def _calibration_from_state(r: StateReader, method: str) -> Any:
    kind = r.text("kind")
    if kind != method:
        raise r.fail("kind", f"{kind!r} differs from the model's calibration {method!r}")
    cal: Any = None
    if kind == "isotonic":
        x, y = r.floats("X_thresholds_"), r.floats("y_thresholds_")
        if len(x) != len(y) or len(x) < 1 or not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise r.fail("y_thresholds_", "expected as many finite thresholds as X_thresholds_")
        # the pickling protocol of scikit-learn rebuilds the interpolation from the thresholds
        cal = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        cal.__setstate__({**cal.__dict__, "increasing_": r.flag("increasing_"),
                          "X_min_": np.float64(r.number("X_min_")),
                          "X_max_": np.float64(r.number("X_max_")),
                          "X_thresholds_": x, "y_thresholds_": y,
                          "_sklearn_version": sklearn.__version__})
    elif kind == "sigmoid":
        coef, intercept = r.number("coef_"), r.number("intercept_")
        if not (math.isfinite(coef) and math.isfinite(intercept)):
            raise r.fail("coef_", "expected finite numbers")
        cal = LogisticRegression()
        cal.classes_ = np.array([False, True])
        cal.coef_ = np.array([[coef]])
        cal.intercept_ = np.array([intercept])
        cal.n_features_in_ = 1
        cal.n_iter_ = np.array([0], dtype=np.int32)
    elif kind != "none":
        raise r.fail("kind", f"{kind!r} is not 'isotonic', 'sigmoid' or 'none'")
    r.close()
    return cal


def model_state(model: ChurnModel) -> dict[str, Any]:
    """Everything of a fitted ``model`` but its trees and its attached feature set, as JSON data.

    Raises
    ------
    StateError
        If the model has fitted state this format does not store.
    """
    fitted = {k for k in vars(model) if k.endswith("_") and not k.startswith("_")}
    extra = sorted(fitted - _FITTED - _ATTACHED)
    if extra:
        raise StateError(
            f"ChurnModel has fitted attribute(s) {extra} that the model file format does not "
            "store; saving would lose them. Add them to churnkit/model/_state.py."
        )
    metrics = {str(k): (float(v) if math.isfinite(float(v)) else None)
               for k, v in model.metrics_.items()}
    params = model.get_params(deep=False)
    bad = {k: v for k, v in params.items() if not (v is None or isinstance(v, str | int | float))}
    if bad:
        raise StateError(f"ChurnModel parameter(s) {sorted(bad)} cannot be saved as data; "
                         "use plain numbers and strings.")
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "params": params,
        "feature_names_in_": [str(n) for n in model.feature_names_in_],
        "categories_": {str(k): [v.item() if isinstance(v, np.generic) else v for v in vs]
                        for k, vs in model.categories_.items()},
        "calibration": _calibration_state(model.calibrator_),
        "metrics_": metrics,
        "best_iteration_": int(model.best_iteration_),
        "version_": str(model.version_),
        "tuning_": plain_json(getattr(model, "tuning_", None)),
    }


_PARAM_CHECKS = {
    "calibration": lambda v: v in ("sigmoid", "isotonic", "none"),
    "n_jobs": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
}
"""Parameters a loaded model uses (the others only matter for fitting)."""


def model_from_state(data: Any, booster: lgb.Booster, file: str) -> ChurnModel:
    """Rebuild a fitted :class:`ChurnModel` from :func:`model_state` data and its booster.

    Parameters
    ----------
    data : object
        The parsed JSON.
    booster : lightgbm.Booster
        The trees, read from ``model.txt``.
    file : str
        Where ``data`` was read from, for error messages.

    Raises
    ------
    ModelError
        A :class:`~churnkit._core.state.StateError` naming the file and key.
    """
    r = StateReader(data, file)
    if r.text("format") != FORMAT or r.integer("format_version") != FORMAT_VERSION:
        raise r.fail("format_version", f"expected {FORMAT!r} version {FORMAT_VERSION}")
    p = r.sub("params")
    params: dict[str, Any] = {}
    for key in ChurnModel().get_params(deep=False):  # every parameter of this version, no other
        value = p.value(key)
        ok = _PARAM_CHECKS.get(key, lambda v: v is None or isinstance(v, str | int | float))
        if not ok(value):
            raise p.fail(key, f"{value!r} is not a valid value")
        params[key] = value
    p.close()
    model = ChurnModel(**params)
    names = r.strs("feature_names_in_")
    if booster.num_feature() != len(names):
        raise r.fail("feature_names_in_", f"{len(names)} names for the {booster.num_feature()} "
                                          "features of model.txt")
    model.booster_ = booster
    model.best_iteration_ = r.integer("best_iteration_")
    model.feature_names_in_ = np.asarray(names, dtype=object)
    model.categories_ = r.mapping("categories_", "lists of values")
    model.classes_ = np.array([False, True])
    model.calibrator_ = _calibration_from_state(r.sub("calibration"), model.calibration)
    metrics = r.value("metrics_")
    if not isinstance(metrics, dict) or any(
            v is not None and (isinstance(v, bool) or not isinstance(v, int | float))
            for v in metrics.values()):
        raise r.fail("metrics_", "expected an object of numbers")
    model.metrics_ = {k: float("nan") if v is None else float(v) for k, v in metrics.items()}
    model.version_ = r.text("version_")
    tuning = r.value("tuning_")
    if tuning is not None and not isinstance(tuning, dict):
        raise r.fail("tuning_", "expected an object or null")
    if tuning is not None:
        model.tuning_ = tuning
    r.close()
    return model
