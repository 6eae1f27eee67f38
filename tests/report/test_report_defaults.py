"""`report` lists customers above low risk by default; snapshot `score` leaves out churned customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from cli_runner import cli_runner

import churnkit as ck
from churnkit.cli import app
from churnkit.config import config_from_dict
from churnkit.data import rejected_customers


def _scores(path) -> pd.DataFrame:
    n = 30
    scores = pd.DataFrame({
        "customer_id": [f"c{i:02d}" for i in range(n)], "as_of": "2024-06-30",
        "churn_probability": np.linspace(0.9, 0.01, n),
        "account_manager": ["Ann", "Bob", "Cy"] * 10,
    })
    scores["risk_band"] = ck.actions.risk_band(scores["churn_probability"]).to_numpy(dtype=object)
    scores["value_at_risk"] = np.round(scores["churn_probability"] * 100, 2)
    scores.to_csv(path, index=False)
    return scores


def test_report_without_min_band_lists_customers_above_low_risk(tmp_path):
    scores = _scores(tmp_path / "s.csv")
    r = cli_runner().invoke(app, ["report", "--scores", str(tmp_path / "s.csv"),
                                 "--out", str(tmp_path / "lists"), "--format", "json"])
    assert r.exit_code == 0, r.output
    lists = pd.read_csv(tmp_path / "lists" / "at_risk.csv")
    at_risk = scores[scores["risk_band"] != "low"]
    assert 0 < len(at_risk) < len(scores)
    assert set(lists["customer_id"]) == set(at_risk["customer_id"])
    assert "low" not in set(lists["risk_band"])
    # --min-band low lists everyone, as before
    r = cli_runner().invoke(app, ["report", "--scores", str(tmp_path / "s.csv"),
                                 "--out", str(tmp_path / "all"), "--min-band", "low"])
    assert r.exit_code == 0, r.output
    assert len(pd.read_csv(tmp_path / "all" / "at_risk.csv")) == len(scores)


def test_snapshot_score_leaves_churned_customers_out_with_a_reason():
    rng = np.random.default_rng(0)
    n = 300
    usage = rng.uniform(0, 10, n)
    churned = rng.uniform(0, 10, n) > usage + 2
    table = pd.DataFrame({"usage": usage.round(2), "plan": rng.choice(["a", "b"], n),
                          "Churn": np.where(churned, "Yes", "No")})
    cfg = config_from_dict({
        "name": "snap", "data": {"snapshot": {"label": "Churn", "positive": ["Yes"]}},
        "labels": {"definition": "column"},
        "model": {"n_estimators": 20, "min_child_samples": 5, "calibration": "none",
                  "n_jobs": 1},
        "scoring": {"explain": "none"},
    })
    model = ck.train(cfg, tables={"snapshot": table}).model
    result = ck.score(cfg, model, tables={"snapshot": table})
    scored = set(result.scores["customer_id"])
    assert scored == {str(i) for i in np.flatnonzero(~churned)}
    assert result.summary["not_active"] == int(churned.sum()) > 0
    gone = rejected_customers(result.rejects)
    assert set(gone) == {str(i) for i in np.flatnonzero(churned)}
    line = result.rejects[result.rejects["customer_id"] == str(np.flatnonzero(churned)[0])]
    assert line["reason"].iloc[0] == \
        "already churned (snapshot.Churn is one of the positive values); not scored"
    assert line["table"].iloc[0] == "snapshot"
