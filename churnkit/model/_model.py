"""The churn model: LightGBM with out-of-time early stopping and probability calibration."""

from __future__ import annotations

import hashlib
import warnings
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import Tags

from churnkit._core import churn_labels, feature_frame, resolve_threads
from churnkit.exceptions import LabelError, ModelError, NotFittedError, SchemaError
from churnkit.model._calibration import apply_calibration, fit_calibration
from churnkit.model._metrics import classification_metrics
from churnkit.model._rows import class_balance, out_of_time_split, take_rows, valid_weights
from churnkit.model._treeshap import TreeExplainer
from churnkit.model._tune import (
    final_rate,
    lgb_params,
    search_capacity,
    train_until_stale,
)

__all__ = ["ChurnModel", "check_dump"]


def check_dump(booster: lgb.Booster, feature_names: list[str]) -> None:
    """Raise :class:`ModelError` when LightGBM's JSON dump of ``booster`` does not parse.

    Explanations and scoring read the trees from that dump; LightGBM writes
    feature names into it unescaped, so a backslash or control character in a
    name would make every later ``score`` or ``explain`` fail.
    """
    try:
        booster.dump_model()
    except ValueError as exc:  # json.JSONDecodeError
        odd = [n for n in feature_names if any(c == "\\" or ord(c) < 0x20 for c in str(n))]
        names = f" Feature names with a backslash or control character: {odd[:5]}." if odd else ""
        raise ModelError(
            f"The trained LightGBM model cannot be read back: its JSON dump does not parse "
            f"({exc}).{names} Remove such characters from the column names and category "
            "values (or exclude the column), then train again."
        ) from None


class ChurnModel(ClassifierMixin, BaseEstimator):
    """Gradient-boosted churn classifier with honest validation and calibrated probabilities.

    With ``cutoffs`` given to :meth:`fit`, the newest ``validation_cutoffs``
    cutoffs are held out (out of time) for early stopping, calibration and
    the reported metrics; otherwise a stratified random ``validation_fraction``.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, max_depth, min_child_samples, subsample,
    colsample_bytree, reg_lambda, class_weight
        LightGBM parameters. The defaults grow small trees (7 leaves of at least 80
        rows): churn signals are few and smooth, and scoring happens later than the
        training cutoffs, so fine splits mostly learn noise that does not carry over.
    early_stopping_rounds : int, default 50
        Stop when validation log loss has not improved for this many rounds.
    calibration : {"sigmoid", "isotonic", "none"}, default "sigmoid"
        Calibration of the probabilities on the validation rows.
    validation_cutoffs : int, default 2
        Number of newest cutoffs held out.
    validation_fraction : float, default 0.2
        Hold-out share when no cutoffs are given.
    random_state : int, default 0
        Seed for LightGBM and the split; runs are deterministic.
    n_jobs : int or None, default None
        Threads of LightGBM and of the compiled TreeSHAP. ``None`` (or ``-1``): the cores
        available to the process (its CPU affinity and cgroup quota), counted when used.
    tune : {"off", "auto"}, default "off"
        ``auto``: choose tree size, minimum leaf size, learning rate and subsampling by
        :func:`~churnkit.model.search_capacity` on the training part (never the
        validation rows) before the final fit; the parameters above are then the
        starting point only.
    tune_budget_seconds : float, default 20
        Budget of that search, in seconds of a 2-core reference machine (work counted at
        a fixed speed, so that the model does not depend on the machine's load).
    refit : bool, default False
        After early stopping and calibration on the validation rows, grow the chosen
        number of trees again on every row (training and validation).
    final_learning_rate : float, optional
        Learning rate of the final fit, when lower than the chosen one: the capacity
        search compares tree shapes at its candidates' faster rates, and the model is then
        grown more slowly (more, smaller steps, with the number of trees found by early
        stopping), which ranks a little better at the cost of more trees.
    final_budget_seconds : float, default 300
        Work allowed to the final fit (the validation fit and the refit), counted like
        ``tune_budget_seconds``: the rate is lowered toward ``final_learning_rate`` only
        as far as this budget allows (see :func:`~churnkit.model.final_rate`), so large
        training sets are grown at the chosen rate and small ones at the final one.

    Attributes
    ----------
    booster_ : lightgbm.Booster
    feature_names_in_ : ndarray of str
        The training columns; ``x0, x1, ...`` when ``X`` was a numeric array.
    n_features_in_ : int
    classes_ : ndarray
        Always ``[False, True]``: labels are bool or 0/1, and column 1 of
        :meth:`predict_proba` is the churn probability.
    metrics_ : dict
        Validation metrics (``roc_auc``, ``pr_auc``, ``log_loss``, ``brier``...).
    version_ : str
        Content hash of the trained model, written into every score.
    tuning_ : dict
        The settings used, the number of trees, and what the capacity search tried
        and how long it took (``tune="auto"``).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from churnkit.model import ChurnModel
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"usage__count__30d": rng.poisson(4, 3000).astype("float32"),
    ...                   "tenure_days": rng.uniform(0, 1000, 3000).astype("float32")})
    >>> y = (rng.uniform(size=3000) < 0.6 / (1 + X["usage__count__30d"])).astype(int)
    >>> model = ChurnModel(n_estimators=200).fit(X, y)
    >>> p = model.predict_proba(X)[:, 1]
    >>> bool(p[X["usage__count__30d"] == 0].mean() > 3 * p[X["usage__count__30d"] >= 6].mean())
    True
    >>> bool(model.metrics_["roc_auc"] > 0.6)
    True
    >>> contributions = model.explain(X.head(2))  # exact TreeSHAP, log-odds
    >>> contributions.columns.tolist()
    ['usage__count__30d', 'tenure_days', '(expected)']
    """

    def __init__(
        self,
        *,
        n_estimators: int = 1000,
        learning_rate: float = 0.05,
        num_leaves: int = 7,
        max_depth: int = -1,
        min_child_samples: int = 80,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        class_weight: str | None = None,
        early_stopping_rounds: int = 50,
        calibration: str = "sigmoid",
        validation_cutoffs: int = 2,
        validation_fraction: float = 0.2,
        random_state: int = 0,
        n_jobs: int | None = None,
        tune: str = "off",
        tune_budget_seconds: float = 20.0,
        refit: bool = False,
        final_learning_rate: float | None = None,
        final_budget_seconds: float = 300.0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.class_weight = class_weight
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.validation_cutoffs = validation_cutoffs
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.tune = tune
        self.tune_budget_seconds = tune_budget_seconds
        self.refit = refit
        self.final_learning_rate = final_learning_rate
        self.final_budget_seconds = final_budget_seconds

    def _threads(self) -> int:
        """Threads to use: ``n_jobs`` when set, else the cores available to this process."""
        return resolve_threads(self.n_jobs)

    def _split(
        self, y: np.ndarray, cutoffs: pd.Series | None, horizon_days: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if cutoffs is not None:
            train, valid = out_of_time_split(
                cutoffs, validation_cutoffs=self.validation_cutoffs, horizon_days=horizon_days)
            return np.flatnonzero(train), np.flatnonzero(valid)
        idx = np.arange(len(y))
        stratify = y if np.bincount(y.astype(int)).min() >= 2 else None
        tr, va = train_test_split(
            idx, test_size=self.validation_fraction, random_state=self.random_state,
            stratify=stratify,
        )
        return np.sort(tr), np.sort(va)

    def fit(
        self, X: pd.DataFrame, y: Any, *, cutoffs: pd.Series | None = None,
        horizon_days: int | None = None, sample_weight: Any = None, refit_weight: Any = None,
    ) -> ChurnModel:
        """Train on the older rows, early-stop and calibrate on the held-out ones.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Features (numeric and ``category`` columns). A numeric array is taken as a
            DataFrame with columns ``x0, x1, ...``; sparse input is not supported.
        y : array-like of bool or 0/1
            Churn labels (``True``/1 = churned).
        cutoffs : Series of datetime, optional
            Each row's cutoff; enables out-of-time validation.
        horizon_days : int, optional
            The label horizon. With it, training rows whose horizon runs past the first
            validation cutoff are left out, so no training label looks at the
            validation period.
        sample_weight : array-like of float, optional
            Row weights, e.g. the inverse sampling rates of
            :func:`~churnkit.model.sample_training_rows`: they weigh the training rows
            (and the refit), so probabilities keep the scale of the unsampled data.
            The validation rows should be unsampled (weight 1): early stopping,
            calibration and metrics treat them as they are.
        refit_weight : array-like of float, optional
            Row weights of the refit (``refit=True``) instead of ``sample_weight``;
            rows weighted 0 are left out of it (e.g. validation non-churners sampled
            like the training ones, so that the refit of a sampled fit stays small).
        """
        X = feature_frame(X, "ChurnModel")
        y = churn_labels(y, "ChurnModel")
        if len(y) != len(X):
            raise SchemaError(f"X has {len(X)} rows but y has {len(y)}.")
        if y.all() or not y.any():
            which = "churners" if not y.any() else "non-churners"
            raise LabelError(
                f"The training labels contain no {which} ({len(y)} rows, all "
                f"{'churned' if y.all() else 'retained'}): y holds one class only. A model needs "
                "both: widen the cutoff schedule or the horizon, or check the churn definition."
            )
        sw = valid_weights(sample_weight, y, name="sample_weight")
        rw = valid_weights(refit_weight, y, name="refit_weight", zero=True)
        if self.final_learning_rate is not None and not 0 < self.final_learning_rate <= 1:
            raise ValueError(
                "The 'final_learning_rate' parameter of ChurnModel must be in (0, 1] or None. "
                f"Got {self.final_learning_rate!r} instead."
            )
        tr, va = self._split(y, cutoffs, horizon_days)
        if len(np.unique(y[tr])) < 2 or len(np.unique(y[va])) < 2:
            raise LabelError(
                f"The training part ({len(tr)} rows, {int(y[tr].sum())} churners) or the "
                f"validation part ({len(va)} rows, {int(y[va].sum())} churners) has a single "
                "class. Add cutoffs or lengthen the horizon."
            )
        settings = {"num_leaves": self.num_leaves, "min_child_samples": self.min_child_samples,
                    "learning_rate": self.learning_rate, "subsample": self.subsample,
                    "colsample_bytree": self.colsample_bytree}
        weight = None if sw is None else sw[tr]
        if self.class_weight == "balanced":
            weight = class_balance(y[tr], weight)
        elif self.class_weight is not None:
            raise ValueError(
                "The 'class_weight' parameter of ChurnModel must be 'balanced' or None. "
                f"Got {self.class_weight!r} instead."
            )
        self.tuning_: dict[str, Any] = {"tune": self.tune}
        if self.tune == "auto":
            # the search sees the training part only: never the validation rows
            inner_cut = None if cutoffs is None else pd.Series(cutoffs).iloc[tr].reset_index(
                drop=True)
            found = search_capacity(
                take_rows(X, tr), y[tr], cutoffs=inner_cut, horizon_days=horizon_days,
                budget_seconds=self.tune_budget_seconds, patience=self.early_stopping_rounds,
                random_state=self.random_state, n_jobs=self._threads(), reg_lambda=self.reg_lambda,
                weight=weight)
            settings.update(found["settings"])
            self.tuning_.update(found)
        elif self.tune != "off":
            raise ValueError(
                f"The 'tune' parameter of ChurnModel must be 'auto' or 'off'. Got {self.tune!r} "
                "instead."
            )
        rate = settings["learning_rate"]
        if self.final_learning_rate is not None:
            trees = self.tuning_.get("trees") or self.n_estimators  # the cap: nothing searched
            settings["learning_rate"] = final_rate(
                rate, self.final_learning_rate, trees=trees, patience=self.early_stopping_rounds,
                train_rows=len(tr), features=X.shape[1],
                all_rows=(len(y) if rw is None else int((rw > 0).sum())) if self.refit else 0,
                sampled=settings["colsample_bytree"] * settings["subsample"],
                budget_seconds=self.final_budget_seconds)
        params = lgb_params(settings, random_state=self.random_state, n_jobs=self._threads(),
                            reg_lambda=self.reg_lambda, max_depth=self.max_depth)
        train_set = lgb.Dataset(take_rows(X, tr), y[tr].astype(int), weight=weight, free_raw_data=False)
        valid_set = lgb.Dataset(take_rows(X, va), y[va].astype(int), reference=train_set,
                                weight=None if sw is None else sw[va])
        # a slower rate needs proportionally more rounds, and more patience, to stop well
        slow = rate / settings["learning_rate"]
        booster = train_until_stale(params, train_set, valid_set,
                                    rounds=max(self.n_estimators, round(self.n_estimators * slow)),
                                    patience=round(self.early_stopping_rounds * slow))
        best = int(booster.best_iteration)
        categories = {c: list(X[c].cat.categories) for c in X.columns
                      if isinstance(X[c].dtype, pd.CategoricalDtype)}
        trimmed = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
        raw_valid = np.asarray(trimmed.predict(take_rows(X, va), num_threads=self._threads()))
        final = trimmed
        if self.refit:
            # the validation rows chose the number of trees and fit the calibration; the
            # trees themselves are then grown again on every row given
            w_all = sw if rw is None else rw
            if self.class_weight == "balanced":
                w_all = class_balance(y, w_all)
            kept = None if w_all is None or w_all.all() else np.flatnonzero(w_all)
            n_all = len(y) if kept is None else len(kept)
            trees = max(1, round(best * min(n_all / len(tr), 1.25)))
            del train_set, valid_set
            if kept is not None and w_all is not None:
                w_all = w_all[kept]
            all_rows = X if kept is None else X.iloc[kept]
            y_all = y if kept is None else y[kept]
            final = lgb.train(params, lgb.Dataset(all_rows, y_all.astype(int), weight=w_all),
                              num_boost_round=trees)
            final = lgb.Booster(model_str=final.model_to_string())
        self.tuning_.update(trees=int(final.num_trees()), validation_trees=best,
                            refit=bool(self.refit), **{f"final_{k}": v for k, v in settings.items()})
        return self._adopt(final, feature_names=list(X.columns), categories=categories,
                           raw_valid=raw_valid, y_valid=y[va], n_train=len(tr),
                           best_iteration=best)

    @classmethod
    def from_booster(
        cls,
        booster: lgb.Booster,
        *,
        raw_valid: Any,
        y_valid: Any,
        n_train: int,
        feature_names: list[str] | None = None,
        categories: dict[str, list[Any]] | None = None,
        **params: Any,
    ) -> ChurnModel:
        """A fitted model from a booster trained elsewhere (e.g. by ``lightgbm.dask``).

        The booster is taken as it is (trim it to the chosen number of trees first);
        the calibration and the validation metrics are fitted on its raw
        probabilities of the validation rows, exactly as :meth:`fit` does.

        Parameters
        ----------
        booster : lightgbm.Booster
            The trained trees.
        raw_valid : array-like of float
            The booster's probabilities of the validation rows.
        y_valid : array-like of bool
            Their labels.
        n_train : int
            Training rows (reported in ``metrics_``).
        feature_names : list of str, optional
            The training frame's column names (default: the booster's, which LightGBM
            may have sanitised).
        categories : dict of str to list, optional
            Categories of each ``category`` feature, as in training.
        **params
            :class:`ChurnModel` parameters (``calibration``, ``n_jobs``...).

        Returns
        -------
        ChurnModel
        """
        return cls(**params)._adopt(
            booster, feature_names=feature_names or booster.feature_name(),
            categories=categories or {}, raw_valid=np.asarray(raw_valid, dtype=float),
            y_valid=np.asarray(y_valid).astype(bool), n_train=n_train)

    def _adopt(self, booster: lgb.Booster, *, feature_names: list[str],
               categories: dict[str, list[Any]],
               raw_valid: np.ndarray, y_valid: np.ndarray, n_train: int,
               best_iteration: int | None = None) -> ChurnModel:
        """Take a trained booster: calibrate it and measure it on the validation rows.

        ``raw_valid`` are the validation probabilities of the booster that chose
        ``best_iteration`` trees (the same booster unless it was refitted on all rows).
        """
        check_dump(booster, feature_names)
        self.booster_ = booster
        self.best_iteration_ = int(best_iteration or booster.num_trees())
        self.feature_names_in_ = np.asarray(feature_names, dtype=object)
        self.categories_ = categories
        self.classes_ = np.array([False, True])
        self.calibrator_ = self._calibrate(raw_valid, y_valid)
        self.metrics_ = classification_metrics(y_valid, self._apply_calibration(raw_valid))
        self.metrics_["raw_roc_auc"] = classification_metrics(y_valid, raw_valid)["roc_auc"]
        self.metrics_.update(n_train=float(n_train), best_iteration=float(self.best_iteration_))
        self.version_ = hashlib.sha256(booster.model_to_string().encode()).hexdigest()[:12]
        return self

    def _calibrate(self, p: np.ndarray, y: np.ndarray) -> Any:
        return fit_calibration(self.calibration, p, y)

    def _apply_calibration(self, p: np.ndarray) -> np.ndarray:
        return apply_calibration(self.calibrator_, p)

    @property
    def n_features_in_(self) -> int:
        """Number of features seen in :meth:`fit` (those of ``feature_names_in_``)."""
        return len(self.feature_names_in_)

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # LightGBM's missing values
        tags.classifier_tags.multi_class = False
        return tags

    def _check(self, X: Any) -> pd.DataFrame:
        if not hasattr(self, "booster_"):
            raise NotFittedError("No booster found. Call 'fit' (or churnkit.load_model) first.")
        if not isinstance(X, pd.DataFrame):
            names = list(self.feature_names_in_)
            if self.categories_:
                raise SchemaError(
                    f"ChurnModel was trained with category columns (e.g. "
                    f"{list(self.categories_)[:3]}): pass X as a DataFrame with its columns.")
            X = feature_frame(X, "ChurnModel", names=names)
            if (all(isinstance(n, str) for n in names)
                    and names != [f"x{i}" for i in range(len(names))]):
                warnings.warn("X does not have valid feature names, but ChurnModel was fitted "
                              "with feature names: its columns are taken in the training order.",
                              UserWarning, stacklevel=3)
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise SchemaError(
                f"{len(missing)} feature(s) the model was trained with are missing, e.g. "
                f"{missing[:5]}. Score with the same tables and columns as in training."
            )
        names = list(self.feature_names_in_)
        return X if list(X.columns) == names else X[names]  # no copy when already in order

    def _raw_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster_.predict(X, num_threads=self._threads()))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probabilities, shape ``(n, 2)`` (column 1 = churn)."""
        X = self._check(X)
        p = self._apply_calibration(self._raw_proba(X))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """``True`` where the churn probability is at least 0.5."""
        return self.predict_proba(X)[:, 1] >= 0.5

    def explain(self, X: pd.DataFrame, *, method: str = "fast") -> pd.DataFrame:
        """Exact TreeSHAP contributions (log-odds) per feature, plus ``(expected)``.

        Rows sum to the model's raw log-odds score before calibration.

        Parameters
        ----------
        X : DataFrame
            Features, as from the model's feature set.
        method : {"fast", "lightgbm"}, default "fast"
            ``fast``: churnkit's compiled TreeSHAP (:class:`churnkit.model.TreeExplainer`),
            about 100x faster; ``lightgbm``: ``Booster.predict(pred_contrib=True)``.
            Both are exact and agree to about 1e-12.
        """
        X = self._check(X)
        contrib: Any
        if method == "fast":
            contrib = self._tree_explainer().shap_values(X)
        elif method == "lightgbm":
            contrib = self.booster_.predict(X, pred_contrib=True, num_threads=self._threads())
        else:
            raise ValueError(
                "The 'method' parameter of ChurnModel.explain must be 'fast' or 'lightgbm'. "
                f"Got {method!r} instead."
            )
        return pd.DataFrame(
            contrib, index=X.index, columns=[*self.feature_names_in_, "(expected)"]
        )

    def explain_proba(self, X: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Exact TreeSHAP contributions and calibrated churn probabilities, in one pass.

        The probabilities come from the rows' sums of the contributions, which
        are the model's raw log-odds scores (equal to LightGBM's to about
        1e-12): every probability is exactly what its contributions add up
        to, and the trees are walked once instead of twice.

        Returns
        -------
        contributions : DataFrame
            As from :meth:`explain`.
        proba : ndarray of shape (len(X),)
            As column 1 of :meth:`predict_proba`.
        """
        contrib = self.explain(X)
        raw = contrib.to_numpy().sum(axis=1)
        return contrib, self._apply_calibration(expit(raw))

    def _tree_explainer(self) -> TreeExplainer:
        explainer: TreeExplainer | None = getattr(self, "_explainer", None)
        if explainer is None:
            explainer = self._explainer = TreeExplainer(self.booster_, n_jobs=self._threads())
        return explainer

    def explain_players(
        self, X: pd.DataFrame, players: np.ndarray, n_players: int | None = None
    ) -> np.ndarray:
        """Exact Shapley values (log-odds) with groups of features as the players.

        See :meth:`churnkit.model.TreeExplainer.player_shap_values`: the
        interactions within a group are credited to the group whole, so a
        group of many correlated features does not outweigh a group with one
        strong feature by sheer number.

        Parameters
        ----------
        X : DataFrame
            Features, as from the model's feature set.
        players : ndarray of int, shape (n_features,) or (len(X), n_features)
            The player of each feature (in ``feature_names_in_`` order), for
            all rows or row by row.
        n_players : int, optional
            Number of players; default ``players.max() + 1``.

        Returns
        -------
        ndarray of shape (len(X), n_players + 1)
            One column per player, then the expected value; rows sum to the
            raw log-odds score.
        """
        return self._tree_explainer().player_shap_values(self._check(X), players, n_players)

    def feature_importance(self) -> pd.Series:
        """LightGBM gain importance per feature, descending."""
        if not hasattr(self, "booster_"):
            raise NotFittedError("No booster found. Call 'fit' first.")
        gain = self.booster_.feature_importance("gain")
        return pd.Series(gain, index=self.feature_names_in_).sort_values(ascending=False)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_explainer", None)  # rebuilt on first use
        return state
