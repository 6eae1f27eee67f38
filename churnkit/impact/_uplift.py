"""Uplift model: who a retention contact saves, from randomised experiments (meta-learners).

The effect is a *reduction* in churn probability: positive means contact
helps, negative that it makes the customer more likely to leave.

- T-learner: one churn model on the treated, one on the control group;
  uplift = p_control(x) - p_treated(x).
- X-learner (Künzel et al., 2019): the T-learner's models impute each
  customer's effect (control prediction minus the treated outcome, or the
  control outcome minus the treated prediction), two regressions learn those
  from the features and both first-stage churn probabilities, blended by the
  share treated (the propensity of a randomised experiment).

With ``learner="auto"`` both are fitted on 70 % of the customers and the one
with the higher Qini coefficient on the other 30 % is kept. The final model is
``bags`` copies fitted on bootstrap samples: their mean is the prediction and
their agreement tells confident effects.
"""

from __future__ import annotations

import numbers
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from churnkit.exceptions import ConfigError, SchemaError
from churnkit.impact._uplift_metrics import qini_coefficient

__all__ = ["UpliftModel"]

_BOOSTERS = ("mu0", "mu1", "tau0", "tau1")  # the LightGBM models a bag may hold

Learner = Literal["auto", "t", "x"]


def _lgbm_params(model: UpliftModel, seed: int) -> dict[str, Any]:
    return {"n_estimators": model.n_estimators, "learning_rate": model.learning_rate,
            "num_leaves": model.num_leaves, "min_child_samples": model.min_child_samples,
            "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.5,
            "random_state": seed, "n_jobs": model.n_jobs, "verbose": -1}


def _fit_one(model: UpliftModel, kind: str, X: pd.DataFrame, t: np.ndarray, y: np.ndarray,
             seed: int) -> dict[str, Any]:
    """Fit one T- or X-learner; return its parts."""
    import lightgbm as lgb

    params = _lgbm_params(model, seed)
    mu0 = lgb.LGBMClassifier(**params).fit(X[t == 0], y[t == 0])
    mu1 = lgb.LGBMClassifier(**params).fit(X[t == 1], y[t == 1])
    parts: dict[str, Any] = {"kind": kind, "mu0": mu0, "mu1": mu1, "share": float(t.mean())}
    if kind == "x":
        Z = _with_risk(parts, X)
        treated, control = Z[t == 1], Z[t == 0]
        d1 = Z["_risk_control"].to_numpy()[t == 1] - y[t == 1]
        d0 = y[t == 0] - Z["_risk_treated"].to_numpy()[t == 0]
        slow = {**params, "min_child_samples": 2 * model.min_child_samples}
        parts["tau1"] = lgb.LGBMRegressor(**slow).fit(treated, d1)
        parts["tau0"] = lgb.LGBMRegressor(**slow).fit(control, d0)
    return parts


def _proba(model: Any, X: pd.DataFrame) -> np.ndarray:
    """Churn probability from a fitted classifier or a loaded binary Booster."""
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X))[:, 1]
    return np.asarray(model.predict(X))


def _with_risk(parts: dict[str, Any], X: pd.DataFrame) -> pd.DataFrame:
    """``X`` plus the churn probability without and with contact (first-stage models)."""
    return X.assign(_risk_control=_proba(parts["mu0"], X), _risk_treated=_proba(parts["mu1"], X))


def _predict_one(parts: dict[str, Any], X: pd.DataFrame) -> np.ndarray:
    if parts["kind"] == "t":
        return np.asarray(_proba(parts["mu0"], X) - _proba(parts["mu1"], X))
    e, Z = parts["share"], _with_risk(parts, X)
    return np.asarray(e * parts["tau0"].predict(Z) + (1 - e) * parts["tau1"].predict(Z))


def _booster(model: Any) -> Any:
    return getattr(model, "booster_", model)


class UpliftModel(BaseEstimator):
    """Meta-learner on LightGBM for the effect of a retention contact on churn.

    Parameters
    ----------
    learner : {"auto", "t", "x"}, default "auto"
        T-learner, X-learner, or the one with the higher out-of-sample Qini.
    bags : int, default 5
        Models fitted on bootstrap samples (stratified by group).
    max_features : int or None, default 30
        Keep the features most used by a churn model fitted on every
        customer (by gain): effects are learnt from a few thousand customers,
        so fewer, relevant features keep the learners from fitting noise.
        None keeps all.
    keep : tuple of str, default ()
        Features kept whatever their use for churn (e.g. the recommended playbook,
        which changes the effect of contact, not the risk).
    n_estimators, learning_rate, num_leaves, min_child_samples : LightGBM settings
        Of every model inside the learner.
    random_state : int, default 0
    n_jobs : int, default 2

    Attributes
    ----------
    learner_ : str
        The learner fitted ("t" or "x").
    selection_ : dict
        Out-of-sample Qini coefficient of each candidate (``learner="auto"``).
    bags_ : list of dict
        The fitted models.
    feature_names_in_ : list of str
    features_ : list of str
        The features the learners use.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.random(4000), "b": rng.random(4000)})
    >>> t = (rng.random(4000) < 0.5).astype(int)
    >>> p = 0.2 - 0.15 * t * (X["a"] > 0.5) + 0.1 * t * (X["a"] <= 0.2)  # helps, harms
    >>> y = (rng.random(4000) < p).astype(int)
    >>> model = UpliftModel(learner="t", bags=2, n_estimators=60).fit(X, t, y)
    >>> u = model.predict(X)
    >>> bool(u[X["a"] > 0.6].mean() > 0.05 > -0.02 > u[X["a"] < 0.15].mean())
    True
    """

    def __init__(self, *, learner: Learner = "auto", bags: int = 5, max_features: int | None = 30,
                 keep: tuple[str, ...] = (), n_estimators: int = 100, learning_rate: float = 0.05,
                 num_leaves: int = 7, min_child_samples: int = 50, random_state: int = 0,
                 n_jobs: int = 2) -> None:
        self.learner = learner
        self.bags = bags
        self.max_features = max_features
        self.keep = keep
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check(self, X: pd.DataFrame, treat: Any, churned: Any) -> tuple[np.ndarray, np.ndarray]:
        if self.learner not in ("auto", "t", "x"):
            raise ConfigError("The 'learner' parameter of UpliftModel must be a str among "
                              f"{{'auto', 't', 'x'}}. Got {self.learner!r} instead.")
        if (isinstance(self.bags, bool) or not isinstance(self.bags, numbers.Integral)
                or self.bags < 1):
            raise ConfigError(f"The 'bags' parameter of UpliftModel must be an int >= 1. "
                              f"Got {self.bags!r} instead.")
        if not isinstance(X, pd.DataFrame):
            raise SchemaError(f"UpliftModel.fit needs X as a DataFrame. Got {type(X).__name__}.")
        t = np.asarray(treat).astype(np.int64)
        y = np.asarray(churned).astype(np.int64)
        if not (len(t) == len(y) == len(X)):
            raise SchemaError(f"X, treat and churned must have one length. Got {len(X)}, "
                              f"{len(t)}, {len(y)} instead.")
        for name, arr in (("treat", t), ("churned", y)):
            if not np.isin(arr, (0, 1)).all():
                raise SchemaError(f"UpliftModel.fit: {name} must be 0/1 (or bool).")
        for g, label in ((0, "control"), (1, "treated")):
            part = y[t == g]
            if len(part) < 20 or part.min() == part.max():
                raise SchemaError(
                    f"UpliftModel.fit: the {label} group has {len(part)} customers and "
                    f"{int(part.sum())} churner(s); each group needs at least 20 customers, "
                    "churners and stayers. Run longer or larger experiments.")
        return t, y

    def fit(self, X: pd.DataFrame, treat: Any, churned: Any) -> UpliftModel:
        """Fit on one row per experiment customer.

        Parameters
        ----------
        X : DataFrame
            Features at each customer's ``as_of``.
        treat : array-like of 0/1
            1 = treated (listed), 0 = control (held out).
        churned : array-like of 0/1
            Churned within the horizon.

        Returns
        -------
        UpliftModel
        """
        t, y = self._check(X, treat, churned)
        rng = np.random.default_rng(self.random_state)
        self.feature_names_in_ = list(X.columns)
        self.features_ = self._select(X, y)
        X = X[self.features_]
        self.selection_: dict[str, float] = {}
        if self.learner == "auto":
            test = np.zeros(len(t), dtype=bool)
            for g in (0, 1):
                idx = np.flatnonzero(t == g)
                test[rng.choice(idx, size=int(round(0.3 * len(idx))), replace=False)] = True
            for kind in ("t", "x"):
                parts = _fit_one(self, kind, X[~test], t[~test], y[~test], self.random_state)
                score = _predict_one(parts, X[test])
                self.selection_[kind] = qini_coefficient(1 - y[test], t[test], score)
            self.learner_ = max(self.selection_, key=lambda k: self.selection_[k])
        else:
            self.learner_ = self.learner
        self.bags_: list[dict[str, Any]] = []
        for b in range(self.bags):
            rows = np.concatenate([rng.choice(np.flatnonzero(t == g), size=int((t == g).sum()))
                                   for g in (0, 1)]) if self.bags > 1 else np.arange(len(t))
            self.bags_.append(_fit_one(self, self.learner_, X.iloc[rows], t[rows], y[rows],
                                       self.random_state + 1 + b))
        return self

    def _select(self, X: pd.DataFrame, y: np.ndarray) -> list[str]:
        if self.max_features is None or X.shape[1] <= self.max_features:
            return list(X.columns)
        import lightgbm as lgb

        kept = [c for c in X.columns if c in self.keep]
        rest = X.drop(columns=kept)
        churn = lgb.LGBMClassifier(**_lgbm_params(self, self.random_state)).fit(rest, y)
        gain = churn.booster_.feature_importance(importance_type="gain")
        order = np.argsort(-gain, kind="stable")[: self.max_features]
        chosen = [rest.columns[i] for i in sorted(order) if gain[i] > 0]
        return [*chosen, *kept] or list(X.columns[:1])

    def predict_bags(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted churn reduction of each bag, shape ``(bags, len(X))``."""
        check_is_fitted(self, "bags_")
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise SchemaError(f"UpliftModel.predict: X lacks {len(missing)} feature(s) it was "
                              f"fitted on, e.g. {missing[:5]}. Build X with the same features.")
        X = X[self.features_]
        return np.vstack([_predict_one(parts, X) for parts in self.bags_])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Expected reduction in churn probability if contacted (negative: contact harms)."""
        return np.asarray(self.predict_bags(X).mean(axis=0))

    def to_state(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The fitted model as plain JSON data and LightGBM text models.

        Returns
        -------
        state : dict
            Parameters, learner, selection, features and per bag its kind, the
            share treated and the name of each of its LightGBM models.
        boosters : dict of str to str
            LightGBM's text format of each model, by name (``bag0_mu0``...).
        """
        check_is_fitted(self, "bags_")
        boosters: dict[str, str] = {}
        bags = []
        for b, parts in enumerate(self.bags_):
            names = {}
            for part in _BOOSTERS:
                if part in parts:
                    names[part] = f"bag{b}_{part}"
                    boosters[names[part]] = _booster(parts[part]).model_to_string()
            bags.append({"kind": parts["kind"], "share": float(parts["share"]), "models": names})
        params = self.get_params()
        state = {"params": {**params, "keep": list(params["keep"])},
                 "learner": self.learner_, "selection": dict(self.selection_),
                 "feature_names_in": list(self.feature_names_in_),
                 "features": list(self.features_), "bags": bags}
        return state, boosters

    @classmethod
    def from_state(cls, state: dict[str, Any], boosters: dict[str, str]) -> UpliftModel:
        """Rebuild a fitted model from :meth:`to_state`'s data: parses text, runs no code.

        Parameters
        ----------
        state : dict
        boosters : dict of str to str

        Returns
        -------
        UpliftModel
            Predicting as the model that was saved.
        """
        import lightgbm as lgb

        params = dict(state["params"])
        params["keep"] = tuple(params.get("keep", ()))
        model = cls(**params)
        model.learner_ = str(state["learner"])
        model.selection_ = {str(k): float(v) for k, v in state["selection"].items()}
        model.feature_names_in_ = [str(c) for c in state["feature_names_in"]]
        model.features_ = [str(c) for c in state["features"]]
        model.bags_ = []
        for bag in state["bags"]:
            parts: dict[str, Any] = {"kind": str(bag["kind"]), "share": float(bag["share"])}
            for part, name in bag["models"].items():
                if part not in _BOOSTERS or name not in boosters:
                    raise SchemaError(f"Uplift model state: bag part {part!r} ({name!r}) is not "
                                      "a saved LightGBM model. Train the uplift model again.")
                try:
                    parts[part] = lgb.Booster(model_str=boosters[name])
                except lgb.basic.LightGBMError as exc:
                    raise SchemaError(f"Uplift model state: {name!r} is not a LightGBM model "
                                      f"({str(exc)[:200]}).") from None
            model.bags_.append(parts)
        return model
