"""Infinite or negative monthly values are rejected with a reason, never turned into a value at risk."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import cli_runner

import churnkit as ck
from churnkit.actions import at_risk_from_scores
from churnkit.cli import app
from churnkit.config import config_from_dict

BASE = Path(__file__).parents[1] / "bad_inputs" / "base"
BAD = {"c01": np.inf, "c04": -np.inf, "c05": -120.0, "c06": -0.5}


def _raw(customers: str) -> dict:
    return {
        "name": "values",
        "data": {
            "customers": {"path": customers, "customer_id": "customer_id",
                          "signup_date": "signup_date", "end_date": "end_date",
                          "segment": "segment", "value": "monthly_value"},
            "events": {"contacts": {"kind": "contacts", "path": str(BASE / "contacts.csv"),
                                    "columns": {"channel": "categorical", "topic": "categorical",
                                                "resolved": "boolean", "duration_min": "numeric",
                                                "note": "text"}}},
            "end": "2024-07-01",
        },
        "labels": {"horizon_days": 30, "validation_cutoffs": 1,
                   "cutoffs": ["2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"]},
        "model": {"n_estimators": 20, "min_child_samples": 3, "early_stopping_rounds": 5,
                  "calibration": "none", "n_jobs": 1},
        "scoring": {"explain": "none"},
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    cfg = config_from_dict(_raw(str(BASE / "customers.csv")))
    model = ck.train(cfg).model
    folder = tmp_path_factory.mktemp("model") / "m"
    ck.save_model(model, folder, config=model.config_, training=model.training_)
    return cfg, model, folder


def _customers() -> pd.DataFrame:
    customers = pd.read_csv(BASE / "customers.csv", dtype={"customer_id": str})
    customers["monthly_value"] = customers["monthly_value"].astype(float)
    for cid, value in BAD.items():
        customers.loc[customers["customer_id"] == cid, "monthly_value"] = value
    return customers


def test_bad_values_are_rejects_and_leave_no_value_at_risk(trained):
    cfg, model, _ = trained
    result = ck.score(cfg, model, tables={"customers": _customers()})
    rej = result.rejects.set_index("customer_id")
    for cid, value in BAD.items():
        what = "infinite" if math.isinf(value) else "negative"
        lines = rej.loc[[cid]]
        line = lines[lines["column"] == "monthly_value"]
        assert len(line) == 1, lines
        assert f"{what} monthly value; set to missing" in line["reason"].iloc[0]
    scores = result.scores.set_index("customer_id")
    scored_bad = [c for c in BAD if c in scores.index]
    assert scored_bad  # the customers are still scored, without a value at risk
    assert scores.loc[scored_bad, "value_at_risk"].isna().all()
    finite = scores["value_at_risk"].dropna()
    assert len(finite) > 0
    assert np.isfinite(finite).all()
    assert (finite >= 0).all()
    assert math.isfinite(result.summary["value_at_risk"])
    json.dumps(result.summary, allow_nan=False)  # no Infinity/NaN in the printed summary
    ranked = at_risk_from_scores(result.scores.assign(account_manager="Ana"))
    assert set(ranked["customer_id"].tail(len(scored_bad))) == set(scored_bad)  # ranked last


def test_score_command_json_has_no_infinity(trained, tmp_path):
    _, _, model_dir = trained
    customers = _customers()
    customers.to_parquet(tmp_path / "customers.parquet", index=False)
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps(_raw(str(tmp_path / "customers.parquet"))))
    r = cli_runner().invoke(app, ["score", "--config", str(config), "--model", str(model_dir),
                                 "--out", str(tmp_path / "scores.csv"), "--format", "json"])
    assert r.exit_code == 0, r.output
    assert "Infinity" not in r.stdout
    summary = json.loads(r.stdout)
    assert math.isfinite(summary["value_at_risk"])
    rejects = pd.read_csv(tmp_path / "rejects.csv", dtype={"customer_id": str})
    assert set(rejects.loc[rejects["reason"].str.contains("monthly value"), "customer_id"]) == set(BAD)
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert "inf" not in (tmp_path / "scores.csv").read_text().lower()
    assert (scores["value_at_risk"].dropna() >= 0).all()
