"""Non-contractual (activity-based) CRR, including the real CDNOW purchase log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnkit.exceptions import SchemaError
from churnkit.retention import (
    activity_cohort_matrix,
    activity_crr,
    churn_rate,
    customer_activity,
    net_revenue_retention,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CDNOW = DATA / "cdnow" / "CDNOW_master.txt"


def _events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c", "c", "d", "e"],
            "timestamp": pd.to_datetime(
                [
                    "2024-01-03",
                    "2024-02-09",
                    "2024-03-15",
                    "2024-01-20",
                    "2024-03-02",
                    "2024-02-14",
                    "2024-02-20",
                    "2024-03-31T23:59",
                    "2024-01-01",
                ],
                format="ISO8601",
            ),
            "amount": [10.0, 20.0, 30.0, 5.0, 7.0, 1.0, 2.0, 4.0, 8.0],
        }
    )


def test_small_example_by_hand() -> None:
    table = activity_crr(_events(), amount_col="amount").set_index("period_start")
    jan, feb, mar = (table.loc[pd.Timestamp(f"2024-0{m}-01")] for m in (1, 2, 3))
    # January: a, b, e are new.
    assert (jan["S"], jan["N"], jan["reactivated"], jan["E"], jan["active"]) == (0, 3, 0, 3, 3)
    assert np.isnan(jan["crr"])
    # February: a retained, b and e lost, c new.
    assert (feb["S"], feb["N"], feb["lost"], feb["reactivated"], feb["E"]) == (3, 1, 2, 0, 2)
    assert feb["crr"] == pytest.approx(100 / 3)
    # March: a and c active in February; a retained, c lost; b back (reactivated); d new.
    assert (mar["S"], mar["N"], mar["lost"], mar["reactivated"]) == (2, 1, 1, 1)
    assert (mar["E"], mar["active"]) == (2, 3)
    assert mar["crr"] == pytest.approx(50.0)
    assert mar["churn_rate"] == pytest.approx(0.5)
    # Revenue: February's active customers spent 23 then, 30 in March (a only).
    assert (mar["revenue_start"], mar["revenue_retained"], mar["revenue_end"]) == (23.0, 30.0, 41.0)
    assert mar["nrr"] == pytest.approx(30 / 23)


def test_customer_activity_status() -> None:
    out = customer_activity(_events(), amount_col="amount")
    status = dict(
        zip(zip(out["customer_id"], out["period_start"].dt.month, strict=True), out["status"], strict=True)
    )
    assert status[("a", 1)] == "new"
    assert status[("a", 2)] == "retained"
    assert status[("b", 3)] == "reactivated"
    assert out["amount"].sum() == pytest.approx(_events()["amount"].sum())


def _random_events(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 4000
    ids = rng.integers(0, 400, n)
    days = rng.integers(0, 700, n)
    return pd.DataFrame(
        {
            "customer_id": [f"u{i}" for i in ids],
            "timestamp": pd.Timestamp("2022-01-01") + pd.to_timedelta(days, unit="D"),
            "segment": np.array(["x", "y", "z"])[ids % 3],
        }
    )


@pytest.mark.parametrize("period", ["M", "Q"])
def test_activity_matches_brute_force_sets(period: str) -> None:
    events = _random_events(4)
    customers = events.drop_duplicates("customer_id")[["customer_id", "segment"]]
    table = activity_crr(events, period=period, by="segment", customers=customers)
    key = events["timestamp"].dt.to_period(period)
    periods = pd.period_range(key.min(), key.max(), freq=period)
    active = {p: set(events.loc[key == p, "customer_id"]) for p in periods}
    first = events.groupby("customer_id")["timestamp"].min().dt.to_period(period)
    seg = dict(zip(customers["customer_id"], customers["segment"], strict=True))
    rows = table.set_index(["period_start", "segment"])
    for i, p in enumerate(periods):
        prev = active[periods[i - 1]] if i else set()
        for g in ("x", "y", "z"):
            now = {c for c in active[p] if seg[c] == g}
            s = {c for c in prev if seg[c] == g}
            new = {c for c in now if first[c] == p}
            kept = now & s
            row = rows.loc[(p.start_time, g)]
            assert row["S"] == len(s)
            assert row["N"] == len(new)
            assert row["lost"] == len(s - now)
            assert row["reactivated"] == len(now - s - new)
            assert row["E"] == len(kept) + len(new)
            assert row["active"] == len(now)


def test_by_from_events_uses_first_event_value() -> None:
    events = _events().assign(segment=["p", "q", "q", "p", "p", "q", "q", "p", "q"])
    table = activity_crr(events, by="segment")
    # a's first event says "p", so a's later "q" rows do not move it.
    assert table.groupby("segment")["N"].sum().to_dict() == {"p": 3, "q": 2}


def test_activity_errors() -> None:
    events = _events()
    with pytest.raises(SchemaError, match=r"Table 'events' lacks column\(s\) \['ts'\]"):
        activity_crr(events, time_col="ts")
    with pytest.raises(SchemaError, match="absent from customers.customer_id"):
        activity_crr(events, by="segment", customers=pd.DataFrame({"customer_id": ["a"], "segment": ["x"]}))
    with pytest.raises(SchemaError, match="events.timestamp: 1 missing date"):
        activity_crr(events.assign(timestamp=events["timestamp"].where(events.index != 2)))
    with pytest.raises(SchemaError, match="missing customer id"):
        activity_crr(events.assign(customer_id=events["customer_id"].where(events.index != 0)))


# --- CDNOW -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    if not CDNOW.is_file():
        pytest.skip(f"shared data folder not found: {CDNOW} is absent")
    df = pd.read_csv(
        CDNOW,
        sep=r"\s+",
        header=0,
        names=["customer_id", "date", "cds", "dollars"],
        dtype={"customer_id": str, "date": str},
    )
    df["timestamp"] = pd.to_datetime(df["date"], format="%Y%m%d")
    return df


def test_cdnow_quarterly_structure(cdnow: pd.DataFrame) -> None:
    assert len(cdnow) == 69_659
    assert cdnow["customer_id"].nunique() == 23_570
    table = activity_crr(cdnow, period="Q", amount_col="dollars")
    assert table["period_start"].dt.strftime("%Y-%m").tolist() == [
        "1997-01",
        "1997-04",
        "1997-07",
        "1997-10",
        "1998-01",
        "1998-04",
    ]
    first_q = cdnow.groupby("customer_id")["timestamp"].min().dt.to_period("Q")
    q1 = table.iloc[0]
    # Every customer made a first purchase in 1997Q1, as the dataset documents.
    assert q1["N"] == int((first_q == pd.Period("1997Q1")).sum()) == 23_570
    assert (table["N"].iloc[1:] == 0).all()
    assert q1["S"] == 0
    assert np.isnan(q1["crr"])

    quarter = cdnow["timestamp"].dt.to_period("Q")
    active = cdnow.groupby(quarter)["customer_id"].nunique().to_numpy()
    np.testing.assert_array_equal(table["active"], active)
    np.testing.assert_array_equal(table["S"].iloc[1:], active[:-1])
    assert ((table["E"] - table["N"]) <= table["S"]).all()
    assert (table["E"] == table["S"] + table["N"] - table["lost"]).all()
    assert (table["active"] == table["E"] + table["reactivated"]).all()
    rates = table["crr"].iloc[1:]
    assert rates.between(0, 100).all()
    assert table["reactivated"].iloc[1] == 0  # nobody can come back before a gap

    # 1997Q3 checked with sets.
    ids = {q: set(cdnow.loc[quarter == pd.Period(q), "customer_id"]) for q in ("1997Q2", "1997Q3")}
    q3 = table.iloc[2]
    assert q3["E"] - q3["N"] == len(ids["1997Q2"] & ids["1997Q3"])
    assert q3["reactivated"] == len(ids["1997Q3"] - ids["1997Q2"])
    assert q3["crr"] == pytest.approx(100 * len(ids["1997Q2"] & ids["1997Q3"]) / len(ids["1997Q2"]))

    # NRR of 1997Q2: revenue in Q2 of Q1's (i.e. all) customers over Q1 revenue.
    nrr = net_revenue_retention(table).iloc[1]
    revenue = cdnow.groupby(quarter)["dollars"].sum()
    assert nrr["nrr"] == pytest.approx(revenue[pd.Period("1997Q2")] / revenue[pd.Period("1997Q1")])
    annual = churn_rate(table, annualised=True)["churn_rate_annualised"].iloc[1:]
    assert (annual >= table["churn_rate"].iloc[1:]).all()


def test_cdnow_cohorts(cdnow: pd.DataFrame) -> None:
    matrix = activity_cohort_matrix(cdnow)
    sizes = matrix.notna().any(axis=1)
    # Only the January-March 1997 cohorts exist.
    assert matrix.index[sizes].strftime("%Y-%m").tolist() == ["1997-01", "1997-02", "1997-03"]
    counts = activity_cohort_matrix(cdnow, normalize=False)
    assert int(counts[0].sum()) == 23_570
    assert matrix.iloc[:3, 1:].max().max() < 0.2  # CDNOW buyers rarely come back
    assert matrix.shape[1] == 18  # 1997-01 .. 1998-06
