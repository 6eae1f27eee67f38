"""The end of the data comes from the bulk of the event dates; stray far-future dates do not move it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import churnkit as ck
from churnkit._core import builtin_config, resolve_as_of
from churnkit.data import find_end, first_day
from churnkit.data._end import bulk_end
from churnkit.datasets import make_crm
from churnkit.labels import labels_from_config
from churnkit.scoring import score_chunked
from churnkit.scoring._partition import data_end, dataset_stamp


@pytest.fixture(scope="module")
def crm():
    return make_crm(600, random_state=0)


@pytest.fixture(scope="module")
def config():
    return ck.load_config(builtin_config("default.yaml"))


def _tables(crm) -> dict[str, pd.DataFrame]:
    return {"customers": crm.customers.copy(), **{n: t.copy() for n, t in crm.event_tables.items()}}


def test_demo_end_is_the_day_after_the_last_event(crm, config):
    ds = ck.load_dataset(config, _tables(crm))
    assert ds.end == pd.Timestamp("2026-01-01")
    assert ds.start == pd.Timestamp(min(t["timestamp"].min() for t in crm.event_tables.values())
                                    ).normalize()
    assert len(ds.rejects) == 0


def test_one_far_future_usage_row_is_rejected_and_does_not_move_the_end(crm, config):
    tables = _tables(crm)
    usage = tables["usage"]
    stray = usage.iloc[[0]].assign(timestamp=pd.Timestamp("2205-01-31"))
    tables["usage"] = pd.concat([usage, stray], ignore_index=True)
    ds = ck.load_dataset(config, tables)
    assert ds.end == pd.Timestamp("2026-01-01")
    assert len(ds.events["usage"]) == len(usage)
    rej = ds.rejects
    assert len(rej) == 1
    line = rej.iloc[0]
    assert (line["table"], line["row"], line["column"]) == ("usage", len(usage), "timestamp")
    assert line["customer_id"] == stray["customer_id"].iloc[0]
    assert line["value"].startswith("2205-01-31")
    assert "on or after the end of the data (2026-01-01" in line["reason"]
    assert "bulk of the event dates" in line["reason"]


def test_contract_end_sentinel_is_an_attribute_not_the_end(crm, config):
    tables = _tables(crm)
    cust = tables["customers"]
    active = cust.index[cust["end_date"].isna()][0]
    cust.loc[active, "end_date"] = pd.Timestamp("2099-12-31")
    ds = ck.load_dataset(config, tables)
    assert ds.end == pd.Timestamp("2026-01-01")
    kept = ds.customers.set_index("customer_id")
    assert kept.loc[cust.loc[active, "customer_id"], "end_date"] == pd.Timestamp("2099-12-31")
    assert len(ds.rejects) == 0
    # still an active customer at the end of the data
    assert ck.labels.active_mask(ds, ds.end)[
        ds.customers["customer_id"].to_numpy() == cust.loc[active, "customer_id"]].all()


def test_the_default_cutoffs_stop_at_the_bulk_end(crm, config):
    """Training cutoffs come from the end of the data: a stray date adds none."""
    tables = _tables(crm)
    tables["usage"] = pd.concat(
        [tables["usage"], tables["usage"].iloc[[5]].assign(timestamp=pd.Timestamp("2205-01-31"))],
        ignore_index=True)
    plain = labels_from_config(ck.load_dataset(config, _tables(crm)), config.labels)
    strayed = labels_from_config(ck.load_dataset(config, tables), config.labels)
    assert strayed["cutoff"].max() == plain["cutoff"].max() < pd.Timestamp("2026-01-01")
    assert len(strayed) == len(plain)


def test_bulk_end_keeps_a_dense_tail_and_drops_a_sparse_far_one():
    days = pd.date_range("2024-01-01", "2024-06-30", freq="D")
    bulk = pd.Series(100, index=days)
    assert bulk_end(bulk) == pd.Timestamp("2024-07-01")
    # a few stray rows in several far-future years: all dropped
    stray = pd.Series([1, 2, 1], index=pd.to_datetime(["2099-12-31", "2150-01-01", "2205-01-31"]))
    assert bulk_end(pd.concat([bulk, stray])) == pd.Timestamp("2024-07-01")
    # a tail after a long gap but with more than 1% of the rows is real data
    tail = pd.Series(200, index=pd.date_range("2025-01-01", periods=2, freq="D"))
    assert bulk_end(pd.concat([bulk, tail])) == pd.Timestamp("2025-01-03")
    # a gap shorter than 90 days is a quiet period, not a stray date
    near = pd.Series(1, index=pd.to_datetime(["2024-08-15"]))
    assert bulk_end(pd.concat([bulk, near])) == pd.Timestamp("2024-08-16")
    assert bulk_end(pd.Series(dtype=np.int64, index=pd.DatetimeIndex([]))) is None


def test_without_events_the_customer_dates_set_the_end():
    empty = pd.Series(dtype=np.int64, index=pd.DatetimeIndex([]))
    cust = pd.Series(1, index=pd.date_range("2023-01-01", periods=300, freq="D"))
    sentinel = pd.Series(1, index=pd.to_datetime(["2099-12-31"]))
    assert find_end([(empty, pd.concat([cust, sentinel]))]) == pd.Timestamp("2023-10-28")
    with pytest.raises(ck.SchemaError, match="Cannot tell where the data ends"):
        find_end([(empty, empty)])
    assert first_day([(empty, cust)]) is None


def test_partitions_find_the_same_end_as_all_the_data(crm, config):
    tables = _tables(crm)
    tables["usage"] = pd.concat(
        [tables["usage"], tables["usage"].iloc[[0]].assign(timestamp=pd.Timestamp("2205-01-31"))],
        ignore_index=True)
    whole = ck.load_dataset(config, tables)
    # split customers (and their events) in three: the rows per day add up
    ids = tables["customers"]["customer_id"]
    parts = []
    for k in range(3):
        mine = set(ids.iloc[k::3])
        part = {n: t[t["customer_id"].isin(mine)] for n, t in tables.items()}
        far = config.model_copy(update={"data": config.data.model_copy(
            update={"end": pd.Timestamp("2262-01-01").date()})})
        parts.append(dataset_stamp(ck.load_dataset(far, part)))
    assert data_end(config, parts) == whole.end == pd.Timestamp("2026-01-01")
    assert first_day(parts) == whole.start


def test_as_of_outside_the_event_range_is_refused():
    end, start = pd.Timestamp("2026-01-01"), pd.Timestamp("2023-01-01")
    assert resolve_as_of(None, end, start=start) == end
    assert resolve_as_of("2025-06-01", end, start=start) == pd.Timestamp("2025-06-01")
    with pytest.raises(ck.ConfigError, match=r"as_of: 2100-01-01 is after the end of the data "
                                             r"\(2026-01-01\).*data.end"):
        resolve_as_of("2100-01-01", end, start=start)
    with pytest.raises(ck.ConfigError, match=r"on or before the first event \(2023-01-01\)"):
        resolve_as_of("2022-12-31", end, start=start)


@pytest.mark.slow
def test_scoring_with_a_stray_date_keeps_as_of_and_every_customer(crm, config, tmp_path):
    """Train small on the demo, then score data with a 2205 usage row and a 2099 contract end."""
    crm.write(tmp_path / "data", format="csv")
    text = builtin_config("default.yaml").read_text().replace("n_estimators: 1000",
                                                             "n_estimators: 60")
    (tmp_path / "config.yaml").write_text(text)
    cfg = ck.load_config(tmp_path / "config.yaml")
    model = ck.train(cfg).model
    plain = ck.score(cfg, model)

    usage = pd.read_csv(tmp_path / "data" / "usage.csv", dtype=str)
    usage.loc[len(usage)] = [*usage.iloc[0, :1], "2205-01-31", *usage.iloc[0, 2:]]
    usage.to_csv(tmp_path / "data" / "usage.csv", index=False)
    cust = pd.read_csv(tmp_path / "data" / "customers.csv", dtype=str)
    open_ended = cust.index[cust["end_date"].isna()][0]
    cust.loc[open_ended, "end_date"] = "2099-12-31"
    cust.to_csv(tmp_path / "data" / "customers.csv", index=False)

    got = ck.score(cfg, model)
    assert got.summary["as_of"] == plain.summary["as_of"] == "2026-01-01"
    assert got.summary["risk_bands"] == plain.summary["risk_bands"]
    pd.testing.assert_frame_equal(got.scores, plain.scores)
    assert got.rejects["reason"].str.contains("bulk of the event dates").sum() == 1
    chunked = score_chunked(cfg, model, partitions=3)
    pd.testing.assert_frame_equal(chunked.scores, got.scores)
    assert chunked.rejects["reason"].str.contains("bulk of the event dates").sum() == 1
    with pytest.raises(ck.ConfigError, match="after the end of the data"):
        ck.score(cfg, model, as_of="2100-12-31")


def test_cli_refuses_as_of_outside_the_events_in_one_paragraph(tmp_path):
    """A small model on the bad-input base CRM (events up to 2024-05-27, data.end unset)."""
    import yaml
    from cli_runner import cli_runner

    from churnkit.cli import app

    base = Path(__file__).parents[1] / "bad_inputs" / "base"
    raw = {
        "name": "as-of",
        "data": {
            "customers": {"path": str(base / "customers.csv"), "signup_date": "signup_date",
                          "end_date": "end_date", "value": "monthly_value"},
            "events": {"contacts": {"kind": "contacts", "path": str(base / "contacts.csv")}},
        },
        "labels": {"horizon_days": 30, "validation_cutoffs": 1,
                   "cutoffs": ["2024-02-01", "2024-03-01", "2024-04-01"]},
        "model": {"n_estimators": 10, "min_child_samples": 3, "calibration": "none",
                  "n_jobs": 1},
        "scoring": {"explain": "none"},
    }
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    runner = cli_runner()
    r = runner.invoke(app, ["train", "--config", str(cfg), "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    for as_of, words in [("2100-01-01", "after the end of the data (2024-05-28)"),
                         ("2023-06-01", "on or before the first event (2024-01-01)")]:
        r = runner.invoke(app, ["score", "--config", str(cfg), "--model", str(tmp_path / "m"),
                                "--out", str(tmp_path / "s.csv"), "--as-of", as_of])
        assert r.exit_code == 1, r.output
        message = " ".join(r.stderr.split())
        assert words in message
        assert "Traceback" not in r.stderr
        assert not (tmp_path / "s.csv").exists()
    r = runner.invoke(app, ["score", "--config", str(cfg), "--model", str(tmp_path / "m"),
                            "--out", str(tmp_path / "s.csv"), "--format", "json"])
    assert r.exit_code == 0, r.output
    assert '"as_of": "2024-05-28"' in r.stdout
