"""Drift measures, profile counts that add up over partitions, and make_crm's planted drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import churnkit as ck
from churnkit.config import MonitorConfig
from churnkit.exceptions import ConfigError
from churnkit.model import add_counts, profile_counts, training_profile
from churnkit.monitoring import SCORE, js_distance, psi, run_drift


def _frame(rng, n, shift=0.0):
    return pd.DataFrame({"a": rng.normal(shift, 1, n), "b": rng.exponential(1, n),
                         "c": pd.Categorical(rng.choice(["x", "y", "z"], n),
                                             categories=["x", "y", "z"])})


def test_psi_and_js_are_zero_for_equal_and_grow_with_a_shift():
    e = np.array([10, 20, 30, 40])
    assert psi(e, e * 3) == pytest.approx(0)
    assert js_distance(e, e) == pytest.approx(0)
    small, large = np.array([12, 20, 30, 38]), np.array([40, 30, 20, 10])
    assert 0 < psi(e, small) < psi(e, large)
    assert 0 < js_distance(e, small) < js_distance(e, large) <= 1


def test_partition_counts_add_up_to_the_whole():
    rng = np.random.default_rng(0)
    X = _frame(rng, 2000)
    prof = training_profile(X, rng.uniform(size=2000), bins=10)
    new = _frame(rng, 900, shift=0.5)
    new.loc[::7, "a"] = np.nan
    p = rng.uniform(size=900)
    whole = profile_counts(prof, new, p)
    parts = None
    for idx in np.array_split(np.arange(900), 4):
        parts = add_counts(parts, profile_counts(prof, new.iloc[idx], p[idx]))
    assert parts["score_sum"] == pytest.approx(whole.pop("score_sum"))
    parts.pop("score_sum")
    assert parts == whole
    assert whole["features"]["a"]["missing"] == len(new.loc[::7])
    assert sum(whole["features"]["a"]["counts"]) + whole["features"]["a"]["missing"] == 900


def test_unseen_categories_are_counted():
    rng = np.random.default_rng(1)
    prof = training_profile(_frame(rng, 500), rng.uniform(size=500))
    new = pd.DataFrame({"c": ["x", "w", "w", None]})
    got = profile_counts(prof, new, np.zeros(4))["features"]["c"]
    assert (got["counts"], got["unseen"], got["missing"]) == ([1, 0, 0], 2, 1)


def test_shifted_feature_is_flagged_and_ranked_first():
    rng = np.random.default_rng(2)
    X = _frame(rng, 5000)
    p = rng.uniform(size=5000)
    prof = training_profile(X, p)
    run = profile_counts(prof, _frame(rng, 3000, shift=1.0), rng.uniform(size=3000))
    same = profile_counts(prof, _frame(rng, 3000), rng.uniform(size=3000))
    imp = pd.Series({"a": 0.5, "b": 0.3, "c": 0.2})
    drift = run_drift(prof, run, importance=imp, settings=MonitorConfig(), against="training")
    assert drift.loc[0, "feature"] == "a"
    assert drift.loc[0, "level"] == "act"
    assert set(drift.loc[drift["feature"] != "a", "level"]) == {"ok"}
    quiet = run_drift(prof, same, importance=imp, settings=MonitorConfig(), against="training")
    assert set(quiet["level"]) == {"ok"}
    assert SCORE in set(quiet["feature"])


def test_unimportant_features_never_reach_act():
    rng = np.random.default_rng(3)
    prof = training_profile(_frame(rng, 3000), rng.uniform(size=3000))
    run = profile_counts(prof, _frame(rng, 3000, shift=2.0), rng.uniform(size=3000))
    drift = run_drift(prof, run, importance=pd.Series({"a": 0.001}),
                      settings=MonitorConfig(), against="training")
    assert drift.set_index("feature").loc["a", "level"] == "watch"


def test_make_crm_plants_drift_only_after_the_given_day():
    plain = ck.datasets.make_crm(300, random_state=0, months=12)
    drifted = ck.datasets.make_crm(300, random_state=0, months=12,
                                   shift_amounts_from="2024-07-01", amount_factor=1.5)
    before = (plain.transactions["timestamp"] < "2024-07-01").to_numpy()
    np.testing.assert_array_equal(plain.transactions["amount"][before],
                                  drifted.transactions["amount"][before])
    np.testing.assert_allclose(plain.transactions["amount"][~before] * 1.5,
                               drifted.transactions["amount"][~before])
    pd.testing.assert_frame_equal(plain.usage, drifted.usage)
    pd.testing.assert_frame_equal(plain.customers, drifted.customers)


@pytest.mark.slow
def test_make_crm_breaks_usage_as_a_cause_of_churn_after_the_given_month():
    plain = ck.datasets.make_crm(3000, random_state=0, months=24)
    broken = ck.datasets.make_crm(3000, random_state=0, months=24, break_from="2025-01-01")
    for name in ("usage", "contacts", "transactions"):
        a, b = getattr(plain, name), getattr(broken, name)
        before_a = a[a["timestamp"] < "2025-01-01"].reset_index(drop=True)
        before_b = b[b["timestamp"] < "2025-01-01"].reset_index(drop=True)
        pd.testing.assert_frame_equal(before_a, before_b)

    def usage_churn(crm, lo, hi):
        gt = crm.ground_truth
        when = (gt["churn_date"] >= lo) & (gt["churn_date"] < hi)
        return int((gt["cause"][when] == "falling_usage").sum()), int(when.sum())

    assert usage_churn(plain, "2025-02-01", "2026-01-01")[0] > 20
    assert usage_churn(broken, "2025-02-01", "2026-01-01")[0] <= 2
    plain_total, broken_total = usage_churn(plain, "2025-02-01", "2026-01-01")[1], usage_churn(
        broken, "2025-02-01", "2026-01-01")[1]
    assert abs(broken_total - plain_total) < 0.25 * plain_total  # about as much churn


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"shift_amounts_from": "not a date"}, "shift_amounts_from"),
    ({"amount_factor": 0}, "amount_factor"),
    ({"break_from": 3}, "break_from"),
    ({"break_cause": "usage"}, "break_cause"),
])
def test_make_crm_drift_parameters_are_checked(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ck.datasets.make_crm(50, random_state=0, months=3, **kwargs)


def test_monitor_thresholds_are_validated():
    with pytest.raises(ValueError, match="psi_act must be >= psi_watch"):
        MonitorConfig(psi_watch=0.3, psi_act=0.2)


def test_profile_counts_bin_like_a_binary_search(rng):
    # values on the edges, repeated values, infinities and NaN: each in the bin of a search
    edges = [-1.0, 0.0, 0.5, 2.0]
    values = np.concatenate([rng.normal(0, 2, 500), edges, edges, [np.inf, -np.inf, np.nan]])
    prof = {"features": {"a": {"kind": "numeric", "edges": edges}},
            "score": {"edges": [0.5]}}
    got = profile_counts(prof, pd.DataFrame({"a": values}), np.array([0.2] * len(values)))
    finite = values[np.isfinite(values)]
    expected = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=5)
    assert got["features"]["a"]["counts"] == expected.tolist()
    assert got["features"]["a"]["missing"] == 3
    assert got["score"]["counts"] == [len(values), 0]


@pytest.mark.parametrize("dtype", ["category", "object", "str", "float"])
def test_profile_counts_categories_like_a_lookup_per_row(rng, dtype):
    # known, unseen and missing values, counted as the text of each value
    levels = ["a", "b", "1.0", "c"]
    pool = np.array(["a", "b", "c", "d", "1.0", None], dtype=object)
    values = pool[rng.integers(0, len(pool), 400)]
    if dtype == "float":
        values = np.where(rng.random(400) < 0.5, 1.0, np.nan).astype(object)
    s = pd.Series(values).astype(dtype)
    prof = {"features": {"x": {"kind": "categorical", "levels": levels}}, "score": {"edges": []}}
    got = profile_counts(prof, pd.DataFrame({"x": s}), np.zeros(len(s)))["features"]["x"]
    present = [str(v) for v in s.astype(object) if not pd.isna(v)]
    assert got["counts"] == [present.count(level) for level in levels]
    assert got["missing"] == int(s.isna().sum())
    assert got["unseen"] == sum(v not in levels for v in present)
    assert sum(got["counts"]) + got["missing"] + got["unseen"] == len(s)
