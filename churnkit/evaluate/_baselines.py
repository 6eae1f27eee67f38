"""Baselines a churn model must beat, fitted on the same folds as the model.

- :class:`RuleBaseline`: what a team without a model would do. In event mode,
  *days since the last activity* (higher = riskier). Otherwise, or when the
  features have no recency, a one-feature rule on the single column with the
  best training ROC-AUC (a categorical column scores each level by its training
  churn rate, e.g. the contract type; a numeric column is used as it is, in
  the direction that ranks best). A one-variable logistic fit turns the score
  into a probability, so log loss and Brier are comparable too.
- :func:`logistic_baseline`: a regularised logistic regression on the model's
  own features (median imputation, standardisation, one-hot categoricals).
- :func:`plain_lightgbm`: what a data scientist would write in ten lines: a
  ``lightgbm.LGBMClassifier`` with fixed, untuned settings (:data:`PLAIN_LIGHTGBM`)
  on the raw columns of a snapshot table (:func:`raw_columns`) or on churnkit's
  own features in event mode. It shows whether churnkit's pipeline adds or
  loses anything against that.
- :func:`fit_btyd_baseline`: for inactivity (non-contractual) labels, the "buy till you
  die" answer: a Pareto/NBD model fitted at each cutoff on the purchases before it ranks
  customers by the purchases it expects in the label horizon (fewer = riskier).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted

from churnkit._core import churn_labels, feature_frame
from churnkit.config import Config
from churnkit.data import Dataset
from churnkit.exceptions import SchemaError
from churnkit.features import BTYDFeatures

__all__ = ["PLAIN_LIGHTGBM", "RuleBaseline", "btyd_table", "fit_btyd_baseline", "logistic_baseline",
           "plain_lightgbm", "raw_columns"]

PLAIN_LIGHTGBM: dict[str, Any] = {
    "n_estimators": 300, "learning_rate": 0.03, "num_leaves": 31, "subsample": 0.8,
    "subsample_freq": 1, "colsample_bytree": 0.8,
}
"""The plain LightGBM baseline's settings: fixed, documented and never tuned (everything else
is LightGBM's default; the seed is the config's ``model.random_state``)."""

_MISSING = "(missing)"
_OTHER = "(other)"
_READ_CSV_NA = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
})
"""The strings ``pandas.read_csv`` reads as missing by default."""


def _is_categorical(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(s)


def _as_text(frame: pd.DataFrame) -> np.ndarray:
    """Categorical columns as object strings, missing as ``(missing)``."""
    return np.column_stack([
        frame[c].astype(object).where(frame[c].notna(), _MISSING).astype(str).to_numpy(dtype=object)
        for c in frame.columns
    ]) if frame.shape[1] else np.empty((len(frame), 0), dtype=object)


class RuleBaseline(ClassifierMixin, BaseEstimator):
    """A one-feature rule: recency of activity, or the best single column.

    Parameters
    ----------
    recency_columns : sequence of str, optional
        ``{table}__days_since_last`` columns of the activity tables. When any is
        present in ``X``, the rule scores each row by the days since its most
        recent activity (no activity at all = riskiest): over all these tables,
        or over the single table whose recency ranks the training rows best
        (tables with a fixed schedule, such as monthly usage summaries, say
        little about recency).
    min_level_share : float, default 0.01
        Categorical levels rarer than this share of training rows are pooled
        into ``(other)`` so that near-unique columns cannot win by memorising.

    Attributes
    ----------
    feature_ : str
        The column(s) the rule uses.
    feature_names_in_ : ndarray
        The training columns; ``x0, x1, ...`` when ``X`` was a numeric array.
    n_features_in_ : int
    classes_ : ndarray
        Always ``[False, True]``: labels are bool or 0/1 (``True`` = churned).
    description_ : str
        The rule in words.
    train_auc_ : float
        Its ROC-AUC on the training rows.
    """

    def __init__(self, *, recency_columns: Sequence[str] = (), min_level_share: float = 0.01
                 ) -> None:
        self.recency_columns = recency_columns
        self.min_level_share = min_level_share

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values score as the median (or riskiest)
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X: pd.DataFrame, y: Any) -> RuleBaseline:
        """Pick the rule's column on the training rows and fit the probability map.

        ``X`` is a DataFrame (numeric and categorical columns) or a numeric array,
        taken as a DataFrame with columns ``x0, x1, ...``; ``y`` holds churn labels,
        bool or 0/1.
        """
        X = feature_frame(X, "RuleBaseline")
        y = churn_labels(y, "RuleBaseline")
        if len(y) != len(X):
            raise SchemaError(f"X has {len(X)} rows but y has {len(y)}.")
        if y.all() or not y.any():
            raise ValueError(
                f"RuleBaseline needs churners and non-churners: y holds one class only "
                f"({len(y)} rows, all {'churned' if y.all() else 'retained'}).")
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        recency = [c for c in self.recency_columns if c in X.columns]
        if recency:
            self.kind_ = "recency"
            self._pick_recency(X, y, recency)
        else:
            self.kind_ = "column"
            self._pick(X, y)
        self.classes_ = np.array([False, True])
        score = self._score(X)
        self.train_auc_ = float(roc_auc_score(y, score)) if len(np.unique(y)) == 2 else np.nan
        self.logit_ = LogisticRegression().fit(self._standard(score, fit=True), y)
        return self

    def _pick_recency(self, X: pd.DataFrame, y: np.ndarray, recency: list[str]) -> None:
        """Days since the last activity: of all activity tables, or of the one ranking best."""
        days = X[recency].to_numpy(dtype=float)
        finite = days[np.isfinite(days)]
        self.fill_ = float(finite.max() + 1.0) if finite.size else 3650.0
        candidates = [recency] + ([[c] for c in recency] if len(recency) > 1 else [])
        best: tuple[float, list[str]] = (-1.0, recency)
        for cols in candidates:
            self.columns_ = cols
            score = self._score(X)
            two = len(np.unique(y)) == 2 and len(np.unique(score)) > 1
            auc = roc_auc_score(y, score) if two else 0.5
            if auc > best[0] + 1e-9:
                best = (auc, cols)
        self.columns_ = best[1]
        self.feature_ = ", ".join(self.columns_)
        tables = sorted({c.split("__")[0] for c in self.columns_})
        self.description_ = f"days since the last activity ({', '.join(tables)})"

    def _pick(self, X: pd.DataFrame, y: np.ndarray) -> None:
        best: tuple[float, str, Any] = (-1.0, "", None)
        for col in X.columns:
            s = X[col]
            if _is_categorical(s):
                rates = self._level_rates(s, y)
                score = self._map_levels(s, rates)
                info: Any = rates
            else:
                values = s.to_numpy(dtype=float)
                if not np.isfinite(values).any():
                    continue
                median = float(np.nanmedian(values))
                score = np.where(np.isfinite(values), values, median)
                info = median
            if len(np.unique(score)) < 2 or len(np.unique(y)) < 2:
                continue
            auc = roc_auc_score(y, score)
            sign = 1.0
            if not _is_categorical(s) and auc < 0.5:
                auc, sign = 1 - auc, -1.0
            if auc > best[0]:
                best = (auc, str(col), (info, sign))
        if best[2] is None:
            raise ValueError("No feature varies in the training rows; the rule has nothing to use.")
        self.feature_ = best[1]
        self.columns_ = [best[1]]
        info, self.sign_ = best[2]
        if isinstance(info, pd.Series):
            self.rates_ = info
            top = info.drop([_OTHER], errors="ignore").idxmax()
            self.description_ = f"churn rate by {best[1]} (riskiest: {top})"
        else:
            self.median_ = info
            self.description_ = f"{best[1]} ({'higher' if self.sign_ > 0 else 'lower'} = riskier)"

    def _level_rates(self, s: pd.Series, y: np.ndarray) -> pd.Series:
        text = pd.Series(_as_text(s.to_frame())[:, 0], index=s.index)
        counts = text.value_counts()
        rare = counts.index[counts < max(1.0, self.min_level_share * len(s))]
        text = text.where(~text.isin(rare), _OTHER)
        prior = y.mean()
        stats = pd.DataFrame({"level": text.to_numpy(), "y": y}).groupby("level")["y"].agg(
            ["sum", "count"])
        rates = (stats["sum"] + 10 * prior) / (stats["count"] + 10)  # shrunk towards the mean
        if _OTHER not in rates.index:
            rates[_OTHER] = prior
        return rates

    @staticmethod
    def _map_levels(s: pd.Series, rates: pd.Series) -> np.ndarray:
        text = pd.Series(_as_text(s.to_frame())[:, 0], index=s.index)
        return text.map(rates).fillna(rates[_OTHER]).to_numpy(dtype=float)

    def _score(self, X: pd.DataFrame) -> np.ndarray:
        if self.kind_ == "recency":
            days = X[self.columns_].to_numpy(dtype=float)
            days = np.where(np.isfinite(days), days, self.fill_)
            return np.log1p(np.maximum(days.min(axis=1), 0.0))
        s = X[self.feature_]
        if hasattr(self, "rates_"):
            return self._map_levels(s, self.rates_)
        values = s.to_numpy(dtype=float)
        return self.sign_ * np.where(np.isfinite(values), values, self.median_)

    def _standard(self, score: np.ndarray, *, fit: bool = False) -> np.ndarray:
        if fit:
            self.center_ = float(score.mean())
            self.scale_ = float(score.std()) or 1.0
        return ((score - self.center_) / self.scale_).reshape(-1, 1)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Churn probabilities ``(n, 2)`` from the rule's score (same ranking as the rule)."""
        check_is_fitted(self, "logit_")
        if not isinstance(X, pd.DataFrame):
            X = feature_frame(X, "RuleBaseline", names=list(self.feature_names_in_))
        score = self._score(X)
        p = self.logit_.predict_proba(self._standard(score))[:, 1]
        if self.logit_.coef_[0, 0] <= 0:  # keep the rule's ranking even if the fit disagrees
            p = expit((score - self.center_) / self.scale_)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """``True`` where the churn probability is at least 0.5."""
        return self.predict_proba(X)[:, 1] >= 0.5


def logistic_baseline(X: pd.DataFrame, *, C: float = 1.0, max_iter: int = 2000) -> Pipeline:
    """An unfitted logistic regression pipeline for the columns of ``X``.

    Numeric columns: median imputation (all-missing columns become 0) and
    standardisation; categorical columns: missing as its own level, one-hot
    encoding (levels under 1% of rows pooled, unseen levels ignored).
    """
    cat = [c for c in X.columns if _is_categorical(X[c])]
    num = [c for c in X.columns if c not in set(cat)]
    steps = []
    if num:
        steps.append(("num", Pipeline([
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]), num))
    if cat:
        steps.append(("cat", Pipeline([
            ("text", FunctionTransformer(_as_text, feature_names_out="one-to-one")),
            ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=0.01,
                                     sparse_output=False)),
        ]), cat))
    return Pipeline([
        ("prepare", ColumnTransformer(steps, remainder="drop")),
        ("logistic", LogisticRegression(C=C, max_iter=max_iter)),
    ])


def fit_logistic(X: pd.DataFrame, y: Any) -> tuple[Pipeline, bool]:
    """Fit :func:`logistic_baseline`; also say whether the solver converged."""
    model = logistic_baseline(X)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, np.asarray(y, dtype=bool))
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    for w in caught:  # anything else is not ours to hide
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return model, converged


def plain_lightgbm(*, random_state: int = 0, n_jobs: int = 2) -> LGBMClassifier:
    """An unfitted ``LGBMClassifier`` with the fixed :data:`PLAIN_LIGHTGBM` settings.

    ``category`` columns are split natively by LightGBM; runs are deterministic.

    Examples
    --------
    >>> plain_lightgbm(random_state=3).get_params()["num_leaves"]
    31
    """
    return LGBMClassifier(**PLAIN_LIGHTGBM, random_state=random_state, n_jobs=n_jobs, deterministic=True,
                          force_col_wise=True, verbose=-1)


def raw_columns(frame: pd.DataFrame, *, drop: Sequence[str] = ()) -> pd.DataFrame:
    """A table's columns typed as ``pandas.read_csv`` would, for :func:`plain_lightgbm`.

    A column whose every present value parses as a number becomes ``float``;
    any other column becomes ``category``. Blanks and the strings ``read_csv`` takes
    for missing by default (``NA``, ``null``, ``n/a``...) are missing. Columns in ``drop``
    (the id, the label, excluded columns) are left out. Nothing else is done:
    this is the input of a data scientist's own ten-line model.

    Examples
    --------
    >>> df = pd.DataFrame({"id": ["a", "b"], "n": ["1", "NA"], "plan": ["x", "y"]})
    >>> raw_columns(df, drop=["id"]).dtypes.astype(str).tolist()
    ['float64', 'category']
    """
    out: dict[str, Any] = {}
    for col in frame.columns:
        if col in set(drop):
            continue
        s = frame[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            out[col] = s.astype(float)
            continue
        text = s.astype("string").str.strip()
        text = text.where(~text.isin(_READ_CSV_NA))
        num = pd.to_numeric(text, errors="coerce")
        if num.notna().sum() == text.notna().sum():
            out[col] = num.astype(float)
        else:
            out[col] = text.astype(object).where(text.notna(), None).astype("category")
    return pd.DataFrame(out, index=frame.index)


def fit_plain_lightgbm(X_train: pd.DataFrame, y_train: Any, X_test: pd.DataFrame, *,
                       random_state: int = 0, n_jobs: int = 2) -> tuple[LGBMClassifier, np.ndarray]:
    """Fit :func:`plain_lightgbm` on the training rows and predict the test rows.

    Categorical levels come from the training rows only (a level first seen in
    the test rows counts as missing), so nothing about the test rows reaches the fit.
    """
    X_train, X_test = X_train.copy(), X_test.copy()
    for col in X_train.columns:
        if isinstance(X_train[col].dtype, pd.CategoricalDtype):
            train_text = X_train[col].astype("string")
            levels = sorted(str(v) for v in train_text.dropna().unique())
            X_train[col] = pd.Categorical(train_text, categories=levels)
            test_text = X_test[col].astype("string")
            test_text = test_text.where(test_text.isin(levels))  # unseen levels: missing
            X_test[col] = pd.Categorical(test_text, categories=levels)
    model = plain_lightgbm(random_state=random_state, n_jobs=n_jobs)
    model.fit(X_train, np.asarray(y_train, dtype=bool).astype(int))
    return model, np.asarray(model.predict_proba(X_test))[:, 1]


def btyd_table(config: Config, dataset: Dataset) -> str | None:
    """The purchase table of the BTYD baseline, or None where it does not apply.

    It applies to inactivity labels (non-contractual churn): the first activity table
    of kind ``transactions``, else the first activity table.
    """
    if dataset.label is not None or config.labels.definition != "inactivity":
        return None
    tables = [t for t in (config.labels.activity_tables or sorted(dataset.events))
              if t in dataset.events]
    purchases = [t for t in tables if dataset.specs[t].kind == "transactions"]
    chosen = purchases or tables
    return chosen[0] if chosen else None


def fit_btyd_baseline(dataset: Dataset, table: str, horizon_days: int, train: pd.DataFrame,
                      y_train: Any, test: pd.DataFrame) -> tuple[RuleBaseline, np.ndarray]:
    """The Pareto/NBD baseline: expected purchases in the horizon, fitted per cutoff.

    At every cutoff of ``train`` and ``test`` a Pareto/NBD model is fitted on the
    purchases of ``table`` strictly before it; a customer's score is the purchases it
    expects in the next ``horizon_days`` (none before the cutoff: the median). A
    one-variable logistic fit on the training rows maps the score to a probability
    without changing its ranking.

    Parameters
    ----------
    dataset : Dataset
        The validated tables.
    table : str
        The purchase table (see :func:`btyd_table`).
    horizon_days : int
        The label horizon.
    train, test : DataFrame
        Spines (``customer_id``, ``cutoff``) of the training and test rows.
    y_train : array-like
        Training labels.

    Returns
    -------
    (RuleBaseline, ndarray)
        The fitted rule on the expected purchases, and the test rows' churn probabilities.
    """
    both = pd.concat([train, test], ignore_index=True)
    features = BTYDFeatures(table=table, windows=[int(horizon_days)])
    X = features.fit_transform(both, events=dataset.events[table])
    col = f"{table}__btyd__expected_purchases__{int(horizon_days)}d"
    score = X[[col]].astype(float)
    rule = RuleBaseline().fit(score.iloc[:len(train)], y_train)
    rule.description_ = f"Pareto/NBD expected purchases in {int(horizon_days)} days ({table})"
    return rule, rule.predict_proba(score.iloc[len(train):])[:, 1]
