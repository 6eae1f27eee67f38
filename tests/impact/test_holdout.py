"""Random control groups: reproducible, balanced, and absent from every manager's output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from cli_runner import cli_runner

from churnkit import jobs
from churnkit.cli import app
from churnkit.exceptions import ConfigError
from churnkit.impact import ASSIGNMENT_COLUMNS, assign_holdout

GOLDEN_SCORES = Path(__file__).parents[1] / "golden" / "demo_600_scores.csv"


def _table(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.beta(1, 4, n)
    return pd.DataFrame({
        "customer_id": [f"K{i:05d}" for i in range(n)],
        "churn_probability": p,
        "value": rng.lognormal(6, 1, n),
        "risk_band": np.where(p >= 0.5, "high", np.where(p >= 0.2, "medium", "low")),
        "account_manager": rng.choice(["Ann", "Bo", "Cy", "Di", "Ed"], n),
    })


def test_same_seed_same_groups_whatever_the_order():
    table = _table()
    a = assign_holdout(table, 0.1, random_state=7)
    shuffled = table.sample(frac=1, random_state=1)
    b = assign_holdout(shuffled, 0.1, random_state=7).reindex(table.index)
    assert a.equals(b)
    other = assign_holdout(table, 0.1, random_state=8)
    assert (a != other).sum() > 100  # another random_state draws another group


def test_every_stratum_holds_the_share_and_groups_are_balanced():
    table = _table()
    groups = assign_holdout(table, 0.1, random_state=0)
    control = groups == "control"
    per_stratum = control.groupby([table["risk_band"], table["account_manager"]]).agg(["sum", "size"])
    assert (np.abs(per_stratum["sum"] - 0.1 * per_stratum["size"]) < 1).all()
    # risk and value of treat and control agree within noise (two-sample z on the means)
    for col in ("churn_probability", "value"):
        t, c = table.loc[~control, col], table.loc[control, col]
        z = (t.mean() - c.mean()) / np.sqrt(t.var() / len(t) + c.var() / len(c))
        assert abs(z) < 3, (col, z)


def test_zero_share_keeps_everyone_and_bad_share_is_refused():
    table = _table(50)
    assert (assign_holdout(table, 0.0) == "treat").all()
    with pytest.raises(ConfigError, match="'share' parameter of assign_holdout"):
        assign_holdout(table, 1.0)
    with pytest.raises(ConfigError, match="'random_state' parameter of assign_holdout"):
        assign_holdout(table, 0.1, random_state=-1)


def test_control_customers_are_in_no_manager_output(tmp_path):
    summary = jobs.report(GOLDEN_SCORES, tmp_path, min_band="low", holdout=0.2, random_state=5)
    assignments = pd.read_csv(tmp_path / "assignments.csv", dtype={"customer_id": str})
    assert list(assignments.columns) == list(ASSIGNMENT_COLUMNS)
    control = set(assignments.loc[assignments["group"] == "control", "customer_id"])
    assert len(control) == summary["control_customers"] > 50
    listed = pd.read_csv(tmp_path / "at_risk.csv", dtype={"customer_id": str})
    assert set(listed["customer_id"]) == set(assignments["customer_id"]) - control
    book = openpyxl.load_workbook(tmp_path / "at_risk.xlsx", read_only=True)
    cells = {str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True)
             for v in row if v is not None}
    assert not control & cells
    pages = " ".join(p.read_text(encoding="utf-8") for p in (tmp_path / "at_risk").glob("*.html"))
    assert not [c for c in control if c in pages]
    version = pd.read_csv(GOLDEN_SCORES, usecols=["model_version"])["model_version"].iloc[0]
    assert (assignments["model_version"] == version).all()


def test_report_cli_takes_holdout_and_random_state(tmp_path):
    args = ["report", "--scores", str(GOLDEN_SCORES), "--min-band", "low", "--holdout", "0.1",
            "--random-state", "3", "--format", "json"]
    first = cli_runner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    second = cli_runner().invoke(app, [*args, "--out", str(tmp_path / "b")])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert (tmp_path / "a" / "assignments.csv").read_bytes() == (
        tmp_path / "b" / "assignments.csv").read_bytes()
    plain = cli_runner().invoke(app, ["report", "--scores", str(GOLDEN_SCORES), "--out",
                                      str(tmp_path / "c")])
    assert plain.exit_code == 0, plain.output
    assert not (tmp_path / "c" / "assignments.csv").exists()
