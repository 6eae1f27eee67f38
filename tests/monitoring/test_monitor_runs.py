"""Monitoring monthly scoring runs of the sample CRM, with and without planted drift.

A model is trained on the data up to 2025-07-01 and scores twelve monthly runs
from then on; the CRM's later months carry either no drift, a shifted invoice
amount (a new billing system), or usage that stops telling who will churn.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from cli_runner import cli_runner

import churnkit as ck
import churnkit._core.runs as runs_module
from churnkit._core import builtin_config, output_run
from churnkit.cli import app
from churnkit.config import config_from_dict
from churnkit.model import load_model
from churnkit.monitoring import read_runs

pytestmark = pytest.mark.slow

CHANGE = "2025-10-01"
RUNS = [(pd.Timestamp("2025-07-01") + pd.DateOffset(months=m)).date().isoformat()
        for m in range(12)]


def _config(end: str):
    data = ck.load_config(builtin_config("default.yaml")).model_dump(exclude={"base_dir"})
    data["data"]["end"] = end
    data["scoring"]["explain"] = "none"
    data["model"]["tune"] = "off"
    return config_from_dict(data)


def _scenario(seed: int, tmp: Path, **drift):
    crm = ck.datasets.make_crm(3000, random_state=seed, months=36)
    model = ck.train(_config("2025-07-01"), tables=crm.tables).model
    changed = ck.datasets.make_crm(3000, random_state=seed, months=36, **drift) if drift else crm
    config = _config("2027-01-01")
    for as_of in RUNS:
        ck.score(config, model, tables=changed.tables, as_of=as_of).write(
            tmp / as_of / "scores.csv")
    return model, config, changed


@pytest.fixture(scope="module")
def shifted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shift")
    model, config, crm = _scenario(1, tmp, shift_amounts_from=CHANGE)
    return tmp, model, config, crm


def test_run_json_is_compact_and_complete(shifted):
    tmp, model, _, _ = shifted
    record = json.loads((tmp / RUNS[0] / "run.json").read_text())
    assert record["model_version"] == model.version_
    assert record["files"] == {"scores": "scores.csv", "rejects": "rejects.csv"}
    assert set(record["features"]) == set(model.feature_names_in_)
    assert sum(record["score"]["counts"]) == record["rows"]["scored"]
    assert record["rejects_by_reason"]  # customers no longer active, by reason
    assert (tmp / RUNS[0] / "run.json").stat().st_size < 200_000


def test_shifted_amounts_are_flagged_first_after_the_change(shifted):
    tmp, model, config, crm = shifted
    result = ck.monitor(model, [tmp], config=config, tables=crm.tables)
    runs = {r["as_of"]: r for r in result.summary["runs"]}
    first_after = runs["2025-11-01"]
    assert first_after["status"] == "act"
    top3 = [f["feature"] for f in first_after["top_drift"][:3]]
    assert any(f.startswith("transactions__amount") for f in top3), top3
    for as_of in RUNS[:4]:  # before the change: nothing to act on
        assert runs[as_of]["status"] != "act", runs[as_of]["reasons"]
    assert result.exit_code == 3
    pending = [r for r in result.summary["runs"] if r["performance"]["status"] == "pending"]
    assert not pending  # the data runs a year past the last run
    files = result.write(tmp / "report")
    assert "<img" in files["html"].read_text()


@pytest.mark.parametrize("seed", [1, 2])
def test_broken_relationship_shows_as_degraded_performance(seed, tmp_path):
    model, config, crm = _scenario(seed, tmp_path, break_from=CHANGE, break_cause="unresolved_complaints")
    result = ck.monitor(model, [tmp_path], config=config, tables=crm.tables)
    runs = {r["as_of"]: r for r in result.summary["runs"]}
    # runs whose 90-day horizon ended before the change came true as validated
    assert runs["2025-07-01"]["performance"]["level"] == "ok"
    first_after = runs["2025-11-01"]
    assert first_after["performance"]["level"] == "act", first_after["performance"]
    assert first_after["status"] == "act"
    assert any("ROC-AUC" in e for e in first_after["performance"]["evidence"])
    assert result.summary["retrain"]["evidence"]


@pytest.mark.parametrize("seed", [2, 3])
def test_undrifted_runs_raise_no_act_alarm(seed, tmp_path):
    model, config, crm = _scenario(seed, tmp_path)
    result = ck.monitor(model, [tmp_path], config=config, tables=crm.tables)
    acts = [(r["as_of"], r["reasons"]) for r in result.summary["runs"] if r["status"] == "act"]
    assert not acts
    assert result.exit_code == 0


def test_cli_exit_code_and_pending_outcomes(shifted, tmp_path):
    tmp, model, _, crm = shifted
    model_dir = ck.save_model(model, tmp_path / "model")
    assert (model_dir / "training_profile.json").is_file()
    again = load_model(model_dir)
    assert again.training_profile_ == model.training_profile_
    project = crm.write_project(tmp_path / "project")
    res = cli_runner().invoke(app, ["monitor", "--model", str(model_dir), "--runs", str(tmp),
                                    "--format", "json"])
    assert res.exit_code == 3, res.stderr
    summary = json.loads(res.stdout)
    assert summary["status"] == "act"
    assert {r["performance"]["status"] for r in summary["runs"]} == {"no data"}
    # with the data only up to two months after the last run, the newest runs are pending
    cfg = project.parent / "short.yaml"
    cfg.write_text(project.read_text().replace("  # end: 2026-01-01", "  end: 2026-08-01"))
    res = cli_runner().invoke(app, ["monitor", "--model", str(model_dir), "--runs", str(tmp),
                                    "-c", str(cfg), "--format", "json"])
    assert res.exit_code in (0, 3), res.stderr
    summary = json.loads(res.stdout)
    status = {r["as_of"]: r["performance"]["status"] for r in summary["runs"]}
    assert status["2026-06-01"] == "pending"
    assert status["2026-04-01"] == "known"
    pending = summary["runs"][-1]["performance"]
    assert pending["outcomes_unknown"] == summary["runs"][-1]["scored"]


def test_reading_runs_completes_a_run_interrupted_after_its_commit(tmp_path, monkeypatch):
    """A scoring run killed between its commit and its renames has only staged files;
    monitor completes the run before reading it instead of saying there is none."""
    folder = tmp_path / "2024-06"
    record = {"format": "churnkit.run", "as_of": "2024-06-30", "created": "x"}
    with monkeypatch.context() as mp:
        mp.setattr(runs_module, "_apply", lambda folder: None)  # killed right after the commit
        with output_run(folder) as run:
            run.stage(folder / "run.json").write_text(json.dumps(record), encoding="utf-8")
    assert not (folder / "run.json").exists()
    assert (folder / ".churnkit-run.json").exists()
    [got] = read_runs([folder])
    assert got["as_of"] == "2024-06-30"
    assert not (folder / ".churnkit-run.json").exists()
