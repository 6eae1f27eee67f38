"""The command line on the sample CRM: exit codes, outputs and messages."""

import json
import subprocess
import sys

import openpyxl
import pandas as pd
import pytest
from cli_runner import cli_runner

from churnkit.cli import app

pytestmark = pytest.mark.slow  # runs the CLI end to end on a 1,200-customer sample CRM

runner = cli_runner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = runner.invoke(app, ["demo", "--out", str(out), "--customers", "1200", "--random-state", "1",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


def test_demo_writes_every_output(demo):
    out, summary = demo
    for name in ("config.yaml", "scores.csv", "rejects.csv", "at_risk.csv", "at_risk.xlsx",
                 "model/manifest.json", "model/model.txt", "model/model.json", "model/features.json",
                 "data/customers.csv", "data/contacts.csv", "at_risk/index.html"):
        assert (out / name).is_file(), name
    assert summary["validation_roc_auc"] >= 0.75
    scores = pd.read_csv(out / "scores.csv", dtype={"customer_id": str})
    assert summary["scored"] == len(scores)
    at_risk = pd.read_csv(out / "at_risk.csv")
    assert at_risk["value_at_risk"].is_monotonic_decreasing
    book = openpyxl.load_workbook(out / "at_risk.xlsx", read_only=True)
    assert len(book.sheetnames) == at_risk["account_manager"].nunique()


def test_train_score_report_round_trip(demo, tmp_path):
    out, _ = demo
    cfg = str(out / "config.yaml")
    r = runner.invoke(app, ["train", "--config", cfg, "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["score", "--config", cfg, "--model", str(tmp_path / "m"),
                            "--out", str(tmp_path / "s.csv"), "--as-of", "2025-12-01",
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["as_of"] == "2025-12-01"
    assert (tmp_path / "rejects.csv").is_file()
    r = runner.invoke(app, ["report", "--scores", str(tmp_path / "s.csv"),
                            "--out", str(tmp_path / "lists"), "--min-band", "medium"])
    assert r.exit_code == 0, r.output
    lists = pd.read_csv(tmp_path / "lists" / "at_risk.csv")
    assert set(lists["risk_band"]) <= {"high", "medium"}


def test_tampered_model_makes_score_exit_1_with_integrity_message(demo, tmp_path):
    out, _ = demo
    import shutil

    shutil.copytree(out / "model", tmp_path / "m")
    target = tmp_path / "m" / "features.json"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    r = runner.invoke(app, ["score", "--config", str(out / "config.yaml"),
                            "--model", str(tmp_path / "m"), "--out", str(tmp_path / "s.csv")])
    assert r.exit_code == 1
    assert "failed its integrity check" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "s.csv").exists()


def test_config_error_exits_1_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {customers: {path: x.csv}}\nlabels: {horizon_days: -5, cutoffs: [2024-01-01]}\n")
    r = runner.invoke(app, ["validate", "--config", str(bad)])
    assert r.exit_code == 1
    assert "labels.horizon_days" in r.stderr
    assert "Traceback" not in r.stderr
    r = runner.invoke(app, ["--debug", "validate", "--config", str(bad)])
    assert r.exit_code == 1
    assert "Traceback" in r.stderr


def test_validate_reports_rejects(demo, tmp_path):
    out, _ = demo
    contacts = pd.read_csv(out / "data" / "contacts.csv")
    contacts.loc[:4, "timestamp"] = "31/02/2025 nonsense"
    (tmp_path / "data").mkdir()
    for f in (out / "data").glob("*.csv"):
        (tmp_path / "data" / f.name).write_bytes(f.read_bytes())
    contacts.to_csv(tmp_path / "data" / "contacts.csv", index=False)
    (tmp_path / "config.yaml").write_text((out / "config.yaml").read_text())
    r = runner.invoke(app, ["validate", "--config", str(tmp_path / "config.yaml"),
                            "--rejects", str(tmp_path / "rej.csv")])
    assert r.exit_code == 0, r.output
    rej = pd.read_csv(tmp_path / "rej.csv")
    assert (rej["reason"].str.contains("unparseable timestamp")).sum() == 5
    assert "5 row(s) of contacts" in r.stderr


def test_usage_error_exits_2():
    r = subprocess.run([sys.executable, "-m", "churnkit", "score"], capture_output=True, text=True)
    assert r.returncode == 2
    assert "Missing option" in r.stderr


def test_retention_command_writes_report_and_tables(demo, tmp_path):
    out, _ = demo
    assert (out / "retention" / "retention.html").is_file()  # part of the demo
    r = runner.invoke(app, ["retention", "--config", str(out / "config.yaml"), "--period", "Q",
                            "--by", "product", "--out", str(tmp_path), "--format", "json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["period"] == "Q"
    crr = pd.read_csv(tmp_path / "crr_by_segment.csv")
    assert "product" in crr.columns
    assert ((crr["E"] - crr["N"]) / crr["S"] * 100).round(6).equals(crr["crr"].round(6))
    r = runner.invoke(app, ["retention", "--config", str(out / "config.yaml"), "--by", "colour",
                            "--out", str(tmp_path)])
    assert r.exit_code == 1
    assert "retention.by names column(s) ['colour']" in r.stderr


def test_explain_one_customer(demo, tmp_path):
    out, _ = demo
    scores = pd.read_csv(out / "scores.csv", dtype={"customer_id": str})
    top = scores.sort_values("churn_probability").iloc[-1]
    r = runner.invoke(app, ["explain", "--config", str(out / "config.yaml"), "--model",
                            str(out / "model"), "--customer", top["customer_id"], "--out",
                            str(tmp_path), "--format", "json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    assert abs(got["churn_probability"] - top["churn_probability"]) < 1e-6
    assert got["reasons"][0] == top["reason_1"]
    assert set(got["files"]) == {"waterfall", "table", "summary"}
    png = tmp_path / f"customer_{top['customer_id'].lower()}.png"
    assert png.stat().st_size > 5000
    r = runner.invoke(app, ["explain", "--config", str(out / "config.yaml"), "--model",
                            str(out / "model"), "--customer", "NOPE"])
    assert r.exit_code == 1
    assert "NOPE" in r.stderr


def test_score_engines_give_the_local_scores(demo, tmp_path):
    """--engine chunked and --engine dask (a local cluster) score every customer as the local engine.

    Some contacts arrive with a channel the model never saw: every engine counts them alike.
    """
    out, _ = demo
    import shutil

    shutil.copytree(out / "data", tmp_path / "data")
    contacts = pd.read_csv(tmp_path / "data" / "contacts.csv")
    new = contacts.index[pd.to_datetime(contacts["timestamp"]) < "2025-12-01"][::50]
    contacts.loc[new, "channel"] = "carrier pigeon"
    contacts.to_csv(tmp_path / "data" / "contacts.csv", index=False)
    (tmp_path / "config.yaml").write_text((out / "config.yaml").read_text())
    cfg, model = str(tmp_path / "config.yaml"), str(out / "model")
    base = ["score", "--config", cfg, "--model", model, "--as-of", "2025-12-01", "--format", "json"]
    summaries = []
    for args in (["--out", str(tmp_path / "local.parquet")],
                 ["--out", str(tmp_path / "chunked.parquet"), "--engine", "chunked", "--partitions", "3"],
                 ["--out", str(tmp_path / "dask"), "--engine", "dask", "--partitions", "4"]):
        r = runner.invoke(app, [*base, *args])
        assert r.exit_code == 0, r.output
        summaries.append(json.loads(r.stdout))
    assert summaries[0]["unseen_categories"] == {"contacts.channel": len(new)}
    assert summaries[1]["unseen_categories"] == summaries[0]["unseen_categories"]
    assert summaries[2]["unseen_categories"] == summaries[0]["unseen_categories"]
    summary = summaries[2]
    assert summary["engine"] == "dask"
    assert summary["partitions"] == 4
    assert (tmp_path / "dask" / "summary.json").is_file()
    local = pd.read_parquet(tmp_path / "local.parquet").set_index("customer_id").sort_index()
    assert summary["scored"] == len(local)
    for other in (pd.read_parquet(tmp_path / "chunked.parquet"),
                  pd.read_parquet(tmp_path / "dask" / "scores")):
        other = other.set_index("customer_id").sort_index()
        assert other.index.equals(local.index)
        assert (other["churn_probability"] - local["churn_probability"]).abs().max() <= 1e-9
        assert other["reason_1"].equals(local["reason_1"])
    r = runner.invoke(app, ["report", "--scores", str(tmp_path / "dask" / "scores"),
                            "--out", str(tmp_path / "lists"), "--min-band", "medium"])
    assert r.exit_code == 0, r.output
    lists = pd.read_csv(tmp_path / "lists" / "at_risk.csv")
    assert len(lists) == local["risk_band"].isin(["high", "medium"]).sum()


def test_train_on_dask_writes_a_model_that_scores(demo, tmp_path):
    out, _ = demo
    cfg = tmp_path / "config.yaml"
    text = (out / "config.yaml").read_text().replace("n_estimators: 1000", "n_estimators: 60")
    cfg.write_text(text.replace("learning_rate: 0.05", "learning_rate: 0.1").replace(
        "path: data/", f"path: {out / 'data'}/"))
    # a subprocess, so that what LightGBM's training network prints on the workers is seen
    r = subprocess.run([sys.executable, "-m", "churnkit", "train", "--config", str(cfg), "--out",
                        str(tmp_path / "m"), "--engine", "dask", "--partitions", "2", "--format",
                        "json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)  # stdout holds the summary only
    assert summary["engine"] == "dask"
    assert summary["validation"]["roc_auc"] >= 0.75
    assert (tmp_path / "m" / "manifest.json").is_file()
    r = runner.invoke(app, ["score", "--config", str(cfg), "--model", str(tmp_path / "m"),
                            "--out", str(tmp_path / "s.csv")])
    assert r.exit_code == 0, r.output
    scores = pd.read_csv(tmp_path / "s.csv")
    assert scores["churn_probability"].between(0, 1).all()
    r = runner.invoke(app, ["train", "--config", str(cfg), "--out", str(tmp_path / "x"), "--engine", "chunked"])
    assert r.exit_code == 2


def test_dask_engine_without_dask_says_how_to_install(demo, tmp_path):
    out, _ = demo
    code = ("import runpy, sys; sys.modules['distributed'] = None; "  # as if it were not installed
            "runpy.run_module('churnkit', run_name='__main__')")
    r = subprocess.run([sys.executable, "-c", code, "score", "--config", str(out / "config.yaml"),
                        "--model", str(out / "model"), "--out", str(tmp_path / "s"), "--engine", "dask"],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "pip install 'churnkit-crm[dask]'" in r.stderr
    assert "Traceback" not in r.stderr
