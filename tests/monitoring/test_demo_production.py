"""``churnkit demo --monitor``: a year in production after planted drift, and what monitor finds."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from churnkit.jobs._demo import CHANGE, demo_production

pytestmark = pytest.mark.slow  # trains on a 3-year sample CRM and scores twelve runs


def test_the_production_year_shows_both_planted_changes(tmp_path):
    summary = demo_production(tmp_path, n_customers=3000, random_state=0)
    record = json.loads((tmp_path / "monitor" / "monitor.json").read_text())
    runs = {r["as_of"]: r for r in record["runs"]}
    assert len(runs) == 12
    assert len(list((tmp_path / "runs").glob("*/run.json"))) == 12
    # data drift: the first run with invoices of the new billing system (scored on
    # 2025-11-01) puts invoice features first; none before it acts on drift
    first_after = runs["2025-11-01"]
    top = first_after["top_drift"]
    assert top[0]["level"] == "act"
    assert top[0]["feature"].startswith("transactions__"), top
    # every feature it acts on is an invoice feature; the others are watched at most
    assert all(f["feature"].startswith("transactions__") for f in top if f["level"] == "act"), top
    for as_of, run in runs.items():
        if as_of < "2025-11-01":
            assert not any(f["level"] == "act" for f in run["top_drift"]), (as_of, run["top_drift"])
    assert summary["first_drift_alarm"].startswith("2025-11-01: transactions__")
    # the broken cause: realised ROC-AUC falls once a run's 90-day horizon reaches the change
    horizon = pd.Timedelta(days=90)
    for as_of, run in runs.items():
        level = run["performance"]["level"]
        if pd.Timestamp(as_of) + horizon <= pd.Timestamp(CHANGE):
            assert level == "ok", (as_of, run["performance"])
        elif as_of >= CHANGE:
            assert level == "act", (as_of, run["performance"])
    assert "ROC-AUC" in summary["first_retrain_advice"]
    assert record["retrain"]["advised"] is True
    assert "(exit code 3)" in summary["monitor"]
    assert "<img" in (tmp_path / "monitor" / "monitor.html").read_text()
