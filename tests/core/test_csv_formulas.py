"""Every CSV churnkit writes neutralises spreadsheet formulas the same way; numbers stay numbers."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import churnkit
from churnkit._core import guard_formulas, write_table
from churnkit.actions import build_at_risk
from churnkit.data import REJECT_COLUMNS
from churnkit.report import write_at_risk_lists
from churnkit.retention import retention_report
from churnkit.scoring import ScoreResult

HOSTILE = ["=cmd|' /C calc'!A0", "+1+cmd", "-2+3+cmd", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


def _cells(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _assert_inert(path: Path) -> None:
    for row in _cells(path):
        for cell in row:
            assert cell[:1] not in {"=", "+", "@", "\t", "\r"}, (path.name, cell)
            if cell.startswith("-"):
                float(cell)  # a leading minus only on a number


def test_guard_prefixes_an_apostrophe_and_keeps_numbers():
    frame = pd.DataFrame({
        "text": [*HOSTILE, "-0.5", "+3", "1e-3", "ok", None],
        "number": [-0.5, -1.0, 2.0, 3.0, 4.0, 5.0, -6.0, 7.0, 8.0, 9.0, np.nan],
        "category": pd.Categorical(["=x", "y"] * 5 + ["y"]),
    })
    out = guard_formulas(frame)
    assert out["text"].tolist()[:6] == ["'" + h for h in HOSTILE]
    assert out["text"].tolist()[6:10] == ["-0.5", "+3", "1e-3", "ok"]
    assert out["text"].isna().tolist()[-1]
    assert out["number"].dtype == float
    assert out["number"].tolist()[:2] == [-0.5, -1.0]
    assert out["category"].tolist()[:2] == ["'=x", "y"]
    assert frame["text"].tolist()[0] == HOSTILE[0]  # the input is left as it was


def test_header_and_index_labels_are_guarded(tmp_path):
    frame = pd.DataFrame({"=evil": [1]}, index=pd.Index(["@x"], name="segment"))
    path = write_table(frame, tmp_path / "t.csv", index=True)
    assert _cells(path) == [["segment", "'=evil"], ["'@x", "1"]]


def test_scores_and_rejects_files_are_guarded(tmp_path):
    scores = pd.DataFrame({"customer_id": HOSTILE, "churn_probability": [0.5] * 6,
                           "value_at_risk": [-1.25, 0, 1, 2, 3, 4],
                           "reason_1": ["=1+1"] * 6})
    rejects = pd.DataFrame([["customers", i, cid, "segment", "-5", "bad"]
                            for i, cid in enumerate(HOSTILE)], columns=REJECT_COLUMNS)
    result = ScoreResult({}, {"scores": scores, "rejects": rejects})
    files = result.write(tmp_path / "scores.csv")
    _assert_inert(files["scores"])
    _assert_inert(files["rejects"])
    back = pd.read_csv(files["scores"])
    assert back["value_at_risk"].tolist()[0] == -1.25  # a negative number is still a number
    assert pd.read_csv(files["rejects"])["value"].tolist()[0] == -5


def test_at_risk_and_retention_csvs_are_guarded(tmp_path):
    n = 6
    ids = [f"c{i}" for i in range(n)]
    scores = pd.DataFrame({"customer_id": ids, "as_of": "2024-06-30",
                           "churn_probability": np.linspace(0.1, 0.9, n)})
    customers = pd.DataFrame({"customer_id": ids, "account_manager": HOSTILE,
                              "value": [10.0] * n})
    at_risk = build_at_risk(scores, customers, pd.DataFrame(index=range(n)),
                            pd.DataFrame(index=range(n)))
    _assert_inert(write_at_risk_lists(at_risk, tmp_path / "lists")["csv"])

    signup = pd.Timestamp("2023-01-01") + pd.to_timedelta(np.arange(60) * 7, unit="D")
    members = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(60)], "signup_date": signup,
        "end_date": (signup + pd.Timedelta(days=200)).where(np.arange(60) % 3 == 0),
        "segment": [HOSTILE[i % 4] for i in range(60)],  # no tab: the plots have no glyph for it
        "mrr": np.arange(60, dtype=float) + 1,
    })
    summary = retention_report(members, out_dir=tmp_path / "ret", by="segment", value_col="mrr")
    written = [Path(p) for p in summary["files"].values()]
    assert {p.name for p in written} >= {"crr_by_segment.csv", "value_by_segment.csv"}
    for path in written:
        _assert_inert(path)
    assert any(c == "'=cmd|' /C calc'!A0" for row in _cells(tmp_path / "ret" / "crr_by_segment.csv")
               for c in row)


def test_no_csv_is_written_around_the_one_writer():
    """Every CSV output goes through churnkit._core.write_table (the sample data aside)."""
    root = Path(churnkit.__file__).parent
    allowed = {root / "_core" / "tables.py", root / "datasets" / "_crm.py"}
    offenders = [
        str(path.relative_to(root)) for path in root.rglob("*.py")
        if path not in allowed and re.search(r"\.to_csv\(", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_parquet_keeps_the_text_and_csv_round_trips(tmp_path, suffix):
    frame = pd.DataFrame({"a": ["=1+1", "x"], "b": [-1.5, 2.0]})
    back = (pd.read_parquet if suffix == ".parquet" else pd.read_csv)(
        write_table(frame, tmp_path / f"t{suffix}"))
    expected = "=1+1" if suffix == ".parquet" else "'=1+1"
    assert back["a"].tolist() == [expected, "x"]
    assert back["b"].tolist() == [-1.5, 2.0]
