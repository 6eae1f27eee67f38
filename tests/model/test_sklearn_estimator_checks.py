"""scikit-learn's estimator checks on :class:`ChurnModel` and :class:`RuleBaseline`.

Both take a DataFrame of features (numeric and ``category`` columns) or a numeric
array (its columns named ``x0, x1, ...``), and churn labels as bool or 0/1: column 1
of ``predict_proba`` is always the churn probability, so labels such as ``1``/``2``
or ``"one"``/``"two"`` are refused with a clear ``ValueError`` rather than guessed.
Most expected failures below are checks that fit on such labels.

The checks' data sets are tiny (1 to 300 rows) and often separable. The model's
defaults (leaves of at least 80 rows, a learning rate of 0.05) cannot split them, and
on separable rows the validation log loss keeps improving, so early stopping would
let the trees grow toward the 16,000-tree cap; the instance checked below is the real
model with small leaves and a learning rate of 1, which stops within ~100 trees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from churnkit.evaluate import RuleBaseline
from churnkit.exceptions import ModelError, SchemaError
from churnkit.model import ChurnModel

_LABELS = ("churn labels must be bool or 0/1 (True/1 = churned) so that predict_proba[:, 1] is "
           "the churn probability; the check fits on")
_BOTH = {
    "check_classifiers_classes": f"{_LABELS} labels 'one'/'two' and -1/1",
    "check_classifier_data_not_an_array": f"{_LABELS} labels 1/2",
    "check_estimators_dtypes": f"{_LABELS} labels 1/2",
    "check_fit2d_1feature": f"{_LABELS} labels 1/2 (a 1-feature X itself is fine)",
}
_MODEL_ONLY = {
    "check_sample_weights_pandas_series": f"{_LABELS} labels 1/2",
    "check_sample_weights_not_an_array": f"{_LABELS} labels 1/2",
    "check_sample_weights_shape": f"{_LABELS} labels 1/2",
    "check_sample_weights_not_overwritten": f"{_LABELS} labels 1/2",
    "check_all_zero_sample_weights_error": "all-zero sample_weight is refused, but in churnkit's "
                                           "words ('must hold N finite positive weights')",
    "check_classifiers_one_label_sample_weights": "sample_weight must be positive (zero weights are "
                                                  "refused), so y cannot be trimmed to one class",
    "check_sample_weight_equivalence_on_dense_data": "zero weights are refused; and weights are not "
                                                     "repetitions: the 20% validation hold-out is drawn "
                                                     "over rows and min_child_samples counts rows",
    "check_class_weight_classifiers": "class_weight is 'balanced' or None (a saved model keeps plain "
                                      "parameters); the check passes a dict",
}

CHURN_MODEL = ChurnModel(n_estimators=20, learning_rate=1.0, min_child_samples=5,
                         early_stopping_rounds=5, n_jobs=1)


def _expected_failed_checks(estimator: BaseEstimator) -> dict[str, str]:
    return {**_BOTH, **_MODEL_ONLY} if isinstance(estimator, ChurnModel) else dict(_BOTH)


# The expected failures are those of the newest scikit-learn's check suite, which the full
# suite runs; older releases feed other inputs, so the minimum-versions job leaves it out.
@pytest.mark.slow
@parametrize_with_checks([CHURN_MODEL, RuleBaseline()],
                         expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_classifier(estimator, check):
    check(estimator)


# -- what the checks above do not pin down ------------------------------------------------------


def _data(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x0": rng.normal(size=n), "x1": rng.normal(size=n)})
    X.loc[X.index[::17], "x1"] = np.nan
    y = (X["x0"] + rng.normal(size=n) > 0.8).to_numpy()
    return X, y


def test_an_array_is_a_frame_with_columns_x0_x1():
    X, y = _data()
    from_frame = clone(CHURN_MODEL).fit(X, y)
    from_array = clone(CHURN_MODEL).fit(X.to_numpy(), y.astype(int))
    assert list(from_array.feature_names_in_) == ["x0", "x1"]
    assert from_array.n_features_in_ == 2
    np.testing.assert_array_equal(from_array.predict_proba(X.to_numpy()), from_frame.predict_proba(X))
    assert from_array.version_ == from_frame.version_
    with pytest.raises(SchemaError, match="X has 1 features, but ChurnModel is expecting 2"):
        from_array.predict(X.to_numpy()[:, :1])
    rule = RuleBaseline().fit(X.to_numpy(), y)
    np.testing.assert_array_equal(rule.predict_proba(X.to_numpy()),
                                  RuleBaseline().fit(X, y).predict_proba(X))


def test_inputs_a_classifier_refuses_say_why():
    X, y = _data()
    for est in (clone(CHURN_MODEL), RuleBaseline()):
        name = type(est).__name__
        with pytest.raises(SchemaError, match="does not support sparse input"):
            est.fit(sparse.csr_matrix(X.fillna(0).to_numpy()), y)
        with pytest.raises(ValueError, match="Unknown label type: continuous"):
            est.fit(X, X["x0"].to_numpy())
        with pytest.raises(ValueError, match="Only binary classification is supported"):
            est.fit(X, np.arange(len(X)) % 3)
        with pytest.raises(ValueError, match=r"bool or 0/1 .* the classes 'no', 'yes'"):
            est.fit(X, np.where(y, "yes", "no"))
        with pytest.raises(ValueError, match="Input y contains NaN"):
            est.fit(X, np.where(y, 1.0, np.nan))
        with pytest.raises(ValueError, match="one class only"):
            est.fit(X, np.ones(len(X), bool))
        with pytest.raises(ValueError, match=r"0 feature\(s\)"):
            est.fit(X[[]], y)
        with pytest.raises(NotFittedError):
            clone(est).predict_proba(X)
        assert name in repr(est)
    with pytest.raises(ModelError, match="one class only"):  # still churnkit's training error
        clone(CHURN_MODEL).fit(X, np.zeros(len(X), bool))


def test_an_array_cannot_stand_for_category_columns():
    X, y = _data()
    X["plan"] = pd.Categorical(np.where(y, "monthly", "yearly"))
    model = clone(CHURN_MODEL).fit(X, y)
    with pytest.raises(SchemaError, match="category columns"):
        model.predict_proba(X.drop(columns="plan").to_numpy())


def test_clone_of_a_fitted_rule_keeps_its_parameters_only():
    X, y = _data()
    X["usage__days_since_last"] = np.where(y, 40.0, 3.0) + np.arange(len(X)) % 7
    rule = RuleBaseline(recency_columns=["usage__days_since_last"], min_level_share=0.05).fit(X, y)
    assert rule.kind_ == "recency"
    twin = clone(rule)
    assert twin.get_params() == rule.get_params()
    assert twin.recency_columns == ["usage__days_since_last"]
    assert twin.recency_columns is not rule.recency_columns
    assert not [k for k in vars(twin) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        check_is_fitted(twin)
    with pytest.raises(NotFittedError):
        twin.predict_proba(X)
    np.testing.assert_array_equal(twin.fit(X, y).predict_proba(X), rule.predict_proba(X))


def test_rule_inside_a_pipeline():
    X, y = _data()
    pipe = Pipeline([("impute", SimpleImputer(strategy="median")), ("rule", RuleBaseline())])
    p = pipe.fit(X, y).predict_proba(X)
    alone = RuleBaseline().fit(SimpleImputer(strategy="median").fit_transform(X), y)
    np.testing.assert_array_equal(p, alone.predict_proba(SimpleImputer(strategy="median")
                                                          .fit(X).transform(X)))
    assert pipe.named_steps["rule"].feature_ == "x0"
    assert pipe.classes_.tolist() == [False, True]
    assert pipe.score(X, y) > 0.7
    named = clone(pipe).set_output(transform="pandas").fit(X.rename(columns={"x0": "tenure"}), y)
    assert named.named_steps["rule"].feature_ == "tenure"
