"""Real-world files through the CLI and the scoring engines: archives, workbooks, lost tables."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from cli_runner import cli_runner

import churnkit as ck
from churnkit.cli import app
from churnkit.config import config_from_dict
from churnkit.exceptions import SchemaError

ROOT = Path(__file__).parent / "bad_inputs"
runner = cli_runner()


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
        "features": {"windows": [30, 90], "max_categories": 5},
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


@pytest.mark.slow
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
                                          r".xlsx workbook, which cannot be read a block at a time\. "
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


def _dmy(day: str) -> str:
    y, m, d = day[:10].split("-")
    return f"{d}/{m}/{y}{day[10:].replace('T', ' ')[:6]}"


def _dmy_files(tmp_path: Path) -> dict:
    """d/m/Y dates and decimal commas whose evidence sits in a few rows only.

    Each part of the customers, read on its own, would lack a day above 12 or a
    number that needs a decimal comma, and read its rows the other way.
    """
    cust = pd.read_csv(ROOT / "base" / "customers.csv", dtype=str, keep_default_na=False)
    big_day = cust["signup_date"].str[8:].astype(int) > 12
    keep = ~big_day | cust.index.isin([12, 13, 14])  # days above 12 in three rows only
    cust.loc[~keep, "signup_date"] = cust.loc[~keep, "signup_date"].str[:8] + "05"
    cust["signup_date"] = cust["signup_date"].map(_dmy)
    cust["end_date"] = cust["end_date"].map(lambda d: _dmy(d) if d else d)
    value = cust["monthly_value"].astype(int)
    cust["monthly_value"] = [f"{v},{i % 10}" if i < 3 else f"{v // 10},{v % 10}00"
                             for i, v in enumerate(value)]
    cust.to_csv(tmp_path / "customers.csv", index=False)
    ev = pd.read_csv(ROOT / "base" / "contacts.csv", dtype=str)
    ev["timestamp"] = ev["timestamp"].map(_dmy)
    ev.to_csv(tmp_path / "contacts.csv", index=False)
    return _config(str(tmp_path / "customers.csv"), str(tmp_path / "contacts.csv"))


@pytest.mark.slow
def test_chunks_read_dates_and_decimals_as_the_whole_table_does(tmp_path):
    model = ck.train(config_from_dict(_config())).model
    cfg = config_from_dict(_dmy_files(tmp_path))
    ds = ck.load_dataset(cfg)
    got = ds.customers.set_index("customer_id")
    assert got.loc["c01", "value"] == 50.0  # "50,0"
    assert got.loc["c05", "value"] == 7.8  # "7,800": a decimal comma, as in the first rows
    assert got.loc["c28", "signup_date"] == pd.Timestamp("2023-04-01")  # 01/04/2023
    assert len(ds.rejects) == 0
    local = ck.score(cfg, model)
    chunked = ck.score(cfg, model, engine="chunked", partitions=8)
    pd.testing.assert_frame_equal(chunked.scores, local.scores)
    assert local.summary["as_of"] == chunked.summary["as_of"]


@pytest.mark.slow  # starts a Dask LocalCluster
def test_dask_partitions_read_dates_and_decimals_as_the_whole_table_does(tmp_path):
    import distributed
    model = ck.train(config_from_dict(_config())).model
    cfg = config_from_dict(_dmy_files(tmp_path))
    local = ck.score(cfg, model)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        got = ck.score(cfg, model, engine="dask", partitions=8, scheduler=client,
                       out_dir=tmp_path / "out")
    scores = pd.concat([pd.read_parquet(p) for p in got.parts["scores"]], ignore_index=True)
    scores = scores.set_index("customer_id").loc[local.scores["customer_id"]].reset_index()
    pd.testing.assert_frame_equal(scores[local.scores.columns], local.scores,
                                  check_dtype=False)
