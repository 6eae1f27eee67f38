"""``churnkit train --uplift`` and ``churnkit rank`` on the sample CRM's past campaigns."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from cli_runner import cli_runner

import churnkit as ck
from churnkit import jobs
from churnkit.cli import app
from churnkit.datasets import make_crm
from churnkit.exceptions import ModelError
from churnkit.features import feature_set

pytestmark = pytest.mark.slow  # fits bagged LightGBM learners on a sample CRM


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uplift")
    crm = make_crm(3000, random_state=3, months=12, campaigns=2)
    config = crm.write_project(folder)
    cfg = ck.load_config(config)
    dataset = ck.load_dataset(cfg)
    result = jobs.train_uplift(cfg, [crm.assignments], dataset=dataset)
    return crm, config, cfg, dataset, result


def test_summary_compares_uplift_with_the_risk_ranking(trained):
    crm, _, cfg, _, result = trained
    s = result.summary
    assert s["customers"] + 0 <= len(crm.assignments)
    assert s["learner"] in {"t", "x"}
    # the experiments' features are built with the churn model's feature settings
    assert result.features.get_params() == feature_set(cfg.features).get_params()
    assert set(s["held_out_metrics"]) == {"uplift", "risk", "risk_x_value"}
    for metrics in s["held_out_metrics"].values():
        assert set(metrics) == {"qini", "auuc", "uplift_at_10pct"}


def test_ranked_list_orders_by_expected_saved_value_and_flags_harm(trained):
    crm, _, cfg, dataset, result = trained
    scores = crm.assignments[["customer_id", "as_of", "churn_probability", "recommended_playbook"]]
    ranked = jobs.rank_by_uplift(cfg, result, scores, dataset=dataset)
    assert len(ranked) == len(scores)
    expected = ranked["uplift"] * ranked["value"] * cfg.scoring.value_horizon_months
    pd.testing.assert_series_equal(ranked["expected_saved_value"], expected, check_names=False)
    contact = ranked[~ranked["do_not_contact"]]
    assert contact["expected_saved_value"].is_monotonic_decreasing
    flagged = ranked[ranked["do_not_contact"]]
    agreed = ranked["uplift_high"] < -cfg.uplift.harm_threshold
    effects = result.summary["measured_effects"]
    harmful = {pb for pb, e in effects.items() if e["low"] > 0}
    shown = ranked["recommended_playbook"].astype(str).isin(harmful)
    # flagged: every bag agrees, and the experiments measured harm for the playbook
    assert ranked["do_not_contact"].equals(agreed & shown)
    assert harmful  # the sample CRM's renewal reminders harm
    assert len(flagged) > 0
    assert flagged["do_not_contact_reason"].str.contains("raises the churn probability").all()
    assert flagged["do_not_contact_reason"].str.contains("95 % interval").all()
    assert ranked["uplift_rank"].tolist() == list(range(1, len(ranked) + 1))
    # on the bags' agreement alone, the flags are exactly those customers
    alone = cfg.model_copy(update={"uplift": cfg.uplift.model_copy(update={"harm_evidence": False})})
    loose = jobs.rank_by_uplift(alone, result, scores, dataset=dataset)
    loose_agreed = loose["uplift_high"] < -cfg.uplift.harm_threshold
    assert loose["do_not_contact"].equals(loose_agreed)
    assert loose["do_not_contact"].sum() >= ranked["do_not_contact"].sum()


def test_measured_effects_are_treated_minus_control_per_playbook(trained):
    crm, _, cfg, dataset, result = trained
    effects = result.summary["measured_effects"]
    from churnkit.impact import difference_interval, realised_outcomes
    joined, _ = realised_outcomes(dataset, crm.assignments)
    for pb, e in effects.items():
        rows = joined if pb == "(all)" else joined[joined["recommended_playbook"] == pb]
        t = rows["group"] == "treat"
        itt, low, high = difference_interval(rows["churned"][t].sum(), t.sum(),
                                             rows["churned"][~t].sum(), (~t).sum())
        assert (e["treated"], e["control"]) == (t.sum(), (~t).sum())
        assert (e["itt"], e["low"], e["high"]) == pytest.approx((itt, low, high))
    assert set(effects) == {"(all)", *crm.assignments["recommended_playbook"].astype(str)}


def test_saved_model_is_data_and_predicts_as_before(trained, tmp_path):
    """JSON and LightGBM text only: the loaded model ranks exactly as the fitted one."""
    crm, _, cfg, dataset, result = trained
    folder = result.write(tmp_path / "model")
    names = sorted(p.name for p in folder.iterdir())
    assert all(n.endswith((".json", ".txt")) for n in names), names
    assert sum(n.endswith(".txt") for n in names) >= 2 * cfg.uplift.bags
    again = jobs.load_uplift(folder)
    assert again.summary["learner"] == result.summary["learner"]
    assert again.model.features_ == result.model.features_
    scores = crm.assignments[["customer_id", "as_of", "churn_probability", "recommended_playbook"]]
    before = jobs.rank_by_uplift(cfg, result, scores, dataset=dataset)
    after = jobs.rank_by_uplift(cfg, again, scores, dataset=dataset)
    pd.testing.assert_frame_equal(before, after, check_exact=False, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("damage", ["change", "remove", "pickle"])
def test_saved_model_is_checked_on_load(trained, tmp_path, damage):
    *_, result = trained
    folder = result.write(tmp_path / "model")
    booster = folder / "bag0_mu0.txt"
    if damage == "change":
        booster.write_text(booster.read_text().replace("Tree=0", "Tree=9", 1))
        match = "does not match the sha256"
    elif damage == "remove":
        booster.unlink()
        match = "a file of the uplift model is missing"
    else:  # a folder an earlier version wrote: a pickle and a manifest without files
        manifest = json.loads((folder / "uplift.json").read_text())
        del manifest["files"]
        (folder / "uplift.json").write_text(json.dumps(manifest))
        (folder / "uplift.joblib").write_bytes(b"not loaded")
        match = "saved as a pickle by an earlier version and is not loaded"
    with pytest.raises(ModelError, match=match):
        jobs.load_uplift(folder)


def test_cli_trains_and_ranks(trained, tmp_path):
    crm, config, *_ = trained
    runner = cli_runner()
    model = tmp_path / "uplift"
    done = runner.invoke(app, ["train", "--config", str(config), "--out", str(model), "--uplift",
                               "--assignments", str(config.parent / "data" / "assignments.csv"),
                               "--format", "json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["experiments"] == 2
    scores = tmp_path / "scores.csv"
    crm.assignments[["customer_id", "as_of", "churn_probability", "recommended_playbook"]].to_csv(scores, index=False)
    out = tmp_path / "ranked.csv"
    ranked = runner.invoke(app, ["rank", "--config", str(config), "--uplift", str(model),
                                 "--scores", str(scores), "--out", str(out)])
    assert ranked.exit_code == 0, ranked.output
    assert "expected_saved_value" in pd.read_csv(out).columns
