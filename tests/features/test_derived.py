"""Tenure-normalised features: hand-computed values, point in time, contract, reasons."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from churnkit import SchemaError
from churnkit.config import config_from_dict
from churnkit.data import load_dataset
from churnkit.exceptions import NotFittedError
from churnkit.explain import feature_reasons, load_reasons
from churnkit.features import DerivedFeatures, FeatureSet

CUTOFF = pd.Timestamp("2024-06-01")


def _tables(extra: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame({
        "id": ["a", "b", "c", "d"],
        "start": ["2024-01-01", "2023-01-01", "2024-05-20", "2024-05-22"],
    })
    usage = pd.DataFrame({
        "id": ["a", "a", "a", "b", "b", "d"],
        "day": pd.to_datetime(["2024-03-01", "2024-05-15", "2024-05-25",
                               "2023-02-01", "2024-04-01", "2024-05-27"]),
        "minutes": [10.0, 20.0, 30.0, 5.0, 7.0, 3.0],
    })
    if extra is not None:
        usage = pd.concat([usage, extra], ignore_index=True)
    return {"customers": customers, "usage": usage}


def _dataset(tables: dict[str, pd.DataFrame]):
    raw = {
        "data": {
            "customers": {"customer_id": "id", "signup_date": "start"},
            "events": {"usage": {"kind": "usage", "customer_id": "id", "timestamp": "day",
                                 "columns": {"minutes": "numeric"}}},
            "end": "2025-01-01",
        },
        "labels": {"definition": "inactivity", "cutoffs": [str(CUTOFF.date())]},
    }
    return load_dataset(config_from_dict(raw), tables)


def _spine() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "cutoff": CUTOFF})


@pytest.fixture
def built() -> tuple[FeatureSet, pd.DataFrame]:
    ds = _dataset(_tables())
    fs = FeatureSet(windows=[30, 90]).fit(ds, _spine())
    return fs, fs.transform(ds, _spine())


def test_values_match_a_hand_computation(built):
    _, X = built
    X = X.set_axis(["a", "b", "c", "d"])
    # ages at the cutoff (days since signup): a 152, b 517, c 12, d 10
    rate30 = X["usage__count__monthly__30d"]
    rate90 = X["usage__count__monthly__90d"]
    # a: 2 events in the last 30 and in the last 90 days (2024-03-01 is 92 days back)
    assert rate30["a"] == pytest.approx(2.0)
    assert rate90["a"] == pytest.approx(2 / 90 * 30)
    assert X.loc["a", "usage__minutes__monthly__90d"] == pytest.approx(50 / 90 * 30, rel=1e-6)
    assert X.loc["a", "usage__days_since_last__tenure_share"] == pytest.approx(7 / 152, rel=1e-6)
    # b: nothing in the last 30 days, one event 61 days back
    assert rate30["b"] == 0
    assert rate90["b"] == pytest.approx(1 / 90 * 30)
    assert X.loc["b", "usage__days_since_last__tenure_share"] == pytest.approx(61 / 517, rel=1e-6)
    # c: no event at all: rates zero, recency share missing (no last event)
    assert rate30["c"] == 0
    assert rate90["c"] == 0
    assert np.isnan(X.loc["c", "usage__days_since_last__tenure_share"])
    # d: 10 days old, one event: a rate over the 10 days it existed, not over the window
    assert rate30["d"] == pytest.approx(3.0)
    assert rate90["d"] == pytest.approx(3.0)
    assert X.loc["d", "usage__minutes__monthly__30d"] == pytest.approx(9.0)
    assert X.loc["d", "usage__days_since_last__tenure_share"] == pytest.approx(0.5)
    assert (X.filter(like="monthly").dtypes == np.float32).all()


def test_relative_changes_match_a_hand_computation(built):
    _, X = built
    X = X.set_axis(["a", "b", "c", "d"])
    change30, change90 = X["usage__minutes__change_ratio__30d"], X["usage__minutes__change_ratio__90d"]
    trend30, trend90 = X["usage__minutes__trend_ratio__30d"], X["usage__minutes__trend_ratio__90d"]
    # a: 20 then 30 minutes in the last 30 (and 90) days: up by half of the first value;
    # 25 minutes per event in the last 90 days (20 and 30) against 10 in the 90 before
    # (one event of 10): the mean per event up 1.5 times the 10
    assert change30["a"] == pytest.approx(0.5)
    assert change90["a"] == pytest.approx(0.5)
    assert trend90["a"] == pytest.approx(1.5)
    # nothing in the 30 days before the last 30: no earlier total to compare with
    assert np.isnan(trend30["a"])
    # b: a single event in the last 90 days: no change; no event in the last 30 days
    assert change90["b"] == 0
    assert np.isnan(change30["b"])
    # c: no events: missing, never 0 or infinite
    assert X.loc["c", X.columns.str.contains("_ratio__")].isna().all()
    assert np.isfinite(X.filter(like="_ratio__").to_numpy(dtype=float, na_value=0.0)).all()


def test_appending_events_at_or_after_the_cutoff_changes_nothing(built):
    """Point in time: derived values only read features of events before the cutoff."""
    fs, before = built
    late = pd.DataFrame({
        "id": ["a", "b", "c", "d", "a", "c"],
        "day": [CUTOFF, CUTOFF, CUTOFF + pd.Timedelta(hours=1), pd.Timestamp("2024-07-01"),
                pd.Timestamp("2024-12-01"), pd.Timestamp("2024-09-09")],
        "minutes": [100.0, 100.0, 100.0, 100.0, 100.0, 100.0],
    })
    after = fs.transform(_dataset(_tables(late)), _spine())
    derived = [c for c in before if "monthly" in c or "tenure_share" in c or "_ratio__" in c]
    assert len(derived) == 9
    pd.testing.assert_frame_equal(before, after)


def test_feature_set_names_and_switch(built):
    fs, X = built
    assert list(X.columns) == fs.feature_names_
    assert fs.feature_names_[-9:] == [
        "usage__days_since_last__tenure_share", "usage__count__monthly__30d",
        "usage__minutes__monthly__30d", "usage__count__monthly__90d",
        "usage__minutes__monthly__90d",
        "usage__minutes__change_ratio__30d", "usage__minutes__trend_ratio__30d",
        "usage__minutes__change_ratio__90d", "usage__minutes__trend_ratio__90d",
    ]
    ds = _dataset(_tables())
    plain = FeatureSet(windows=[30, 90], derived=False).fit(ds, _spine())
    assert plain.feature_names_ == fs.feature_names_[:-9]
    pd.testing.assert_frame_equal(plain.transform(ds, _spine()), X[plain.feature_names_])
    saved = pickle.loads(pickle.dumps(fs))  # holds no table, computes the same
    pd.testing.assert_frame_equal(saved.transform(ds, _spine()), X)


def test_without_signup_dates_the_age_is_the_earliest_first_event():
    X = pd.DataFrame({
        "usage__count__90d": [3.0, 0.0],
        "usage__days_since_last": [4.0, np.nan],
        "usage__days_since_first": [20.0, np.nan],
        "contacts__count__90d": [1.0, 2.0],
        "contacts__days_since_last": [10.0, 50.0],
        "contacts__days_since_first": [60.0, 100.0],
        "contacts__topic=billing__count__90d": [1.0, 0.0],   # a category count: not a total
        "contacts__unresolved__count__90d": [1.0, 0.0],      # a boolean count: not a total
    })
    f = DerivedFeatures(tables=["usage", "contacts"], windows=[90]).fit(X)
    assert list(f.get_feature_names_out()) == [
        "usage__days_since_last__tenure_share", "usage__count__monthly__90d",
        "contacts__days_since_last__tenure_share", "contacts__count__monthly__90d",
    ]
    out = f.transform(X)
    # first row: the customer has existed for 60 days (its first contact)
    assert out["usage__count__monthly__90d"].tolist() == pytest.approx([1.5, 0.0])
    assert out["usage__days_since_last__tenure_share"].iloc[0] == pytest.approx(4 / 60)
    assert out["contacts__count__monthly__90d"].tolist() == pytest.approx([0.5, 2 / 90 * 30])
    assert out["contacts__days_since_last__tenure_share"].tolist() == pytest.approx([1 / 6, 0.5])
    assert out.index.equals(X.index)


def test_nothing_to_derive_without_any_age():
    X = pd.DataFrame({"usage__count__90d": [1.0], "static__region": ["north"]})
    f = DerivedFeatures(tables=["usage"], windows=[90]).fit(X)
    assert len(f.get_feature_names_out()) == 0
    assert f.transform(X).shape == (1, 0)


def test_errors_and_sklearn_contract():
    X = pd.DataFrame({"static__tenure_days": [10.0], "usage__count__30d": [1.0]})
    with pytest.raises(NotFittedError, match="This DerivedFeatures is not fitted yet"):
        DerivedFeatures(tables=["usage"]).transform(X)
    with pytest.raises(SchemaError, match="expects X as a DataFrame"):
        DerivedFeatures(tables=["usage"]).fit(X.to_numpy())
    with pytest.raises(ValueError, match="'windows' parameter of DerivedFeatures"):
        DerivedFeatures(tables=["usage"], windows=[0]).fit(X)
    f = DerivedFeatures(tables=["usage"], windows=[30]).fit(X)
    with pytest.raises(SchemaError, match=r"lacks 1 feature\(s\).*'usage__count__30d'"):
        f.transform(X.drop(columns="usage__count__30d"))
    assert clone(f).get_params() == {"tables": ["usage"], "windows": [30]}
    assert f.transform(X)["usage__count__monthly__30d"].iloc[0] == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("feature", "young", "old"),
    [
        ("usage__logins__monthly__90d", "early_life", "falling_usage"),
        ("transactions__amount__monthly__90d", "early_life", "falling_usage"),
        ("transactions__days_since_last__tenure_share", "early_life", "falling_usage"),
        ("contacts__count__monthly__30d", "early_life", "fading_relationship"),
        ("contacts__days_since_last__tenure_share", "early_life", "fading_relationship"),
        ("feedback__count__monthly__365d", "low_satisfaction", "low_satisfaction"),
        ("usage__days_since_last__tenure_share", "early_life", "falling_usage"),
    ],
)
def test_derived_features_of_the_sample_crm_belong_to_reason_groups(feature, young, old):
    X = pd.DataFrame({"static__tenure_days": [60.0, 900.0], feature: [1.0, 1.0]})
    owner = feature_reasons(X, load_reasons())
    assert owner[feature].tolist() == [young, old]


def test_the_config_switch_reaches_the_feature_set(built):
    from churnkit.config import FeatureConfig
    from churnkit.features import feature_set

    fs, _ = built
    ds = _dataset(_tables())
    off = feature_set(FeatureConfig(windows=[30, 90], derived=False)).fit(ds, _spine())
    on = feature_set(FeatureConfig(windows=[30, 90])).fit(ds, _spine())
    assert on.feature_names_ == fs.feature_names_
    assert off.feature_names_ == fs.feature_names_[:-9]
