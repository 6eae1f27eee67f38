"""Treated vs control statistics: Newcombe intervals, ITT and the effect per contact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnkit.impact import difference_interval, impact_by, impact_table, wilson_interval


def test_newcombe_interval_matches_the_published_examples():
    # Newcombe (1998), Table II, method 10
    for (x1, n1, x2, n2), (low, high) in {(56, 70, 48, 80): (0.0524, 0.3339),
                                          (9, 10, 3, 10): (0.1705, 0.8090),
                                          (5, 56, 0, 29): (-0.0381, 0.1926)}.items():
        _, lo, hi = difference_interval(x1, n1, x2, n2)
        assert round(float(lo), 4) == low
        assert round(float(hi), 4) == high


def test_interval_covers_the_true_difference_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    trials, n_t, n_c, p_t, p_c = 4000, 300, 120, 0.06, 0.10
    x_t, x_c = rng.binomial(n_t, p_t, trials), rng.binomial(n_c, p_c, trials)
    _, low, high = difference_interval(x_t, n_t, x_c, n_c)
    coverage = np.mean((low <= p_t - p_c) & (p_t - p_c <= high))
    assert 0.93 < coverage < 0.97


def test_wilson_interval_of_zero_successes_starts_at_zero():
    low, high = wilson_interval(np.array([0, 5]), np.array([20, 20]))
    assert low[0] == 0
    assert 0 < high[0] < 0.2
    assert low[1] < 0.25 < high[1]


def test_itt_cace_and_saved_customers():
    n = 1000
    frame = pd.DataFrame({
        "group": ["treat"] * n + ["control"] * n,
        "churned": np.r_[np.arange(n) < 80, np.arange(n) < 120],
        "contacted": np.r_[np.arange(n) < 800, np.zeros(n, bool)],
        "value": 10.0,
    })
    row = impact_table(frame, value_horizon_months=12)
    assert row["itt"] == pytest.approx(-0.04)
    assert row["contacted_share"] == pytest.approx(0.8)
    assert row["cace"] == pytest.approx(-0.05)  # ITT / compliance
    assert row["cace_low"] == pytest.approx(row["itt_low"] / 0.8)
    assert row["customers_saved"] == pytest.approx(40)
    assert row["value_saved"] == pytest.approx(0.04 * 10 * n * 12)
    assert row["itt_low"] < -0.04 < row["itt_high"]


def test_without_contacts_the_effect_per_contact_is_unknown():
    frame = pd.DataFrame({"group": ["treat", "control"] * 5, "churned": [True, False] * 5})
    row = impact_table(frame)
    assert np.isnan(row["cace"])
    assert row["itt"] == pytest.approx(1.0)


def test_breakdown_skips_levels_without_both_groups():
    frame = pd.DataFrame({"group": ["treat", "control", "treat", "treat"],
                          "churned": [True, False, False, True],
                          "playbook": ["a", "a", "b", None]})
    out = impact_by(frame, ["playbook", "absent"])
    assert out["level"].tolist() == ["a"]
    assert out["breakdown"].tolist() == ["playbook"]
