"""Real-world files through the CLI and the scoring engines: archives, workbooks, lost tables."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import churnkit as ck
from churnkit.cli import app
from churnkit.config import config_from_dict
from churnkit.exceptions import SchemaError

ROOT = Path(__file__).parent / "bad_inputs"
runner = CliRunner()


def _config(customers: str = "base/customers.csv", contacts: str = "base/contacts.csv",
            **customer_keys: object) -> dict:
    return {
        "name": "real-world-files",
        "data": {
            "customers": {"path": str(ROOT / customers), "customer_id": "customer_id",
                          "signup_date": "signup_date", "end_date": "end_date",
                          "segment": "segment", "value": "monthly_value", **customer_keys},
            "events": {"contacts": {"kind": "contacts", "path": str(ROOT / contacts),
                                    "columns": {"topic": "categorical", "note": "text"}}},
            "end": "2024-07-01",
        },
        "labels": {"horizon_days": 30, "validation_cutoffs": 1,
                   "cutoffs": ["2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"]},
        "features": {"windows": [30, 90], "top_k": 5},
        "model": {"n_estimators": 20, "min_child_samples": 3, "early_stopping_rounds": 5,
                  "calibration": "none", "n_jobs": 1},
        "scoring": {"explain": "none"},
    }


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_cli_validates_gzip_zip_and_a_named_sheet(tmp_path):
    raw = _config("files/customers_two_sheets.xlsx", "files/contacts_zipped.zip",
                  sheet="Customers")
    r = runner.invoke(app, ["validate", "--config", str(_write(tmp_path, raw)), "--format",
                            "json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["customers"] == 40
    assert summary["events"] == {"contacts": 10}


def test_cli_refuses_a_lost_table_in_one_paragraph(tmp_path):
    raw = _config(contacts="files/contacts_all_empty_ids.csv")
    r = runner.invoke(app, ["validate", "--config", str(_write(tmp_path, raw))])
    assert r.exit_code == 1
    message = " ".join(r.stderr.split())
    assert "Table 'contacts'" in message
    assert "8 of 8 rows (100%) cannot be used (customer id missing in 8 rows)" in message
    assert "contacts_all_empty_ids.csv" in message
    assert "Traceback" not in r.stderr


def test_streaming_engines_refuse_packed_event_files_the_local_engine_reads(tmp_path):
    model = ck.train(config_from_dict(_config())).model
    # customers are read whole by every engine: a gzip file scores the same everywhere
    cfg = config_from_dict(_config("files/customers_gzip.csv.gz"))
    plain = ck.score(config_from_dict(_config()), model).scores
    for engine in ("local", "chunked"):
        got = ck.score(cfg, model, engine=engine).scores
        pd.testing.assert_frame_equal(got.reset_index(drop=True), plain.reset_index(drop=True))
    # event tables are streamed by the chunked engine: a zipped one is refused, clearly
    zipped = config_from_dict(_config(contacts="files/contacts_zipped.zip"))
    assert len(ck.score(zipped, model).scores) == len(plain)
    with pytest.raises(SchemaError, match=r"contacts_zipped\.zip is a ZIP archive or Excel "
                                          r"workbook, which cannot be read a block at a time\. "
                                          r"Score it with the local engine"):
        ck.score(zipped, model, engine="chunked")


def test_excel_types_are_kept(tmp_path):
    cfg = config_from_dict(_config("files/customers_two_sheets.xlsx", sheet=1))
    ds = ck.load_dataset(cfg)
    base = pd.read_csv(ROOT / "base" / "customers.csv", parse_dates=["signup_date", "end_date"])
    got = ds.customers.set_index("customer_id").sort_index()
    want = base.set_index("customer_id").sort_index()
    assert (got["signup_date"] == want["signup_date"]).all()
    assert got["end_date"].isna().equals(want["end_date"].isna())
    assert (got["value"] == want["monthly_value"]).all()
