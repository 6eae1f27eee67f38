"""Metrics against values computed by hand on tiny arrays."""

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import beta as beta_dist

from churnkit import SchemaError
from churnkit.config import CampaignConfig
from churnkit.evaluate import (
    best_profit,
    calibration_table,
    cumulative_gains,
    evaluation_metrics,
    expected_max_profit,
    lift_at,
    profit_curve,
)

Y = np.array([0, 0, 1, 1])
P = np.array([0.1, 0.4, 0.35, 0.8])


def test_probability_and_ranking_metrics_by_hand():
    m = evaluation_metrics(Y, P)
    # positive/negative pairs ranked right: (.35>.1), (.8>.1), (.8>.4); wrong: (.35<.4)
    assert m["roc_auc"] == pytest.approx(3 / 4)
    # by descending score: 1 (P=1, R=.5), 0, 1 (P=2/3, R=1)
    assert m["pr_auc"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    expected_ll = -np.mean([math.log(0.9), math.log(0.6), math.log(0.35), math.log(0.8)])
    assert m["log_loss"] == pytest.approx(expected_ll)
    assert m["brier"] == pytest.approx(np.mean([0.01, 0.16, 0.4225, 0.04]))
    assert m["n"] == 4
    assert m["positive_rate"] == 0.5


def test_lift_and_capture_at_top_shares():
    y = np.zeros(20, dtype=int)
    y[[0, 2, 5, 11]] = 1
    p = np.linspace(1, 0, 20)  # row 0 highest
    # top 10% = 2 rows (0, 1): 1 churner; rate .5 / base .2 = 2.5; captures 1 of 4
    assert lift_at(y, p, 0.10) == pytest.approx((2.5, 0.25))
    # top 5% = 1 row: churner; 1 / .2 = 5
    assert lift_at(y, p, 0.05) == pytest.approx((5.0, 0.25))
    # top 20% = 4 rows (0..3): 2 churners; .5/.2 = 2.5, half the churners
    assert lift_at(y, p, 0.20) == pytest.approx((2.5, 0.5))
    m = evaluation_metrics(y, p)
    assert m["top_decile_lift"] == m["lift_at_10"] == pytest.approx(2.5)
    assert m["capture_at_20"] == pytest.approx(0.5)


def test_lift_is_tie_aware_and_independent_of_row_order():
    # one tie group holds the whole top 10%: 2 of its 4 rows churn -> expected half
    y = np.array([1, 0, 1, 0] + [0] * 16)
    p = np.array([0.9] * 4 + [0.1] * 16)
    lift, capture = lift_at(y, p, 0.10)  # 2 rows taken from the tie group of 4
    assert lift == pytest.approx((2 * 0.5 / 2) / 0.1)
    assert capture == pytest.approx(0.5)
    shuffled = np.array([0, 1, 0, 1] + [0] * 16)
    assert lift_at(shuffled, p, 0.10) == pytest.approx((lift, capture))


def test_gains_curve_ends_at_one_and_is_monotone():
    g = cumulative_gains(Y, P, points=5)
    assert g["depth"].tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert g["capture"].tolist() == [0, 0.5, 0.5, 1, 1]
    assert g["lift"].iloc[1] == pytest.approx(2.0)


def test_calibration_table_by_decile():
    y = np.r_[np.zeros(10), np.ones(10)].astype(bool)
    p = np.r_[np.full(10, 0.2), np.full(10, 0.7)]
    t = calibration_table(y, p, bins=2)
    assert t["n"].tolist() == [10, 10]
    assert t["expected"].tolist() == pytest.approx([0.2, 0.7])
    assert t["observed"].tolist() == [0.0, 1.0]
    assert len(calibration_table(np.r_[y, y], np.r_[p, p])) == 10


def test_profit_curve_by_hand_and_best_depth():
    c = CampaignConfig(contact_cost=1, offer_cost=10, acceptance_rate=0.5, customer_value=100)
    y = [1, 0, 1, 0, 0]
    p = [0.9, 0.8, 0.3, 0.2, 0.1]
    curve = profit_curve(y, p, campaign=c)
    # churner: .5 * (100 - 10) - 1 = 44; non-churner: -(10 + 1) = -11
    assert curve["profit"].tolist() == pytest.approx([0, 44, 33, 77, 66, 55])
    assert curve["targeted"].tolist() == [0, 1, 2, 3, 4, 5]
    assert best_profit(y, p, campaign=c) == pytest.approx((3 / 5, 77.0))
    # per-customer values: the second churner is worth little -> contact only the first
    depth, profit = best_profit(y, p, value=[100, 100, 20, 100, 100], campaign=c)
    assert (depth, profit) == pytest.approx((1 / 5, 44.0))
    # a missing value falls back to the constant
    assert best_profit(y, p, value=[np.nan] * 5, campaign=c) == pytest.approx((0.6, 77.0))


def test_emp_of_a_perfect_ranking_has_a_closed_form():
    c = CampaignConfig(contact_cost=0, offer_cost=10, customer_value=110, acceptance_beta=(6, 14))
    out = expected_max_profit([1, 1, 1, 0, 0, 0, 0, 0], np.linspace(1, 0, 8), campaign=c)
    # best is contacting the 3 churners whatever the acceptance rate: 3 * 100 * E[gamma]
    assert out["emp"] == pytest.approx(3 * 100 * 6 / 20)
    assert out["emp_per_customer"] == pytest.approx(out["emp"] / 8)
    assert out["depth"] == pytest.approx(3 / 8)


def test_emp_with_contact_costs_matches_numerical_integration(rng):
    c = CampaignConfig(contact_cost=5, offer_cost=15, customer_value=80, acceptance_beta=(2, 5))
    y = rng.random(60) < 0.3
    p = np.round(0.5 * y + rng.random(60), 1)  # ties on purpose
    curve_at = lambda g: profit_curve(y, p, campaign=c.model_copy(  # noqa: E731
        update={"acceptance_rate": g}))["profit"].max()
    numeric, _ = integrate.quad(lambda g: curve_at(g) * beta_dist.pdf(g, 2, 5), 0, 1, limit=200)
    assert expected_max_profit(y, p, campaign=c)["emp"] == pytest.approx(numeric, rel=1e-4)
    # a useless (constant) score can only contact everyone or nobody
    flat = expected_max_profit(y, np.zeros(60), campaign=c)["emp"]
    a = (65 * y.sum())
    b = 5 * 60 + 15 * (~y).sum()
    everyone, _ = integrate.quad(lambda g: max(0, g * a - b) * beta_dist.pdf(g, 2, 5), 0, 1)
    assert flat == pytest.approx(everyone, rel=1e-6, abs=1e-9)


def test_single_class_gives_nan_ranking_metrics_and_bad_input_is_named():
    m = evaluation_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert math.isnan(m["roc_auc"])
    assert m["positive_rate"] == 0
    with pytest.raises(SchemaError, match="equal length"):
        evaluation_metrics([0, 1], [0.5])
    with pytest.raises(SchemaError, match=r"NaN at rows \[1\]"):
        evaluation_metrics([0, 1], [0.5, np.nan])
    with pytest.raises(ValueError, match="'share' parameter of lift_at"):
        lift_at([0, 1], [0.1, 0.2], 0)
