"""`churnkit validate` shows the label population: rows and churn rate per cutoff."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml
from cli_runner import cli_runner

from churnkit.cli import app

BASE = Path(__file__).parents[1] / "bad_inputs" / "base"
CUTOFFS = ["2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"]


def _config(tmp_path: Path, cutoffs=CUTOFFS) -> Path:
    raw = {
        "name": "population",
        "data": {
            "customers": {"path": str(BASE / "customers.csv"), "customer_id": "customer_id",
                          "signup_date": "signup_date", "end_date": "end_date"},
            "events": {"feedback": {"kind": "feedback", "path": str(BASE / "feedback.csv"),
                                    "columns": {"score": "numeric", "comment": "text"}}},
            "end": "2024-07-01",
        },
        "labels": {"horizon_days": 30, "cutoffs": cutoffs},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _expected() -> list[dict]:
    """The population counted straight from the customers file."""
    cust = pd.read_csv(BASE / "customers.csv", parse_dates=["signup_date", "end_date"])
    out = []
    for day in CUTOFFS:
        cut = pd.Timestamp(day)
        active = (cust["signup_date"] < cut) & (cust["end_date"].isna() | (cust["end_date"] >= cut))
        churned = active & (cust["end_date"] < cut + pd.Timedelta(days=30))
        out.append({"cutoff": day, "rows": int(active.sum()), "churned": int(churned.sum()),
                    "churn_rate": round(churned.sum() / active.sum(), 4)})
    return out


def test_validate_json_lists_rows_and_churn_rate_per_cutoff(tmp_path):
    r = cli_runner().invoke(app, ["validate", "--config", str(_config(tmp_path)),
                                 "--format", "json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)["labels"]
    want = _expected()
    assert [g["cutoff"] for g in got] == CUTOFFS
    assert got == want
    assert sum(w["churned"] for w in want) > 0


def test_validate_table_prints_the_population(tmp_path):
    r = cli_runner().invoke(app, ["validate", "--config", str(_config(tmp_path))])
    assert r.exit_code == 0, r.output
    assert "Label population" in r.stdout
    first = _expected()[0]
    line = next(ln for ln in r.stdout.splitlines() if first["cutoff"] in ln)
    assert f"{first['rows']:,}" in line
    assert f"{first['churn_rate']:.1%}" in line


def test_validate_refuses_cutoffs_without_a_complete_horizon(tmp_path):
    r = cli_runner().invoke(app, ["validate", "--config",
                                 str(_config(tmp_path, cutoffs=["2024-06-20"]))])
    assert r.exit_code == 1
    assert "No cutoff has its whole 30-day horizon inside the data" in r.stderr
    assert "Traceback" not in r.stderr
