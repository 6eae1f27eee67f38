"""The sample CRM's past retention campaigns: holdouts, actions log and planted effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnkit.datasets import make_crm
from churnkit.exceptions import ConfigError


@pytest.fixture(scope="module")
def crm():
    return make_crm(3000, random_state=1, months=12, campaigns=2)


def test_off_by_default_and_no_campaign_tables():
    plain = make_crm(100, random_state=0, months=6)
    assert plain.actions is None
    assert plain.assignments is None
    assert list(plain.tables) == ["customers", "contacts", "feedback", "transactions", "usage",
                                  "ground_truth"]
    assert list(plain.ground_truth.columns) == ["customer_id", "churned", "churn_date", "cause"]


def test_campaigns_are_reproducible():
    a = make_crm(300, random_state=4, months=9, campaigns=1)
    b = make_crm(300, random_state=4, months=9, campaigns=1)
    pd.testing.assert_frame_equal(a.assignments, b.assignments)
    pd.testing.assert_frame_equal(a.actions, b.actions)
    pd.testing.assert_frame_equal(a.ground_truth, b.ground_truth)


def test_too_many_campaigns_is_a_parameter_error():
    with pytest.raises(ConfigError, match="'campaigns' parameter of make_crm"):
        make_crm(100, months=6, campaigns=3)


def test_assignments_actions_and_truth_agree(crm):
    asg, acts, truth = crm.assignments, crm.actions, crm.ground_truth
    assert asg["customer_id"].is_unique  # one campaign per customer
    assert set(asg["group"]) == {"treat", "control"}
    assert 0.6 < (asg["group"] == "treat").mean() < 0.8
    # only treated customers are contacted, after their campaign's as_of, about 80 % of them
    joined = acts.merge(asg, on="customer_id", how="left")
    assert (joined["group"] == "treat").all()
    assert (joined["timestamp"] >= joined["as_of"]).all()
    assert (joined["playbook"].astype(str) == joined["recommended_playbook"].astype(str)).all()
    treated = asg[asg["group"] == "treat"]
    assert 0.7 < len(acts) / len(treated) < 0.85
    in_campaign = truth["campaign"].notna()
    assert in_campaign.sum() == len(asg)
    assert truth.loc[~in_campaign, "true_effect"].isna().all()
    assert truth.loc[in_campaign, "true_effect"].between(-1, 1).all()


def _realised(crm):
    asg = crm.assignments.merge(crm.ground_truth, on="customer_id")
    asg = asg.merge(crm.customers[["customer_id", "end_date", "segment", "contract"]], on="customer_id")
    end = asg["end_date"]
    asg["churned_90d"] = (end >= asg["as_of"]) & (end < asg["as_of"] + pd.Timedelta(days=90))
    return asg


def test_planted_effects_show_in_the_churn_of_treated_and_control(crm):
    asg = _realised(crm)
    harmed = (asg["playbook"] == "contract_plan") & (asg["contract"] == "monthly")
    # a renewal reminder to price-sensitive customers makes them leave: the effect is positive
    assert (asg.loc[harmed, "true_effect"] > 0).all()
    assert (asg.loc[~harmed, "true_effect"] <= 0).all()
    rate = asg[harmed].groupby("group")["churned_90d"].mean()
    assert rate["treat"] > rate["control"] + 0.03
    # the playbook matching the customer's cause saves customers: treated churn less
    matched = asg[asg["reason_1"].astype(str) == asg["playbook"].astype(str)]
    rate = matched.groupby("group")["churned_90d"].mean()
    assert rate["treat"] < rate["control"] - 0.02
    assert asg.loc[~harmed, "true_effect"].mean() < -0.01
    # the matched playbook saves more than a mismatched one
    reason_of = {"unresolved_complaints": "unresolved_complaints", "low_satisfaction":
                 "low_satisfaction", "falling_usage": "falling_usage", "billing_price":
                 "billing_price", "fading_relationship": "fading_relationship",
                 "early_life": "early_life"}
    caused = asg[asg["reason_1"].astype(str).isin(reason_of)]
    matched = caused["reason_1"].astype(str) == caused["playbook"].astype(str)
    assert caused.loc[matched, "true_effect"].mean() < 2 * caused.loc[~matched, "true_effect"].mean()
    assert np.isfinite(caused["true_effect"]).all()
