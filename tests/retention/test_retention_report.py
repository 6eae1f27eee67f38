"""The retention report: CSV files and a self-contained HTML page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnkit.retention import crr, retention_report


def _customers() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 300
    signup = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 540, n), unit="D")
    stay = pd.to_timedelta(rng.integers(20, 400, n), unit="D")
    end = (signup + stay).where(rng.random(n) < 0.5)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "signup_date": signup,
            "end_date": end.where(end <= pd.Timestamp("2024-06-30")),
            "segment": rng.choice(["retail", "smb", "<script>alert(1)</script>"], n),
            "mrr": rng.integers(10, 200, n).astype(float),
            "wallet": rng.random(n),
        }
    )


def _assert_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert '<img src="data:image/png;base64,' in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    assert "<link" not in page
    assert "<script" not in page.lower().replace("&lt;script", "")


def test_contractual_report(tmp_path: Path) -> None:
    customers = _customers()
    out = tmp_path / "report"
    summary = retention_report(
        customers,
        out_dir=out,
        by="segment",
        value_col="mrr",
        wallet_col="wallet",
        margin=0.6,
        title="Retention <Q2>",
    )
    page = (out / "retention.html").read_text(encoding="utf-8")
    _assert_self_contained(page)
    assert page.count('<img src="data:image/png;base64,') == 5  # CRR, churn, NRR, cohorts, CLV
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # segment names are escaped
    assert "Retention &lt;Q2&gt;" in page
    assert set(summary["files"]) == {
        "crr",
        "crr_by_segment",
        "churn",
        "nrr",
        "cohorts",
        "value_by_segment",
    }
    for path in summary["files"].values():
        assert Path(path).is_file()
    assert not list(out.glob("*.tmp"))
    assert not list(out.glob(".*"))
    expected = crr(customers, value_col="mrr")
    written = pd.read_csv(out / "crr.csv", parse_dates=["period_start", "period_end"])
    np.testing.assert_array_equal(written["S"], expected["S"])
    np.testing.assert_allclose(written["crr"], expected["crr"])
    latest = expected[expected["S"] > 0].iloc[-1]
    assert summary["latest_period"] == latest["period_start"].strftime("%Y-%m-%d")
    assert summary["crr"] == pytest.approx(latest["crr"])
    assert summary["customers"] == latest["E"]
    assert 0 < summary["nrr"] <= 1
    value = pd.read_csv(out / "value_by_segment.csv")
    assert value["rank"].tolist() == [1, 2, 3]
    assert "share_of_wallet" in value.columns
    json.dumps(summary)  # printable by a CLI


@pytest.mark.slow
def test_activity_report_and_rewrite(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    events = pd.DataFrame(
        {
            "customer_id": [f"u{i}" for i in rng.integers(0, 200, 2000)],
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, 2000), unit="D"),
            "amount": rng.random(2000) * 50,
        }
    )
    summary = retention_report(None, events=events, out_dir=tmp_path, period="Q", amount_col="amount")
    assert summary["mode"] == "activity"
    assert summary["periods"] == 4
    assert set(summary["files"]) == {"crr", "churn", "nrr", "cohorts"}
    page = (tmp_path / "retention.html").read_text(encoding="utf-8")
    _assert_self_contained(page)
    assert "reactivated" in page
    # Writing again replaces the files in place.
    again = retention_report(None, events=events, out_dir=tmp_path, period="Y")
    assert again["periods"] == 1
    assert "nrr" not in again["files"]
    assert len(pd.read_csv(tmp_path / "crr.csv")) == 1


def test_report_needs_a_table(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs customers"):
        retention_report(None, out_dir=tmp_path)


@pytest.mark.slow
def test_segment_names_that_look_like_formulas_are_drawn_as_written(tmp_path: Path) -> None:
    customers = _customers()
    customers["segment"] = customers["segment"].map({"retail": "$x^{$", "smb": "$5$"}).fillna("other")
    summary = retention_report(customers, out_dir=tmp_path, by="segment", value_col="mrr")
    page = Path(summary["html"]).read_text(encoding="utf-8")
    assert "$x^{$" in page
    _assert_self_contained(page)
