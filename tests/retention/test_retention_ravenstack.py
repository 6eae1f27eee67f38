"""Contractual retention on the RavenStack SaaS tables (accounts, churn events, subscriptions)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnkit.retention import cohort_matrix, crr, net_revenue_retention, value_by_segment

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
RAVENSTACK = DATA / "ravenstack_saas"


@pytest.fixture(scope="module")
def accounts() -> pd.DataFrame:
    """One row per account with signup date, end date and current MRR.

    The end date is the latest churn event of the accounts flagged as churned.
    Accounts with churn events but no churn flag came back (reactivation), so
    they count as customers; flagged accounts without a churn event have no
    known date and are kept as customers too.
    """
    if not RAVENSTACK.is_dir():
        pytest.skip(f"shared data folder not found: {RAVENSTACK} is absent")
    acc = pd.read_csv(RAVENSTACK / "ravenstack_accounts.csv", parse_dates=["signup_date"])
    events = pd.read_csv(RAVENSTACK / "ravenstack_churn_events.csv", parse_dates=["churn_date"])
    subs = pd.read_csv(RAVENSTACK / "ravenstack_subscriptions.csv", parse_dates=["start_date", "end_date"])
    last_churn = events.groupby("account_id")["churn_date"].max()
    acc["end_date"] = acc["account_id"].map(last_churn).where(acc["churn_flag"])
    open_mrr = subs[subs["end_date"].isna()].groupby("account_id")["mrr_amount"].sum()
    acc["mrr"] = acc["account_id"].map(open_mrr).fillna(0.0)
    return acc


def test_ravenstack_crr_by_plan(accounts: pd.DataFrame) -> None:
    n_ended = int(accounts["end_date"].notna().sum())
    assert len(accounts) == 500
    assert n_ended == 75
    overall = crr(accounts, customer_col="account_id", period="Q", value_col="mrr")
    by_plan = crr(accounts, customer_col="account_id", period="Q", by="plan_tier", value_col="mrr")
    assert len(overall) == 8  # 2023Q1 .. 2024Q4
    assert set(by_plan["plan_tier"]) == {"Basic", "Pro", "Enterprise"}
    summed = by_plan.groupby("period_start")[["S", "N", "lost", "new_lost", "E"]].sum()
    np.testing.assert_array_equal(summed.to_numpy(), overall[["S", "N", "lost", "new_lost", "E"]])
    assert overall["N"].sum() == 500
    assert overall["lost"].sum() + overall["new_lost"].sum() == n_ended
    assert overall["E"].iloc[-1] == 500 - n_ended
    has_s = by_plan["S"] > 0
    assert by_plan.loc[has_s, "crr"].between(0, 100).all()
    assert (by_plan["lost"] <= by_plan["S"]).all()

    # One quarter recomputed with plain boolean masks.
    a, b = pd.Timestamp("2024-07-01"), pd.Timestamp("2024-10-01")
    signup, end = accounts["signup_date"], accounts["end_date"]
    present = (signup < a) & (end.isna() | (end >= a))
    new = (signup >= a) & (signup < b)
    at_end = (signup < b) & (end.isna() | (end >= b))
    row = overall.set_index("period_start").loc[a]
    assert (row["S"], row["N"], row["E"]) == (present.sum(), new.sum(), at_end.sum())
    assert row["crr"] == pytest.approx((at_end.sum() - new.sum()) / present.sum() * 100)
    kept = present & (end.isna() | (end >= b))
    assert row["revenue_start"] == pytest.approx(accounts.loc[present, "mrr"].sum())
    assert row["nrr"] == pytest.approx(accounts.loc[kept, "mrr"].sum() / accounts.loc[present, "mrr"].sum())
    nrr = net_revenue_retention(by_plan)
    assert nrr["nrr"].dropna().between(0, 1).all()  # static MRR: no expansion


def test_ravenstack_value_by_segment(accounts: pd.DataFrame) -> None:
    value = value_by_segment(accounts, customer_col="account_id", value_col="mrr", by="plan_tier", margin=0.8)
    current = accounts["end_date"].isna()
    assert value["customers"].sum() == current.sum()
    assert value["revenue"].sum() == pytest.approx(accounts.loc[current, "mrr"].sum())
    monthly = crr(accounts, customer_col="account_id", by="plan_tier")
    pooled = monthly.groupby("plan_tier")[["lost", "S"]].sum()
    expected_churn = (pooled["lost"] / pooled["S"]).to_dict()
    for row in value.itertuples(index=False):
        assert row.churn_rate == pytest.approx(expected_churn[row.plan_tier])
        assert 0 < row.churn_rate < 0.1
        assert row.lifetime_months == pytest.approx(1 / row.churn_rate)
        assert row.clv == pytest.approx(0.8 * row.value_per_customer / row.churn_rate)
    assert value["rank"].tolist() == [1, 2, 3]
    assert value["clv_total"].is_monotonic_decreasing
    assert value["share_of_revenue"].sum() == pytest.approx(1.0)


def test_ravenstack_cohorts_match_crr(accounts: pd.DataFrame) -> None:
    counts = cohort_matrix(accounts, customer_col="account_id", normalize=False)
    monthly = crr(accounts, customer_col="account_id")
    assert int(counts[0].sum()) == 500
    # Customers at the start of month t = sum over earlier cohorts c of counts[c, t - c].
    values = counts.to_numpy(dtype="float64", na_value=np.nan)
    for t in range(len(monthly)):
        s = sum(values[c, t - c] for c in range(t))
        assert monthly["S"].iloc[t] == s
