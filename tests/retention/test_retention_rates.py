"""Contractual CRR, churn rate, annualisation and NRR."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnkit.exceptions import SchemaError
from churnkit.retention import annualise, churn_rate, crr, net_revenue_retention


def _textbook() -> pd.DataFrame:
    """100 customers at the start of March 2024, 10 of them leave, 20 new arrive."""
    start = pd.Timestamp("2024-03-01")
    old_signup = pd.to_datetime(["2023-06-15"] * 100)
    old_end = [pd.NaT] * 90 + list(start + pd.to_timedelta(np.arange(10) * 3, unit="D"))
    new_signup = start + pd.to_timedelta(np.arange(20), unit="D")
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(120)],
            "signup_date": list(old_signup) + list(new_signup),
            "end_date": pd.to_datetime(old_end + [pd.NaT] * 20),
        }
    )


def test_textbook_example() -> None:
    row = crr(_textbook(), start="2024-03-01", end="2024-03-31").iloc[0]
    assert (row["S"], row["N"], row["lost"], row["new_lost"], row["E"]) == (100, 20, 10, 0, 110)
    assert row["crr"] == pytest.approx(90.0)
    assert row["churn_rate"] == pytest.approx(0.10)
    assert row["period_start"] == pd.Timestamp("2024-03-01")
    assert row["period_end"] == pd.Timestamp("2024-03-31")


def test_new_customer_lost_in_same_period_counts_in_e_and_crr() -> None:
    df = _textbook()
    df.loc[119, "end_date"] = pd.Timestamp("2024-03-25")  # a new customer leaves again
    row = crr(df, start="2024-03-01", end="2024-03-31").iloc[0]
    assert (row["S"], row["N"], row["lost"], row["new_lost"], row["E"]) == (100, 20, 10, 1, 109)
    assert row["E"] == row["S"] + row["N"] - row["lost"] - row["new_lost"]
    assert row["crr"] == pytest.approx(89.0)  # textbook (E - N) / S
    assert row["churn_rate"] == pytest.approx(0.10)  # customers of S only


def _random_customers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = np.datetime64("2022-01-01", "D")
    signup = base + rng.integers(0, 730, n).astype("timedelta64[D]")
    month_start = signup.astype("datetime64[M]").astype("datetime64[D]")
    on_boundary = rng.random(n) < 0.1
    signup = np.where(on_boundary, month_start, signup)
    stay = rng.integers(0, 500, n).astype("timedelta64[D]")
    end = signup + stay
    end = np.where(rng.random(n) < 0.1, end.astype("datetime64[M]").astype("datetime64[D]"), end)
    end = np.where(end < signup, signup, end)
    end = np.where(rng.random(n) < 0.4, np.datetime64("NaT"), end)
    return pd.DataFrame(
        {
            "customer_id": [f"id{i}" for i in range(n)],
            "signup_date": pd.to_datetime(signup),
            "end_date": pd.to_datetime(end),
            "segment": rng.choice(["retail", "smb", "enterprise"], n),
            "mrr": rng.integers(10, 500, n).astype(float),
        }
    )


def _brute_force(df: pd.DataFrame, starts: list[pd.Timestamp], step: str) -> dict:
    """Count S, N, lost, new_lost, E and revenue per (period start, segment) one customer at a time."""
    out: dict = {}
    records = list(df[["signup_date", "end_date", "segment", "mrr"]].itertuples(index=False))
    for a in starts:
        b = a + pd.tseries.frequencies.to_offset(step)
        for seg in ("enterprise", "retail", "smb"):
            s = n = lost = new_lost = e = 0
            rev_s = rev_kept = 0.0
            for signup, end, segment, mrr in records:
                if segment != seg:
                    continue
                gone_before = not pd.isna(end) and end < a
                leaves = not pd.isna(end) and a <= end < b
                if signup < a and not gone_before:
                    s += 1
                    rev_s += mrr
                    if leaves:
                        lost += 1
                    else:
                        rev_kept += mrr
                if a <= signup < b:
                    n += 1
                    if leaves:
                        new_lost += 1
                if signup < b and (pd.isna(end) or end >= b):
                    e += 1
            out[(a, seg)] = (s, n, lost, new_lost, e, rev_s, rev_kept)
    return out


@pytest.mark.parametrize(("period", "step"), [("M", "MS"), ("Q", "QS")])
def test_crr_matches_brute_force_count(period: str, step: str) -> None:
    df = _random_customers(3000, seed=11)
    table = crr(df, period=period, by="segment", value_col="mrr")
    starts = list(pd.date_range("2022-01-01", table["period_start"].max(), freq=step))
    expected = _brute_force(df, starts, step)
    assert len(table) == len(expected)
    for row in table.itertuples(index=False):
        s, n, lost, new_lost, e, rev_s, rev_kept = expected[(row.period_start, row.segment)]
        assert (row.S, row.N, row.lost, row.new_lost, row.E) == (s, n, lost, new_lost, e)
        if s:
            assert row.crr == pytest.approx((e - n) / s * 100)
            assert row.churn_rate == pytest.approx(lost / s)
            assert row.revenue_start == pytest.approx(rev_s)
            assert row.revenue_retained == pytest.approx(rev_kept)
        else:
            assert np.isnan(row.crr)
            assert np.isnan(row.nrr)


def test_groups_add_up_and_periods_chain() -> None:
    df = _random_customers(2000, seed=3)
    overall = crr(df)
    by = crr(df, by="segment")
    summed = by.groupby("period_start")[["S", "N", "lost", "new_lost", "E"]].sum()
    pd.testing.assert_frame_equal(
        summed.reset_index(drop=True),
        overall[["S", "N", "lost", "new_lost", "E"]],
        check_dtype=False,
    )
    # E of a period is S of the next one; every customer is acquired once.
    assert (overall["E"].to_numpy()[:-1] == overall["S"].to_numpy()[1:]).all()
    assert overall["N"].sum() == len(df)
    assert overall["S"].iloc[0] == 0
    assert overall["E"].iloc[-1] == int(df["end_date"].isna().sum())


def test_sub_range_equals_slice_of_full_range() -> None:
    df = _random_customers(1500, seed=5)
    full = crr(df, by="segment").set_index(["period_start", "segment"])
    part = crr(df, by="segment", start="2022-07-15", end="2023-02-01")
    assert part["period_start"].min() == pd.Timestamp("2022-07-01")
    assert part["period_start"].max() == pd.Timestamp("2023-02-01")
    pd.testing.assert_frame_equal(
        part.set_index(["period_start", "segment"]),
        full.loc[part.set_index(["period_start", "segment"]).index],
    )


def test_by_several_columns_and_missing_group() -> None:
    df = _random_customers(600, seed=9)
    df["region"] = np.where(np.arange(600) % 2 == 0, "north", "south")
    df.loc[:4, "segment"] = None
    table = crr(df, by=["segment", "region"], period="Y")
    assert list(table.columns[:4]) == ["period_start", "period_end", "segment", "region"]
    assert table["segment"].isna().any()  # missing segment kept as its own group
    assert table.groupby("period_start")["N"].sum().sum() == 600


def test_iso_text_and_timezone_aware_dates() -> None:
    df = _textbook()
    text = df.assign(
        signup_date=df["signup_date"].dt.strftime("%Y-%m-%d"),
        end_date=df["end_date"].dt.strftime("%Y-%m-%d"),
    )
    aware = df.assign(signup_date=df["signup_date"].dt.tz_localize("UTC"))
    expected = crr(df, period="Q")
    pd.testing.assert_frame_equal(crr(text, period="Q"), expected)
    pd.testing.assert_frame_equal(crr(aware, period="Q"), expected)


def test_nrr_static_value_is_gross_revenue_retention() -> None:
    df = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "signup_date": pd.to_datetime(["2023-01-05", "2023-01-20", "2023-02-03", "2022-12-01"]),
            "end_date": pd.to_datetime([None, "2023-02-10", None, "2023-02-28"]),
            "mrr": [300.0, 100.0, 50.0, 600.0],
        }
    )
    table = crr(df, value_col="mrr", start="2023-02-01", end="2023-02-28")
    nrr = net_revenue_retention(table)
    assert list(nrr.columns) == [
        "period_start",
        "period_end",
        "revenue_start",
        "revenue_retained",
        "nrr",
    ]
    row = nrr.iloc[0]
    assert row["revenue_start"] == pytest.approx(1000.0)  # a, b, d
    assert row["revenue_retained"] == pytest.approx(300.0)  # only a is left
    assert row["nrr"] == pytest.approx(0.3)
    assert table["revenue_end"].iloc[0] == pytest.approx(350.0)  # a and c


def test_annualise_hand_computed() -> None:
    assert annualise(0.02, "M") == pytest.approx(1 - 0.98**12)
    assert annualise(0.05, "Q") == pytest.approx(1 - 0.95**4)
    assert annualise(0.3, "Y") == pytest.approx(0.3)
    assert annualise(0.0, "M") == 0.0
    arr = annualise(np.array([0.01, np.nan]), "M")
    assert arr[0] == pytest.approx(0.1136151, rel=1e-6)
    assert np.isnan(arr[1])
    series = annualise(pd.Series([0.1], index=["x"], name="c"), "Q")
    assert series.loc["x"] == pytest.approx(0.3439)
    with pytest.raises(ValueError, match="'rate' parameter of annualise must be between 0 and 1"):
        annualise(1.5, "M")
    with pytest.raises(ValueError, match="'period' parameter of annualise"):
        annualise(0.1, "W")  # type: ignore[arg-type]


def test_churn_rate_table_and_period_inference() -> None:
    df = _random_customers(800, seed=2)
    for period, per_year in (("M", 12), ("Q", 4), ("Y", 1)):
        table = crr(df, period=period, by="segment")
        out = churn_rate(table, annualised=True)
        assert list(out.columns) == [
            "period_start",
            "period_end",
            "segment",
            "S",
            "lost",
            "churn_rate",
            "churn_rate_annualised",
        ]
        ok = out["S"] > 0
        expected = 1 - (1 - out.loc[ok, "lost"] / out.loc[ok, "S"]) ** per_year
        np.testing.assert_allclose(out.loc[ok, "churn_rate_annualised"], expected)


# --- errors -------------------------------------------------------------------------


def test_missing_column_is_named_with_available_columns() -> None:
    with pytest.raises(SchemaError, match=r"Table 'customers' lacks column\(s\) \['joined'\]\. Available columns"):
        crr(_textbook(), signup_col="joined")
    with pytest.raises(SchemaError, match=r"lacks column\(s\) \['segment'\]"):
        crr(_textbook(), by="segment")


def test_non_datetime_and_unparseable_dates() -> None:
    df = _textbook()
    with pytest.raises(SchemaError, match=r"customers.signup_date must hold dates .*int64"):
        crr(df.assign(signup_date=20240101))
    bad = df.assign(end_date=df["end_date"].dt.strftime("%Y-%m-%d").astype(object))
    bad.loc[3, "end_date"] = "31/02/2024"
    with pytest.raises(SchemaError, match=r"end_date: 1 unparseable date\(s\) at rows \[3\]"):
        crr(bad)


def test_missing_signup_backwards_end_and_duplicates() -> None:
    df = _textbook()
    with pytest.raises(SchemaError, match=r"signup_date: 1 missing date\(s\) at rows \[5\]"):
        crr(df.assign(signup_date=df["signup_date"].where(df.index != 5)))
    backwards = df.copy()
    backwards.loc[7, "end_date"] = pd.Timestamp("2020-01-01")
    with pytest.raises(SchemaError, match=r"end date\(s\) before signup_date .*'c7'"):
        crr(backwards)
    dup = df.copy()
    dup.loc[1, "customer_id"] = "c0"
    with pytest.raises(SchemaError, match="share a customer id"):
        crr(dup)


def test_bad_value_column_and_parameters() -> None:
    df = _textbook().assign(mrr=1.0)
    df.loc[2, "mrr"] = np.nan
    with pytest.raises(SchemaError, match=r"customers.mrr: 1 missing value\(s\) at rows \[2\]"):
        crr(df, value_col="mrr")
    with pytest.raises(SchemaError, match="customers.mrr must be numeric"):
        crr(df.assign(mrr="high"), value_col="mrr")
    with pytest.raises(ValueError, match="'period' parameter of crr"):
        crr(df, period="W")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must not be before 'start'"):
        crr(df, start="2024-05-01", end="2024-01-01")
    with pytest.raises(SchemaError, match="customers is empty"):
        crr(df.iloc[:0])
    with pytest.raises(TypeError, match="customers must be a pandas DataFrame"):
        crr([1, 2, 3])  # type: ignore[arg-type]


def test_derived_tables_need_retention_table() -> None:
    with pytest.raises(SchemaError, match="takes the table returned by crr"):
        churn_rate(pd.DataFrame({"x": [1]}))
    with pytest.raises(SchemaError, match=r"called with value_col=/amount_col="):
        net_revenue_retention(crr(_textbook()))


def test_far_future_placeholder_end_date_is_reported() -> None:
    df = _textbook()
    df["end_date"] = df["end_date"].astype("datetime64[s]")
    df.loc[0, "end_date"] = pd.Timestamp("2999-12-31").as_unit("s")
    with pytest.raises(SchemaError, match=r"dates reach 2999-12-31, which would make \d+ periods"):
        crr(df)
    assert len(crr(df, end="2024-12-31")) == 19  # 2023-06 .. 2024-12


def test_iso_text_with_offsets_is_converted_to_utc() -> None:
    df = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "signup_date": ["2024-01-31T23:30:00-02:00", "2024-01-15"],
            "end_date": [None, None],
        }
    )
    table = crr(df)
    assert table["N"].tolist() == [1, 1]  # a joined on 1 February, UTC
