"""scikit-learn's estimator checks on the feature transformers, with the expected failures listed.

Every check that feeds ``X`` as a bare numeric array fails by design: the event,
static and text transformers take the snapshot frame (``customer_id``,
``cutoff``) as ``X`` plus their table as a required keyword argument, and
:class:`DerivedFeatures` finds its inputs by feature name. Those properties are
tested on real frames further down instead (fit returns self, fit is idempotent,
parameters are untouched, pickling, row order and subsets, pandas output).
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from churnkit.exceptions import NotFittedError
from churnkit.features import DerivedFeatures, EventFeatures, StaticFeatures, TextFeatures

_SPINE = "X must be a (customer_id, cutoff) DataFrame and the table a keyword argument; the check"
_NAMED = "X must be a DataFrame of named churnkit features (e.g. usage__count__90d); the check"

# check name -> what the check feeds; the reason is the transformer's input contract + this
_FED = {
    "check_complex_data": "wants 'Complex data not supported' for a complex ndarray X",
    "check_dict_unchanged": "fits on a numeric ndarray",
    "check_dont_overwrite_parameters": "fits on a numeric ndarray",
    "check_dtype_object": "fits on an object ndarray",
    "check_estimator_sparse_array": "wants a sparse-specific message for a sparse X",
    "check_estimator_sparse_matrix": "wants a sparse-specific message for a sparse X",
    "check_estimator_sparse_tag": "fits on a sparse X and wants a sparse-specific message",
    "check_estimators_dtypes": "fits on numeric ndarrays of several dtypes",
    "check_estimators_empty_data_messages": "wants sklearn's wording for a (n, 0) ndarray",
    "check_estimators_fit_returns_self": "fits on a numeric ndarray",
    "check_estimators_overwrite_params": "fits on a numeric ndarray",
    "check_estimators_pickle": "fits on a numeric ndarray",
    "check_f_contiguous_array_estimator": "fits on an F-ordered ndarray",
    "check_fit2d_1feature": "wants sklearn's '1 feature(s)' wording for a one-column ndarray",
    "check_fit2d_1sample": "wants sklearn's '1 sample' wording for a one-row ndarray",
    "check_fit2d_predict1d": "fits on a numeric ndarray",
    "check_fit_check_is_fitted": "fits on a numeric ndarray",
    "check_fit_idempotent": "fits on a numeric ndarray",
    "check_fit_score_takes_y": "fits on a numeric ndarray",
    "check_methods_sample_order_invariance": "fits on a numeric ndarray",
    "check_methods_subset_invariance": "fits on a numeric ndarray",
    "check_n_features_in": "fits on a numeric ndarray",
    "check_n_features_in_after_fitting": "fits on a numeric ndarray",
    "check_pipeline_consistency": "fits on a numeric ndarray",
    "check_positive_only_tag_during_fit": "fits on a numeric ndarray",
    "check_readonly_memmap_input": "fits on a read-only memmap array",
    "check_transformer_data_not_an_array": "fits on an array-like that is no DataFrame",
    "check_transformer_general": "fits on a numeric ndarray (and a memmap)",
}
_SPINE_ONLY = {
    "check_estimators_nan_inf": "wants a NaN/inf message for a numeric ndarray (the spine holds ids "
                                "and dates, no floats)",
}
_NAMED_ONLY = {
    "check_transformer_preserve_dtypes": "fits on a float32 ndarray",
}


def _expected_failed_checks(estimator: BaseEstimator) -> dict[str, str]:
    if isinstance(estimator, DerivedFeatures):
        return {name: f"{_NAMED} {fed}" for name, fed in {**_FED, **_NAMED_ONLY}.items()}
    return {name: f"{_SPINE} {fed}" for name, fed in {**_FED, **_SPINE_ONLY}.items()}


ESTIMATORS = [EventFeatures(), StaticFeatures(), TextFeatures(), DerivedFeatures(tables=["usage"])]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_transformer(estimator, check):
    check(estimator)


# -- the same contract on the inputs the transformers are made for ------------------------------


def _tables() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n = 300
    ids = [f"c{i}" for i in rng.integers(0, 30, n)]
    events = pd.DataFrame({
        "customer_id": ids,
        "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
        "topic": rng.choice(["billing", "tech", "other"], n),
        "minutes": rng.gamma(2, 5, n),
        "note": rng.choice(["never arrived, refund", "great service thanks", "item broken",
                            "very happy with it", None], n),
    })
    customers = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(30)],
        "signup_date": pd.Timestamp("2023-06-01") + pd.to_timedelta(np.arange(30) * 7, "D"),
        "segment": rng.choice(["smb", "mid", "enterprise"], 30),
        "value": rng.gamma(2, 50, 30),
    })
    return {"events": events, "customers": customers}


def _spine() -> pd.DataFrame:
    return pd.DataFrame([(f"c{i}", pd.Timestamp(d)) for d in ("2024-06-01", "2024-09-01")
                         for i in range(32)], columns=["customer_id", "cutoff"])


def _cases() -> list[tuple[BaseEstimator, pd.DataFrame, dict[str, pd.DataFrame]]]:
    tables, spine = _tables(), _spine()
    ev, cust = {"events": tables["events"]}, {"customers": tables["customers"]}
    base = EventFeatures(table="usage", columns={"topic": "categorical", "minutes": "numeric"},
                         windows=[30, 90]).fit_transform(spine, events=tables["events"])
    static = StaticFeatures().fit_transform(spine, customers=tables["customers"])
    features = pd.concat([static, base], axis=1)
    return [
        (EventFeatures(table="usage", columns={"topic": "categorical", "minutes": "numeric"},
                       windows=[30, 90]), spine, ev),
        (StaticFeatures(), spine, cust),
        (TextFeatures(table="notes", columns=["note"], windows=[90], n_components=2), spine, ev),
        (DerivedFeatures(tables=["usage"], windows=[30, 90]), features, {}),
    ]


CASES = _cases()
IDS = [type(c[0]).__name__ for c in CASES]


@pytest.mark.parametrize(("estimator", "X", "tables"), CASES, ids=IDS)
def test_fit_returns_self_leaves_params_and_is_idempotent(estimator, X, tables):
    est = clone(estimator)
    params = est.get_params()
    assert est.fit(X, **tables) is est
    assert est.get_params() == params
    first = est.transform(X, **tables)
    again = est.fit(X, **tables).transform(X, **tables)
    pd.testing.assert_frame_equal(first, again)
    assert list(first.columns) == list(est.get_feature_names_out())
    assert first.index.equals(X.index)


@pytest.mark.parametrize(("estimator", "X", "tables"), CASES, ids=IDS)
def test_rows_are_independent_of_order_and_subsets(estimator, X, tables):
    est = clone(estimator).fit(X, **tables)
    full = est.transform(X, **tables)
    shuffled = X.sample(frac=1, random_state=1)
    pd.testing.assert_frame_equal(est.transform(shuffled, **tables), full.loc[shuffled.index])
    half = X.iloc[::2]
    pd.testing.assert_frame_equal(est.transform(half, **tables), full.loc[half.index])


@pytest.mark.parametrize(("estimator", "X", "tables"), CASES, ids=IDS)
def test_pickle_clone_repr_and_unfitted(estimator, X, tables):
    est = clone(estimator)
    with pytest.raises(NotFittedError, match=r"is not fitted yet\. Call 'fit' first\."):
        est.transform(X, **tables)
    est.fit(X, **tables)
    out = est.transform(X, **tables)
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(est)).transform(X, **tables), out)
    assert not any(isinstance(v, pd.DataFrame) for v in clone(est).get_params().values())
    assert type(est).__name__ in repr(est)
    assert type(est).__name__ in est._repr_html_()


@pytest.mark.parametrize(("estimator", "X", "tables"), CASES, ids=IDS)
def test_set_output_pandas_keeps_the_frame(estimator, X, tables):
    est = clone(estimator).set_output(transform="pandas")
    out = est.fit_transform(X, **tables)
    assert isinstance(out, pd.DataFrame)
    pd.testing.assert_frame_equal(out, est.transform(X, **tables))
