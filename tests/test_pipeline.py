"""The whole pipeline on the built-in sample CRM."""

import numpy as np
import pandas as pd
import pytest

import churnkit as ck
from churnkit._core import builtin_config
from churnkit.datasets import make_crm

pytestmark = pytest.mark.slow  # trains and scores a 1,500-customer sample CRM end to end


@pytest.fixture(scope="module")
def crm_config(tmp_path_factory):
    root = tmp_path_factory.mktemp("crm")
    crm = make_crm(1500, random_state=3)
    crm.write(root / "data", format="parquet")
    text = builtin_config("default.yaml").read_text().replace(".csv", ".parquet")
    (root / "config.yaml").write_text(text)
    return crm, ck.load_config(root / "config.yaml")


@pytest.fixture(scope="module")
def trained(crm_config):
    _, cfg = crm_config
    return ck.train(cfg)


def test_features_ignore_everything_at_or_after_the_cutoff(crm_config):
    """Drop all events at/after the cutoff and move every later end date: same features."""
    crm, cfg = crm_config
    full = ck.load_dataset(cfg)
    cutoff = pd.Timestamp("2025-03-01")
    spine = full.customers.loc[ck.labels.active_mask(full, cutoff), ["customer_id"]].assign(
        cutoff=cutoff).reset_index(drop=True)
    fs = ck.FeatureSet().fit(full, spine)
    before = fs.transform(full, spine)

    tables = {"customers": crm.customers.assign(
        end_date=crm.customers["end_date"].where(crm.customers["end_date"] < cutoff))}
    for name, ev in crm.event_tables.items():
        past = ev[ev["timestamp"] < cutoff]
        # future rows for every customer, some exactly at the cutoff
        future = past.sample(n=min(len(past), 3000), random_state=0).assign(
            timestamp=cutoff + pd.to_timedelta(np.arange(min(len(past), 3000)) % 400, "D"))
        tables[name] = pd.concat([past, future], ignore_index=True)
    changed = ck.load_dataset(cfg, tables)
    after = fs.transform(changed, spine)
    pd.testing.assert_frame_equal(before, after)


def test_training_rows_are_active_customers_with_complete_horizons(trained, crm_config):
    crm, cfg = crm_config
    labels = trained.labels
    horizon = pd.Timedelta(days=cfg.labels.horizon_days)
    assert (labels["cutoff"] + horizon <= trained.dataset.end).all()
    cust = crm.customers.set_index("customer_id")
    rows = cust.loc[labels["customer_id"]]
    assert (rows["signup_date"].to_numpy() < labels["cutoff"].to_numpy()).all()
    ended = rows["end_date"].to_numpy()
    assert not (pd.notna(ended) & (ended < labels["cutoff"].to_numpy())).any()
    expected = pd.notna(ended) & (ended < (labels["cutoff"] + horizon).to_numpy())
    np.testing.assert_array_equal(labels["label"].to_numpy(), expected)


def test_validation_auc_on_planted_causes(trained):
    assert trained.model.metrics_["roc_auc"] >= 0.80, trained.model.metrics_


def test_every_customer_is_scored_or_rejected_once(trained, crm_config):
    crm, cfg = crm_config
    result = ck.score(cfg, trained.model)
    scored = set(result.scores["customer_id"])
    rejected = result.rejects.loc[result.rejects["table"] == "customers", "customer_id"]
    assert scored.isdisjoint(rejected)
    assert len(scored) + len(rejected) == len(crm.customers)
    assert rejected.is_unique
    # scored = customers still active at the end of the data
    active = crm.customers["end_date"].isna() | (crm.customers["end_date"] >= result.dataset.end)
    assert scored == set(crm.customers.loc[active, "customer_id"])


def test_scores_carry_reasons_actions_and_owners(trained, crm_config):
    _, cfg = crm_config
    s = ck.score(cfg, trained.model).scores
    assert list(s.columns[:11]) == [
        "customer_id", "as_of", "churn_probability", "risk_band", "value_at_risk",
        "reason_1", "reason_2", "reason_3", "action_1", "action_2", "action_3"]
    assert {"account_manager", "last_contact", "last_feedback", "model_version"} <= set(s.columns)
    high = s[s["risk_band"] == "high"]
    assert len(high) > 0
    assert high["reason_1"].notna().all()
    assert high["action_1"].notna().all()


def test_scoring_as_of_an_earlier_date_uses_only_earlier_data(trained, crm_config):
    """Scores, reasons and actions as of a past date are those of the data known then.

    The same scoring on tables cut at ``as_of`` (no later event, no later churn date) and
    with different later events planted gives identical rows: nothing at or after the
    score date reaches a score.
    """
    crm, cfg = crm_config
    as_of = pd.Timestamp("2025-06-01")
    full = ck.score(cfg, trained.model, as_of=as_of).scores
    assert len(full) > 0
    assert (full["as_of"] == "2025-06-01").all()

    customers = crm.customers.assign(
        end_date=crm.customers["end_date"].where(crm.customers["end_date"] < as_of))
    tables = {"customers": customers}
    for name, ev in crm.event_tables.items():
        past = ev[ev["timestamp"] < as_of]
        n = min(len(past), 2000)
        other_future = past.sample(n=n, random_state=1).assign(
            timestamp=as_of + pd.to_timedelta(np.arange(n) % 200, "D"))
        tables[name] = pd.concat([past, other_future], ignore_index=True)
    known_then = ck.score(cfg, trained.model, as_of=as_of, tables=tables).scores
    pd.testing.assert_frame_equal(full, known_then)


def test_same_data_and_seed_give_identical_scores_files(trained, crm_config, tmp_path):
    _, cfg = crm_config
    again = ck.train(cfg)
    a = ck.scoring.write_table(ck.score(cfg, trained.model).scores, tmp_path / "a.csv")
    b = ck.scoring.write_table(ck.score(cfg, again.model).scores, tmp_path / "b.csv")
    assert a.read_bytes() == b.read_bytes()


def test_scoring_data_missing_a_trained_column_is_a_clear_error(trained, crm_config):
    crm, cfg = crm_config
    tables = {"customers": crm.customers, **crm.event_tables}
    tables["contacts"] = tables["contacts"].drop(columns=["topic"])
    with pytest.raises(ck.SchemaError, match=r"Table 'contacts' lacks column\(s\) \['topic'\]"):
        ck.score(cfg, trained.model, tables=tables)
    tables = {"customers": crm.customers.drop(columns=["region"]), **crm.event_tables}
    with pytest.raises(ck.SchemaError, match=r"Table 'customers' lacks column\(s\) \['region'\]"):
        ck.score(cfg, trained.model, tables=tables)
