"""Malformed input files (tests/bad_inputs/cases*.yaml) through the real loader, CLI and pipeline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from cli_runner import cli_runner

import churnkit as ck
import churnkit.exceptions as exc_mod
from churnkit.cli import app
from churnkit.config import config_from_dict
from churnkit.data import rejected_customers

ROOT = Path(__file__).parent / "bad_inputs"
# One file per theme (cases.yaml, cases_formats.yaml, ...), read in name order.
CASES = [
    case
    for path in sorted(ROOT.glob("cases*.yaml"))
    for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []
]
assert len({c["name"] for c in CASES}) == len(CASES), "case names must be unique across cases*.yaml"
BASE_IDS = [f"c{i:02d}" for i in range(1, 41)]
# stdout and stderr captured apart: click 8.2+ always does so, click 8.1 only when asked
runner = cli_runner()


def _config_dict(files: dict[str, str] | None = None, options: dict | None = None) -> dict:
    paths = {"customers": "base/customers.csv", "contacts": "base/contacts.csv",
             "feedback": "base/feedback.csv"}
    paths.update({t: f"files/{f}" for t, f in (files or {}).items()})
    opts = options or {}
    return {
        "name": "bad-inputs",
        "data": {
            "customers": {"path": paths["customers"], "customer_id": "customer_id",
                          "signup_date": "signup_date", "end_date": "end_date", "segment": "segment",
                          "value": "monthly_value",
                          "attributes": {"region": "categorical", "seats": "numeric"},
                          **opts.get("customers", {})},
            "events": {
                "contacts": {"kind": "contacts", "path": paths["contacts"],
                             "columns": {"channel": "categorical", "topic": "categorical",
                                         "resolved": "boolean", "duration_min": "numeric",
                                         "note": "text"},
                             "roles": {"topic": "topic", "resolved": "resolved",
                                       "duration": "duration_min"},
                             **opts.get("contacts", {})},
                "feedback": {"kind": "feedback", "path": paths["feedback"],
                             "columns": {"score": "numeric", "comment": "text"},
                             "roles": {"score": "score"}, **opts.get("feedback", {})},
            },
            "end": "2024-07-01",
            **opts.get("data", {}),
        },
        "labels": {"horizon_days": 30, "validation_cutoffs": 1,
                   "cutoffs": ["2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"]},
        "features": {"windows": [30, 90], "max_categories": 5},
        "model": {"n_estimators": 20, "min_child_samples": 3, "early_stopping_rounds": 5,
                  "calibration": "none", "n_jobs": 1},
        "scoring": {"explain": "none"},
    }


def _config(files=None, options=None, base_dir=ROOT):
    return config_from_dict(_config_dict(files, options), base_dir=base_dir)


def _ids(spec: list[str] | None) -> set[str]:
    out: set[str] = set()
    for item in spec or BASE_IDS:
        m = re.fullmatch(r"c(\d+)\.\.c(\d+)", item)
        out |= {f"c{i:02d}" for i in range(int(m[1]), int(m[2]) + 1)} if m else {item}
    return out


def _check_error(err: BaseException, spec: dict) -> None:
    assert type(err).__name__ == spec["type"], err
    assert isinstance(err, exc_mod.ChurnkitError)
    for word in spec["contains"]:
        assert word in str(err), f"{word!r} not in: {err}"


def test_the_corpus_covers_enough_cases():
    files = {f.name for f in (ROOT / "files").iterdir()}
    used = {f for case in CASES for f in case["files"].values()}
    assert len(CASES) >= 70
    assert len(files) >= 30
    assert files <= used | {"customers_new_categories.csv", "contacts_new_topics.csv"}
    assert all(f.stat().st_size < 10_000 for f in (ROOT / "files").iterdir())


@pytest.mark.parametrize("case", [c for c in CASES if "train_error" not in c], ids=lambda c: c["name"])
def test_bad_input_case(case):
    cfg = _config(case["files"], case.get("options"))
    if "error" in case:
        with pytest.raises(exc_mod.ChurnkitError) as info:
            ck.load_dataset(cfg)
        _check_error(info.value, case["error"])
        return
    want = case["loads"]
    ds = ck.load_dataset(cfg)
    rej = ds.rejects
    assert list(rej.columns) == ["table", "row", "customer_id", "column", "value", "reason"]
    assert len(ds.customers) == want["customers"]
    assert len(rej) == want["rejects"], rej.to_string()
    for table, n in want.get("events", {}).items():
        assert len(ds.events[table]) == n
    for words, n in want.get("reasons", {}).items():
        assert rej["reason"].str.contains(words, regex=False).sum() == n, (words, rej.to_string())
    assert rej["reason"].notna().all()
    # one line per row: a dropped row is never listed again for one of its values
    assert not rej.duplicated(["table", "row", "column"]).any()
    # every input customer is kept or set aside, never both
    kept = set(ds.customers["customer_id"])
    rejected = set(rejected_customers(rej))
    assert kept.isdisjoint(rejected)
    assert kept | rejected == _ids(want.get("ids"))
    assert rejected == set(want.get("rejected", []))
    assert ds.customers["customer_id"].is_unique
    cust = ds.customers.set_index("customer_id")
    for col, value in want.get("values", {}).items():
        assert value in set(cust[col])
    for cid, (value, seats) in want.get("numbers", {}).items():
        got = cust.loc[cid, ["value", "seats"]].tolist()
        assert got == pytest.approx([value, seats], nan_ok=True) if None not in (value, seats) else (
            [pd.isna(g) for g in got] == [v is None for v in (value, seats)])
    for cid, day in want.get("dates", {}).items():
        got = cust.loc[cid, "signup_date"]
        assert (pd.isna(got) if day is None else got == pd.Timestamp(day)), (cid, got)
    if "end" in want:
        assert str(ds.end.date()) == str(want["end"])
    for col, kind in want.get("attributes", {}).items():
        assert ds.attributes.get(col) == kind, ds.attributes
    if "ignored" in want:
        assert sorted(ds.ignored) == sorted(want["ignored"])


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in CASES if "trains" in c], ids=lambda c: c["name"])
def test_bad_input_case_trains_and_scores(case, tmp_path):
    """Cases marked `trains`: a model trains, saves, loads and scores; listed features exist."""
    cfg = _config(case["files"], case.get("options"))
    trained = ck.train(cfg)
    trained.model.booster_.dump_model()  # the model file parses
    names = set(trained.model.feature_names_in_)
    for name in case["trains"].get("features", []):
        assert name in names, sorted(n for n in names if n.split("__")[0] in name)
    trained.write(tmp_path / "m")
    scored = ck.score(cfg, ck.load_model(tmp_path / "m"))
    assert len(scored.scores) == case["trains"]["scored"]


@pytest.mark.parametrize("case", [c for c in CASES if "train_error" in c], ids=lambda c: c["name"])
def test_training_on_one_class_is_a_clear_error(case):
    with pytest.raises(exc_mod.ChurnkitError) as info:
        ck.train(_config(case["files"]))
    _check_error(info.value, case["train_error"])


def test_huge_text_field_is_read_and_cut_in_rejects(tmp_path):
    """A 1 MB note is an ordinary value; a reject line quoting a huge value stays short."""
    base = (ROOT / "base" / "contacts.csv").read_text().splitlines()
    note = "lorem ipsum " * 90_000
    rows = [*base, f'c01,2024-02-02T10:00:00,phone,billing,maybe,5,"{note}"',
            f'c02,2024-02-03T10:00:00,phone,billing,yes,5,{note.strip()}']
    (tmp_path / "contacts.csv").write_text("\n".join(rows) + "\n")
    cfg = _config_dict()
    cfg["data"]["events"]["contacts"]["path"] = str(tmp_path / "contacts.csv")
    cfg["data"]["events"]["contacts"]["columns"]["resolved"] = "categorical"
    cfg["data"]["customers"]["path"] = str(ROOT / "base" / "customers.csv")
    cfg["data"]["events"]["feedback"]["path"] = str(ROOT / "base" / "feedback.csv")
    cfg["data"]["events"]["contacts"]["columns"]["note"] = "numeric"  # every note is "bad"
    cfg["data"]["max_rejected_share"] = 1.0  # ... and the column kept all the same
    ds = ck.load_dataset(config_from_dict(cfg))
    assert len(ds.events["contacts"]) == 122
    rej = ds.rejects
    assert len(rej) == 122
    huge = rej.loc[rej["row"] == 120, "value"].iloc[0]
    assert len(huge) < 300
    assert "1,080,000 characters" in huge


def _write_config(tmp_path: Path, files=None, options=None) -> Path:
    raw = _config_dict(files, options)
    for table in ("customers",):
        raw["data"][table]["path"] = str(ROOT / raw["data"][table]["path"])
    for spec in raw["data"]["events"].values():
        spec["path"] = str(ROOT / spec["path"])
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return path


def test_cli_validate_reports_table_errors_with_exit_1(tmp_path):
    cfg = _write_config(tmp_path, {"customers": "customers_no_signup.csv",
                                   "contacts": "contacts_unclosed_quote.csv"})
    r = runner.invoke(app, ["validate", "--config", str(cfg)])
    assert r.exit_code == 1
    assert "2 tables cannot be loaded" in r.stderr
    assert "['signup_date']" in r.stderr
    assert "never closed" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_validate_lists_row_problems_and_writes_rejects(tmp_path):
    cfg = _write_config(tmp_path, {"contacts": "contacts_one_line_many_problems.csv",
                                   "customers": "customers_conflicting_dups.csv"})
    r = runner.invoke(app, ["validate", "--config", str(cfg), "--format", "json",
                            "--rejects", str(tmp_path / "rej.csv")])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["customers"] == 39
    rej = pd.read_csv(tmp_path / "rej.csv")
    assert len(rej) == summary["rejects"]["customers"] + summary["rejects"]["contacts"] + \
        summary["rejects"]["feedback"]
    assert "conflicting values (segment)" in r.stderr


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    result = ck.train(_config())
    ck.save_model(result.model, out / "m", config=result.model.config_, training=result.model.training_)
    return out / "m"


def test_cli_score_counts_unseen_categories_and_parses_numbers_as_text(small_model, tmp_path):
    cfg = _write_config(tmp_path, {"customers": "customers_new_categories.csv",
                                   "contacts": "contacts_new_topics.csv"})
    r = runner.invoke(app, ["score", "--config", str(cfg), "--model", str(small_model),
                            "--out", str(tmp_path / "s.csv"), "--format", "json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    scores = pd.read_csv(tmp_path / "s.csv")
    north = sum(",north," in line for line in (ROOT / "base" / "customers.csv").read_text().splitlines())
    active = ck.load_dataset(_config()).customers
    active = active[active["end_date"].isna() | (active["end_date"] >= pd.Timestamp("2024-07-01"))]
    assert summary["scored"] == len(scores) == len(active)
    # every customer of region 'north' now says 'atlantis'; only the scored ones count
    base = pd.read_csv(ROOT / "base" / "customers.csv")
    scored_north = base[base["customer_id"].isin(scores["customer_id"]) & (base["region"] == "north")]
    assert 0 < len(scored_north) <= north
    assert summary["unseen_categories"]["customers.region"] == len(scored_north)
    # 'billing' was a kept topic: 'refund-request' is new; contacts has fewer topics than max_categories
    billing = sum(",billing," in line for line in (ROOT / "base" / "contacts.csv").read_text().splitlines())
    assert summary["unseen_categories"]["contacts.topic"] == billing


def test_cli_score_refuses_a_trained_column_that_arrived_empty(small_model, tmp_path):
    """The model learned from region; a file whose region column is empty is refused, not
    scored as if every customer's region were unknown."""
    cfg = _write_config(tmp_path, {"customers": "customers_all_null_column.csv"})
    r = runner.invoke(app, ["score", "--config", str(cfg), "--model", str(small_model),
                            "--out", str(tmp_path / "s.csv")])
    assert r.exit_code == 1, r.output
    assert "Table 'customers': column 'region' is empty in all 40 rows" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "s.csv").exists()


def test_score_parses_numeric_attribute_arriving_as_text(small_model, tmp_path):
    model = ck.load_model(small_model)
    cfg = _config({"customers": "customers_excel_numbers.csv"})
    result = ck.score(cfg, model)
    rej = result.rejects
    assert rej.loc[rej["customer_id"] == "c05", "reason"].str.contains("unparseable numeric").any()
    ds = result.dataset.customers.set_index("customer_id")
    assert ds.loc["c01", "value"] == 1234.5
    assert ds.loc["c01", "seats"] == 1000
    # a dataset whose numeric attribute was read as text (types not pinned) is parsed too
    cust = pd.read_csv(ROOT / "base" / "customers.csv", dtype=str)
    cust["seats"] = cust["seats"].where(cust.index % 5 != 0, "n/a")
    cust.loc[1, "seats"] = "3 seats"
    raw = _config_dict()
    del raw["data"]["customers"]["attributes"]["seats"]
    raw["data"]["customers"]["attributes"]["seats"] = "categorical"
    ds = ck.load_dataset(config_from_dict(raw, base_dir=ROOT), {"customers": cust})
    assert not pd.api.types.is_numeric_dtype(ds.customers["seats"])
    out = ck.scoring.score_partition(_config(), model, ds, as_of=ds.end)
    bad = out.rejects[out.rejects["column"] == "seats"]
    assert bad["customer_id"].tolist() == ["c02"]
    assert "trained on as numbers" in bad["reason"].iloc[0]
    assert pd.api.types.is_numeric_dtype(out.dataset.customers["seats"])
    assert out.features["static__seats"].notna().sum() == len(out.features) - \
        out.dataset.customers.loc[
            out.dataset.customers["customer_id"].isin(out.scores["customer_id"]), "seats"].isna().sum()
