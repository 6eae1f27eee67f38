"""Tests of the sample CRM generator, ``churnkit.datasets.make_crm``."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from churnkit._core import STR_DTYPE
from churnkit.datasets import CRM, make_crm

CAUSES = [
    "other",
    "unresolved_complaints",
    "detractor_feedback",
    "falling_usage",
    "price_shock",
    "no_outbound_contact",
    "poor_onboarding",
]
SCHEMA = {
    "customers": {
        "customer_id": "str",
        "signup_date": "datetime64[ns]",
        "end_date": "datetime64[ns]",
        "segment": "category",
        "product": "category",
        "region": "category",
        "contract": "category",
        "account_manager": "category",
        "monthly_value": "float64",
        "wallet_share": "float64",
    },
    "contacts": {
        "customer_id": "str",
        "timestamp": "datetime64[ns]",
        "channel": "category",
        "direction": "category",
        "topic": "category",
        "resolved": "bool",
        "duration_min": "float64",
        "agent": "category",
        "note": "str",
    },
    "feedback": {
        "customer_id": "str",
        "timestamp": "datetime64[ns]",
        "survey": "category",
        "score": "float64",
        "comment": "str",
    },
    "transactions": {
        "customer_id": "str",
        "timestamp": "datetime64[ns]",
        "amount": "float64",
        "kind": "category",
    },
    "usage": {
        "customer_id": "str",
        "timestamp": "datetime64[ns]",
        "logins": "int64",
        "minutes": "float64",
    },
    "ground_truth": {
        "customer_id": "str",
        "churned": "bool",
        "churn_date": "datetime64[ns]",
        "cause": "category",
    },
}
DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def crm() -> CRM:
    return make_crm(4000, random_state=11)


@pytest.fixture(scope="module")
def reference(crm: CRM) -> pd.Series:
    """A date per customer to look back from: the churn date, or a day it is active.

    Dates are at least 180 days into the data, so that the history before them
    is in the tables (the evidence of the first churners predates the start).
    """
    customers = crm.customers.set_index("customer_id")
    rng = np.random.default_rng(0)
    lo = customers["signup_date"].clip(lower=crm.start) + 180 * DAY
    span = ((crm.end - lo) / DAY).clip(lower=1).to_numpy()
    random_day = lo + pd.to_timedelta(np.floor(rng.random(len(lo)) * span), unit="D")
    ref = customers["end_date"].where(customers["end_date"].notna(), random_day)
    return ref[(ref >= crm.start + 180 * DAY) & (ref < crm.end)]


def _groups(crm: CRM, reference: pd.Series) -> dict[str, pd.Index]:
    truth = crm.ground_truth.set_index("customer_id").loc[reference.index]
    groups = {cause: truth.index[truth["cause"] == cause] for cause in CAUSES}
    groups["stayed"] = truth.index[~truth["churned"]]
    return groups


def _before(events: pd.DataFrame, reference: pd.Series, days: int) -> pd.DataFrame:
    """Events in the ``days`` days before each customer's reference date."""
    ref = events["customer_id"].map(reference)
    return events[(events["timestamp"] < ref) & (events["timestamp"] >= ref - days * DAY)]


def _monthly_churn(crm: CRM) -> np.ndarray:
    customers = crm.customers
    edges = pd.date_range(crm.start, crm.end, freq="MS")
    rates = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        active = (customers["signup_date"] < lo) & ~(customers["end_date"] < lo)
        left = active & (customers["end_date"] < hi)
        rates.append(left.sum() / active.sum())
    return np.array(rates)


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_identical_tables() -> None:
    first, second = make_crm(400, random_state=3, months=6), make_crm(400, random_state=3, months=6)
    for name, frame in first.tables.items():
        pd.testing.assert_frame_equal(frame, second.tables[name])
    assert first.end == second.end


def test_different_seeds_give_different_tables() -> None:
    first, second = make_crm(400, random_state=3, months=6), make_crm(400, random_state=4, months=6)
    for name in ("customers", "contacts", "usage"):
        assert not first.tables[name].equals(second.tables[name])


# --------------------------------------------------------------------- schema


def _dtype_name(dtype) -> str:
    """``"str"`` for text with NaN as its missing value (``string[pyarrow_numpy]`` on pandas 2.2)."""
    return "str" if dtype == STR_DTYPE else str(dtype)


def test_tables_have_the_documented_columns_and_dtypes(crm: CRM) -> None:
    assert list(crm.tables) == list(SCHEMA)
    assert list(crm.event_tables) == ["contacts", "feedback", "transactions", "usage"]
    for name, columns in SCHEMA.items():
        frame = crm.tables[name]
        assert {col: _dtype_name(dtype) for col, dtype in frame.dtypes.items()} == columns, name
        assert isinstance(frame.index, pd.RangeIndex), name


def test_categories_and_value_ranges(crm: CRM) -> None:
    customers, contacts, feedback = crm.customers, crm.contacts, crm.feedback
    assert list(customers["segment"].cat.categories) == ["SMB", "Mid-Market", "Enterprise"]
    assert list(customers["product"].cat.categories) == ["Starter", "Professional", "Premium"]
    assert list(customers["contract"].cat.categories) == ["monthly", "annual"]
    assert customers["region"].nunique() == 4
    assert set(contacts["channel"].cat.categories) == {"phone", "email", "chat", "ticket", "visit"}
    assert set(contacts["topic"].cat.categories) == {
        "billing", "technical", "onboarding", "account", "complaint", "renewal", "check-in",
    }  # fmt: skip
    assert list(crm.ground_truth["cause"].cat.categories) == CAUSES
    assert customers["wallet_share"].between(0, 1, inclusive="right").all()
    assert (customers["monthly_value"] > 0).all()
    medians = customers.groupby("segment", observed=True)["monthly_value"].median()
    assert medians["SMB"] < medians["Mid-Market"] < medians["Enterprise"]
    assert (contacts["duration_min"] >= 0).all()
    assert contacts["note"].notna().all()
    assert contacts["note"].nunique() > 20
    nps = feedback.loc[feedback["survey"] == "nps", "score"].dropna()
    csat = feedback.loc[feedback["survey"] == "csat", "score"].dropna()
    assert nps.between(0, 10).all()
    assert (nps == nps.round()).all()
    assert csat.between(1, 5).all()
    assert (csat == csat.round()).all()
    assert 0.05 < feedback["score"].isna().mean() < 0.6  # some surveys go unanswered
    assert feedback.loc[feedback["score"].isna(), "comment"].isna().all()
    assert (crm.usage["logins"] >= 0).all()
    assert (crm.usage["minutes"] >= 0).all()
    kinds = crm.transactions["kind"]
    assert (crm.transactions.loc[kinds == "invoice", "amount"] > 0).all()
    assert (crm.transactions.loc[kinds == "credit", "amount"] < 0).all()


def test_customer_ids_are_unique_and_zero_padded(crm: CRM) -> None:
    ids = crm.customers["customer_id"]
    assert ids.is_unique
    assert ids.iloc[0] == "C000001"
    assert ids.iloc[-1] == "C004000"
    assert ids.str.fullmatch(r"C\d{6}").all()
    assert make_crm(1234, random_state=0, months=3).customers["customer_id"].iloc[-1] == "C001234"
    pd.testing.assert_series_equal(crm.ground_truth["customer_id"], ids)


def test_account_managers_have_names_and_a_portfolio(crm: CRM) -> None:
    managers = crm.customers["account_manager"]
    assert managers.nunique() == 16  # one per 250 customers
    assert managers.astype(str).str.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+").all()
    assert make_crm(20, random_state=0, months=3).customers["account_manager"].nunique() <= 3
    outbound = crm.contacts[crm.contacts["direction"] == "outbound"]
    assert set(outbound["agent"].astype(str)) <= set(managers.astype(str))


def test_sixty_percent_exist_before_the_start(crm: CRM) -> None:
    signup = crm.customers["signup_date"]
    assert 0.55 < (signup < crm.start).mean() < 0.65
    assert signup.min() >= crm.start - pd.Timedelta(days=4 * 366)
    assert signup.max() < crm.end
    assert (signup == signup.dt.normalize()).all()
    assert signup.is_monotonic_increasing  # ids follow the order of signup


def test_event_volumes_per_customer(crm: CRM) -> None:
    customers = crm.customers
    full = customers.loc[(customers["signup_date"] < crm.start) & customers["end_date"].isna()]
    per_customer = {
        name: frame["customer_id"].value_counts().reindex(full["customer_id"], fill_value=0).mean()
        for name, frame in crm.event_tables.items()
    }
    assert 15 < per_customer["contacts"] < 30
    assert 2 < per_customer["feedback"] < 4
    assert 23 < per_customer["transactions"] < 26
    assert 24 <= per_customer["usage"] <= 48


# ------------------------------------------------------------- consistency


def test_every_event_belongs_to_a_customer(crm: CRM) -> None:
    ids = set(crm.customers["customer_id"])
    for name, events in crm.event_tables.items():
        assert set(events["customer_id"]) <= ids, name


def test_events_fall_within_the_data_and_the_customer_life(crm: CRM) -> None:
    customers = crm.customers.set_index("customer_id")
    for name, events in crm.event_tables.items():
        ts = events["timestamp"]
        signup = events["customer_id"].map(customers["signup_date"])
        end = events["customer_id"].map(customers["end_date"])
        assert ts.notna().all(), name
        assert ((ts >= crm.start) & (ts < crm.end)).all(), name
        assert (ts >= signup).all(), name
        assert not (ts >= end).any(), name
        assert (ts != ts.dt.normalize()).all(), name  # events have a time of day


def test_events_are_sorted_by_customer_and_time(crm: CRM) -> None:
    for name, events in crm.event_tables.items():
        ordered = events.sort_values(["customer_id", "timestamp"], kind="stable")
        assert ordered.index.equals(events.index), name


def test_ground_truth_matches_customers(crm: CRM) -> None:
    truth, customers = crm.ground_truth, crm.customers
    assert crm.end == crm.start + pd.DateOffset(months=24)
    pd.testing.assert_series_equal(truth["churned"], customers["end_date"].notna(), check_names=False)
    pd.testing.assert_series_equal(truth["churn_date"], customers["end_date"], check_names=False)
    assert truth.loc[truth["churned"], "cause"].notna().all()
    assert truth.loc[~truth["churned"], "cause"].isna().all()
    churn = truth.loc[truth["churned"], "churn_date"]
    assert churn.between(crm.start, crm.end, inclusive="left").all()
    assert (churn == churn.dt.normalize()).all()
    signup = customers.loc[truth["churned"], "signup_date"]
    assert (churn > signup).all()


# ------------------------------------------------------------------- churn


def test_monthly_churn_rate_between_one_and_four_percent(crm: CRM) -> None:
    rates = _monthly_churn(crm)
    assert len(rates) == 24
    assert ((rates >= 0.01) & (rates <= 0.04)).all(), rates


def test_every_cause_has_a_meaningful_share(crm: CRM) -> None:
    shares = crm.ground_truth["cause"].value_counts(normalize=True)
    assert (shares[CAUSES[1:]] >= 0.05).all(), shares
    assert 0 < shares["other"] <= 0.2


def test_segment_and_contract_change_retention(crm: CRM) -> None:
    table = crm.customers.assign(churned=crm.ground_truth["churned"])
    by_contract = table.groupby("contract", observed=True)["churned"].mean()
    by_segment = table.groupby("segment", observed=True)["churned"].mean()
    assert by_contract["monthly"] > by_contract["annual"]
    assert by_segment["SMB"] > by_segment["Enterprise"]


def test_unresolved_complaint_churners_had_open_issues(crm: CRM, reference: pd.Series) -> None:
    groups = _groups(crm, reference)
    # The hazard of a month follows the open issues of the three months before the previous one.
    contacts = _before(crm.contacts, reference, 150)
    problems = contacts["topic"].isin(["complaint", "billing", "technical"])
    open_ = contacts[problems & ~contacts["resolved"]]["customer_id"].value_counts()
    churners = open_.reindex(groups["unresolved_complaints"], fill_value=0)
    stayed = open_.reindex(groups["stayed"], fill_value=0)
    assert churners.mean() > 1.5 > 10 * stayed.mean()
    assert (churners > 0).mean() > 0.95


def test_detractor_churners_answered_badly(crm: CRM, reference: pd.Series) -> None:
    groups = _groups(crm, reference)
    answers = _before(crm.feedback, reference, 365).dropna(subset=["score"])
    answers = answers.assign(
        poor=np.where(answers["survey"] == "nps", answers["score"] <= 6, answers["score"] <= 2)
    )
    last = answers.groupby("customer_id")["poor"].last()
    churners = last.reindex(groups["detractor_feedback"])
    stayed = last.reindex(groups["stayed"]).dropna()
    assert churners.notna().mean() > 0.95
    assert churners.mean() > 0.8 > 0.25 > stayed.mean()


def test_falling_usage_churners_used_less_and_less(crm: CRM, reference: pd.Series) -> None:
    groups = _groups(crm, reference)
    recent = _before(crm.usage, reference, 45).groupby("customer_id")["logins"].mean()
    before = _before(crm.usage, reference, 150)
    before = before[before["timestamp"] < before["customer_id"].map(reference) - 90 * DAY]
    trend = recent / before.groupby("customer_id")["logins"].mean()
    churners = trend.reindex(groups["falling_usage"]).dropna()
    stayed = trend.reindex(groups["stayed"]).dropna()
    assert churners.median() < 0.7 < 0.9 < stayed.median()


def test_price_shock_churners_saw_their_invoice_jump(crm: CRM, reference: pd.Series) -> None:
    groups = _groups(crm, reference)
    invoices = _before(crm.transactions, reference, 300)
    invoices = invoices[invoices["kind"] == "invoice"]
    step = invoices.groupby("customer_id")["amount"].pct_change()
    jump = step.groupby(invoices["customer_id"]).max()
    churners = jump.reindex(groups["price_shock"]).fillna(0)
    stayed = jump.reindex(groups["stayed"]).fillna(0)
    # Jumps are 15-40 % of the price; invoices vary by about 1 % around it.
    assert (churners >= 0.12).mean() > 0.95
    assert (stayed >= 0.12).mean() < 0.25
    assert churners.max() < 0.5


def test_no_outbound_churners_were_not_called(crm: CRM, reference: pd.Series) -> None:
    groups = _groups(crm, reference)
    outbound = crm.contacts[crm.contacts["direction"] == "outbound"]
    outbound = outbound[outbound["timestamp"] < outbound["customer_id"].map(reference)]
    last = outbound.groupby("customer_id")["timestamp"].max()
    since = (reference - last.reindex(reference.index)) / DAY
    since = since.fillna((reference - crm.start) / DAY)
    churners, stayed = since[groups["no_outbound_contact"]], since[groups["stayed"]]
    assert churners.median() > 120 > 2 * stayed.median()


def test_poor_onboarding_churners_left_early_and_untrained(crm: CRM) -> None:
    customers = crm.customers.set_index("customer_id")
    truth = crm.ground_truth.set_index("customer_id")
    new = customers.index[customers["signup_date"] >= crm.start]
    contacts = crm.contacts[crm.contacts["topic"] == "onboarding"]
    onboarding = contacts["customer_id"].value_counts().reindex(new, fill_value=0)
    churners = new[truth.loc[new, "cause"] == "poor_onboarding"]
    good = new[~truth.loc[new, "churned"]]
    assert onboarding[churners].mean() < 0.5 < 2 < onboarding[good].mean()
    tenure = (customers.loc[churners, "end_date"] - customers.loc[churners, "signup_date"]) / DAY
    assert tenure.max() < 220


# ---------------------------------------------------------------------- I/O


def _read_csv(path, like: pd.DataFrame) -> pd.DataFrame:
    dates = [col for col, dtype in like.dtypes.items() if str(dtype).startswith("datetime")]
    frame = pd.read_csv(path, parse_dates=dates)
    return frame.astype(like.dtypes.to_dict())


def _read_parquet(path, like: pd.DataFrame) -> pd.DataFrame:
    """Read back; text pandas 2 reads as ``string[python]`` is cast to the written dtype."""
    frame = pd.read_parquet(path)
    text = {col: dtype for col, dtype in like.dtypes.items()
            if isinstance(dtype, pd.StringDtype) and isinstance(frame[col].dtype, pd.StringDtype)}
    return frame.astype(text)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_round_trip(tmp_path, fmt: str) -> None:
    crm = make_crm(300, random_state=5, months=4)
    paths = crm.write(tmp_path / "crm", format=fmt)
    assert list(paths) == list(SCHEMA)
    assert {path.name for path in paths.values()} == {f"{name}.{fmt}" for name in SCHEMA}
    for name, frame in crm.tables.items():
        back = _read_csv(paths[name], frame) if fmt == "csv" else _read_parquet(paths[name], frame)
        pd.testing.assert_frame_equal(back, frame, check_exact=True)


def test_write_rejects_unknown_format(tmp_path) -> None:
    crm = make_crm(10, random_state=0, months=3)
    msg = "The 'format' parameter of CRM.write must be a str among {'csv', 'parquet'}. Got 'xlsx'"
    with pytest.raises(ValueError, match=re.escape(msg)):
        crm.write(tmp_path, format="xlsx")


# --------------------------------------------------------------- parameters


def _message(name: str, expected: str, got: str = "") -> str:
    text = f"The '{name}' parameter of make_crm must be {expected}"
    return f"{text}. Got {got} instead." if got else text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_customers": -3}, _message("n_customers", "an int >= 1", "-3")),
        ({"n_customers": 0}, _message("n_customers", "an int >= 1", "0")),
        ({"n_customers": 2.5}, _message("n_customers", "an int >= 1", "2.5")),
        ({"n_customers": True}, _message("n_customers", "an int >= 1", "True")),
        ({"months": 2}, _message("months", "an int in the range [3, 1200]", "2")),
        ({"months": 12.0}, _message("months", "an int in the range [3, 1200]", "12.0")),
        ({"random_state": -1}, _message("random_state", "an int >= 0 or None", "-1")),
        ({"random_state": "a"}, _message("random_state", "an int >= 0 or None", "'a'")),
        ({"start": "soon"}, _message("start", "a date such as '2024-01-01'")),
        ({"start": "2024-01-01 10:30"}, _message("start", "a date such as '2024-01-01'")),
        ({"start": 20240101}, _message("start", "a date such as '2024-01-01'")),
        ({"start": "1000-01-01"}, _message("start", "a date from 1682-01-01 on", "'1000-01-01'")),
        ({"start": "2261-01-01"}, _message("start", "a date from 1682-01-01 to 2260-04-11")),
    ],
)
def test_invalid_parameters_raise(kwargs: dict, message: str) -> None:
    params = {"n_customers": 10} | kwargs
    with pytest.raises(ValueError, match=re.escape(message)):
        make_crm(**params)


def test_parameters_after_n_customers_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        make_crm(10, 0)  # type: ignore[misc]


def test_small_and_shifted_crm() -> None:
    crm = make_crm(1, random_state=0, start=pd.Timestamp("2023-03-31"), months=3)
    assert len(crm.customers) == 1
    assert crm.start == pd.Timestamp("2023-03-31")
    assert crm.end == pd.Timestamp("2023-06-30")
    for events in crm.event_tables.values():
        assert events["timestamp"].between(crm.start, crm.end, inclusive="left").all()
    assert make_crm(np.int64(5), random_state=np.int64(1), months=np.int32(3)).customers.shape[0] == 5


def test_crm_is_frozen_and_has_a_short_repr(crm: CRM) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        crm.customers = crm.customers  # type: ignore[misc]
    text = repr(crm)
    assert text.startswith("CRM(start=2024-01-01, end=2026-01-01, rows: customers=4_000")
    assert len(text) < 200


def test_every_planted_cause_has_a_reason_group():
    from churnkit.datasets import REASON_OF_CAUSE
    from churnkit.datasets._simulate import CAUSES
    from churnkit.explain import load_reasons

    assert set(REASON_OF_CAUSE) == set(CAUSES) - {"other"}
    groups = {g.id for g in load_reasons().reasons}
    assert set(REASON_OF_CAUSE.values()) <= groups
