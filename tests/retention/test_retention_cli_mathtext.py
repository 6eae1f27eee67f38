"""`churnkit retention` draws segment names with dollar signs as written, not as mathtext."""

from __future__ import annotations

import html
import io
from pathlib import Path

import pandas as pd
import pytest
import yaml
from cli_runner import cli_runner
from matplotlib.figure import Figure

from churnkit.cli import app

BASE = Path(__file__).parents[1] / "bad_inputs" / "base"
SEGMENTS = ["$x^{$", "$5 & $10$", r"\frac{a}{b}$", "$$"]


def test_the_segment_names_are_broken_mathtext():
    """Drawn as mathtext, these names would stop the report (the reason for this test file)."""
    fig = Figure()
    fig.add_subplot().set_title(SEGMENTS[0])
    with pytest.raises(ValueError, match="(?i)parse|math|expected"):
        fig.savefig(io.BytesIO(), format="png")


@pytest.mark.slow
def test_retention_command_with_dollar_signs_in_segments(tmp_path):
    customers = pd.read_csv(BASE / "customers.csv")
    customers["segment"] = [SEGMENTS[i % len(SEGMENTS)] for i in range(len(customers))]
    customers.to_csv(tmp_path / "customers.csv", index=False)
    config = {
        "name": "dollars",
        "data": {"customers": {"path": str(tmp_path / "customers.csv"),
                               "customer_id": "customer_id", "signup_date": "signup_date",
                               "end_date": "end_date", "segment": "segment",
                               "value": "monthly_value"},
                 "end": "2024-07-01"},
        "labels": {"horizon_days": 30, "cutoffs": ["2024-02-01", "2024-03-01"]},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = cli_runner().invoke(app, ["retention", "--config", str(tmp_path / "config.yaml"),
                                      "--out", str(tmp_path / "out"), "--by", "segment"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "retention.html").read_text(encoding="utf-8")
    for name in SEGMENTS:
        assert html.escape(name, quote=False) in page
    assert page.count("data:image/png;base64,") >= 4  # the plots were drawn
    by_segment = pd.read_csv(tmp_path / "out" / "crr_by_segment.csv")
    assert set(by_segment["segment"]) == set(SEGMENTS)
