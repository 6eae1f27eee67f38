"""``churnkit impact`` on the sample CRM's past campaigns: joins, refusals, files, planted effects."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from cli_runner import cli_runner

import churnkit as ck
from churnkit import jobs
from churnkit.cli import app
from churnkit.datasets import make_crm
from churnkit.impact import HorizonNotPassedError, realised_outcomes

pytestmark = pytest.mark.slow  # generates and loads a 3,000-customer sample CRM


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    crm = make_crm(3000, random_state=2, months=12, campaigns=2)
    folder = tmp_path_factory.mktemp("impact")
    config = crm.write_project(folder)
    return crm, config, ck.load_dataset(ck.load_config(config))


def test_outcomes_follow_the_label_definition_and_the_actions_log(project):
    crm, _, dataset = project
    joined, left_out = realised_outcomes(dataset, crm.assignments, horizon_days=90)
    assert len(joined) + len(left_out) == len(crm.assignments)  # nothing lost
    end = joined["customer_id"].map(crm.customers.set_index("customer_id")["end_date"])
    expected = (end >= joined["as_of"]) & (end < joined["as_of"] + pd.Timedelta(days=90))
    assert joined["churned"].tolist() == expected.tolist()
    contacted = set(crm.actions["customer_id"])
    assert joined["contacted"].tolist() == joined["customer_id"].isin(contacted).tolist()
    assert not joined.loc[joined["group"] == "control", "contacted"].any()


def test_a_run_whose_horizon_has_not_passed_is_refused(project):
    crm, _, dataset = project
    late = crm.assignments.assign(run_id="late", as_of=dataset.end - pd.Timedelta(days=30))
    with pytest.raises(HorizonNotPassedError, match=r"late .*horizon ends .*"
                                                     rf"{len(late):,} outcome\(s\) still unknown"):
        realised_outcomes(dataset, late, horizon_days=90)


def test_bad_groups_are_named(project):
    crm, _, dataset = project
    bad = crm.assignments.astype({"group": object})
    bad.loc[3, "group"] = "maybe"
    with pytest.raises(ck.SchemaError, match=r"assignments.group: 1 value.*rows \[3\].*'maybe'"):
        realised_outcomes(dataset, bad)


def test_impact_finds_the_planted_harm_and_writes_its_files(project, tmp_path):
    crm, config, dataset = project
    result = jobs.impact(ck.load_config(config), crm.assignments, dataset=dataset)
    rows = result.breakdown.set_index(["breakdown", "level"])
    truth = crm.assignments.merge(crm.ground_truth, on="customer_id").groupby(
        "recommended_playbook")["true_effect"].mean()
    harm = rows.loc[("recommended_playbook", "contract_plan")]
    assert harm["cace"] > 0.02  # the renewal reminder made customers leave
    assert harm["cace_low"] <= truth["contract_plan"] <= harm["cace_high"]
    assert set(result.breakdown["breakdown"]) == {"recommended_playbook", "reason_1", "risk_band",
                                                  "account_manager"}
    paths = result.write(tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["summary"]["treated"] + data["summary"]["control"] == data["summary"]["measured"]
    assert "<img" in paths["html"].read_text()


def test_impact_cli_prints_json(project, tmp_path):
    _, config, _ = project
    result = cli_runner().invoke(app, [
        "impact", "--config", str(config), "--assignments",
        str(config.parent / "data" / "assignments.csv"), "--out", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["summary"]["runs"] == 2
    assert (tmp_path / "impact.html").is_file()
