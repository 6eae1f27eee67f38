"""Every job's summary names the churnkit version that produced it."""

import pytest

import churnkit as ck
from churnkit import __version__
from churnkit._core import builtin_config


@pytest.mark.slow  # trains, scores, lists and measures retention
def test_train_score_report_and_retention_summaries_carry_the_version(tmp_path):
    crm = ck.datasets.make_crm(300, random_state=0)
    cfg = ck.load_config(builtin_config("default.yaml"))
    trained = ck.train(cfg, tables=crm.tables)
    scored = ck.score(cfg, trained.model, tables=crm.tables)
    listed = ck.jobs.report(scored.scores, tmp_path / "lists")
    retained = ck.jobs.retention(cfg, tmp_path / "retention", dataset=scored.dataset)
    for summary in (trained.summary, scored.summary, listed, retained):
        assert summary["churnkit_version"] == __version__
    assert ck.load_model(ck.save_model(trained.model, tmp_path / "m")).manifest_[
        "versions"]["churnkit"] == __version__
