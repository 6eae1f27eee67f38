"""The Dask engine on a local cluster of spawned worker processes gives the local engine's scores."""

import sys

import dask
import numpy as np
import pandas as pd
import pytest
from _csv_copies import add_fields, copy_crm

import churnkit as ck
from churnkit._core import builtin_config
from churnkit.config import config_from_dict
from churnkit.datasets import make_crm
from churnkit.exceptions import ConfigError
from churnkit.scoring import score_dask

pytestmark = pytest.mark.slow  # starts a Dask LocalCluster

distributed = pytest.importorskip("distributed")

REJECT_KEY = ["table", "row", "customer_id", "column", "value", "reason"]


@pytest.fixture(scope="module")
def client():
    # set before the workers start: a forked worker would inherit it, a spawned one cannot
    sys._churnkit_parent_only = True
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c
    del sys._churnkit_parent_only


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    """The sample CRM as Parquet and as CSV (with rows that get rejected), and a local model."""
    root = tmp_path_factory.mktemp("crm")
    data = make_crm(2000, random_state=21)
    configs = {}
    for fmt in ("parquet", "csv"):
        data.write(root / fmt / "data", format=fmt)
        text = builtin_config("default.yaml").read_text().replace(".csv", f".{fmt}")
        text = text.replace("n_estimators: 1000", "n_estimators: 150").replace(
            "learning_rate: 0.05", "learning_rate: 0.1").replace("n_jobs: 2", "n_jobs: 1")
        (root / fmt / "config.yaml").write_text(text)
        configs[fmt] = ck.load_config(root / fmt / "config.yaml")
    path = root / "csv" / "data" / "contacts.csv"
    contacts = pd.read_csv(path, dtype=str)
    contacts.loc[::40, "timestamp"] = "yesterday"
    contacts.loc[5::70, "customer_id"] = "NOBODY"
    contacts.loc[7::90, "customer_id"] = None
    contacts.loc[3, "timestamp"] = "2205-01-31T10:00:00"  # stray: rejected, the end stays
    contacts.to_csv(path, index=False)
    return data, configs, ck.train(configs["parquet"]).model


def _rejects(frame):
    frame = frame[REJECT_KEY].astype(object)
    frame = frame.where(frame.notna(), None)
    frame["row"] = [None if r is None else int(r) for r in frame["row"]]
    return sorted(map(tuple, frame.astype(str).to_numpy()))


def test_workers_are_spawned_not_forked(client):
    """numba's GNU OpenMP runtime is not fork-safe: the workers must be spawned."""
    assert dask.config.get("distributed.worker.multiprocessing-method") == "spawn"
    inherited = client.run(lambda: hasattr(sys, "_churnkit_parent_only"))
    assert inherited
    assert not any(inherited.values())


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_dask_scores_equal_the_local_engine(client, crm, fmt, tmp_path):
    data, configs, model = crm
    local = ck.score(configs[fmt], model)
    result = score_dask(configs[fmt], model, scheduler=client, partitions=4,
                        out_dir=tmp_path)
    summary = result.summary
    assert type(result) is type(local)  # one result type for every engine
    assert (tmp_path / "summary.json").is_file()
    parts = sorted((tmp_path / "scores").glob("part-*.parquet"))
    assert len(parts) == 4
    assert all(len(pd.read_parquet(p)) > 0 for p in parts)
    scores = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    assert scores["customer_id"].is_unique
    assert set(scores["customer_id"]) == set(local.scores["customer_id"])
    got = scores.set_index("customer_id").loc[local.scores["customer_id"]]
    want = local.scores.set_index("customer_id")
    np.testing.assert_allclose(got["churn_probability"], want["churn_probability"], rtol=0,
                               atol=1e-9)
    np.testing.assert_allclose(got["value_at_risk"], want["value_at_risk"], rtol=0, atol=1e-9)
    text = [c for c in want.columns if c not in {"churn_probability", "value_at_risk"}]
    pd.testing.assert_frame_equal(got[text].astype(object).where(got[text].notna(), None),
                                  want[text].astype(object).where(want[text].notna(), None),
                                  check_names=False)
    rejects = pd.concat([pd.read_parquet(p) for p in (tmp_path / "rejects").glob("part-*")])
    assert _rejects(rejects) == _rejects(local.rejects)
    # nothing lost: every customer once, in scores or among the customers' rejects
    gone = rejects.loc[rejects["table"] == "customers", "customer_id"]
    assert gone.is_unique
    assert set(gone).isdisjoint(scores["customer_id"])
    assert set(gone) | set(scores["customer_id"]) == set(data.customers["customer_id"])
    for key in ("as_of", "scored", "rejected_rows", "not_active", "unseen_categories", "risk_bands",
                "model_version"):
        assert summary[key] == local.summary[key], key
    if fmt == "csv":
        assert summary["rejected_rows"] > 0
        assert rejects["reason"].str.contains("bulk of the event dates").sum() == 1


def test_dask_scores_as_of_an_earlier_date(client, crm, tmp_path):
    _, configs, model = crm
    local = ck.score(configs["parquet"], model, as_of="2025-03-01").scores
    score_dask(configs["parquet"], model, as_of="2025-03-01", scheduler=client, partitions=3,
               out_dir=tmp_path)
    got = pd.read_parquet(tmp_path / "scores").set_index("customer_id").loc[local["customer_id"]]
    assert (got["as_of"] == "2025-03-01").all()
    np.testing.assert_allclose(got["churn_probability"], local["churn_probability"], atol=1e-9)


def test_train_dask_with_lightgbm_dask(client, crm, tmp_path):
    _, configs, local_model = crm
    result = ck.train(configs["parquet"], engine="dask", scheduler=client, partitions=4)
    model = result.model
    assert result.summary["engine"] == "dask"
    assert model.metrics_["roc_auc"] >= 0.8, model.metrics_
    assert list(model.feature_names_in_) == list(local_model.feature_names_in_)
    # the same out-of-time split as local training: same validation rows, same purged cutoffs
    assert model.metrics_["n_train"] == local_model.metrics_["n_train"]
    assert model.metrics_["n"] == local_model.metrics_["n"]
    # drift monitoring's reference: the validation rows' features, the same rows as locally
    profile, expected = model.training_profile_, local_model.training_profile_
    assert profile["rows"] == expected["rows"] == model.metrics_["n"]
    assert profile["features"] == expected["features"]
    assert profile["score"]["n"] == expected["score"]["n"]
    ck.save_model(model, tmp_path / "model", config=model.config_, training=model.training_)
    assert (tmp_path / "model" / "training_profile.json").is_file()
    loaded = ck.load_model(tmp_path / "model")
    result = ck.score(configs["parquet"], loaded)
    scores = result.scores
    assert scores["churn_probability"].between(0, 1).all()
    assert scores.loc[scores["risk_band"] == "high", "reason_1"].notna().all()
    result.write(tmp_path / "runs" / "now" / "scores.csv")
    drift = ck.monitor(loaded, [tmp_path / "runs"]).drift
    assert len(drift)
    assert drift["psi"].notna().any()


def test_train_dask_samples_like_the_local_engine(client, crm):
    _, configs, _ = crm
    base = configs["parquet"].model_dump(mode="json", exclude={"base_dir"})
    base["model"].update(max_training_rows=3000, tune="off")
    config = config_from_dict(base, base_dir=configs["parquet"].base_dir)
    local = ck.train(config).summary["sampling"]
    remote = ck.train(config, engine="dask", scheduler=client, partitions=4).summary["sampling"]
    assert remote["sampled"]
    for key in ("rows_available", "training_rows_available", "churner_rate", "non_churner_rate"):
        assert remote[key] == local[key], key
    # every churner kept at the training cutoffs (rate 1), by either engine
    assert remote["churner_rate"] == 1.0
    assert remote["churners_kept"] == local["churners_kept"] > 0
    assert remote["rows_used"] < remote["rows_available"]


def test_configurations_that_cannot_be_split_are_refused(crm, tiny_config_dict, tmp_path):
    _, _, model = crm
    cfg = dict(tiny_config_dict)
    cfg["data"] = {**cfg["data"], "customers": {**cfg["data"]["customers"], "joins": [
        {"path": "x.csv", "key": "id", "columns": {"n": {"column": "id", "agg": "count"}}}]}}
    with pytest.raises(ConfigError, match="joins.*local engine"):
        score_dask(ck.config.config_from_dict(cfg), model, out_dir=tmp_path)


@pytest.mark.parametrize("line", [3, 1500])  # in the rows Dask samples for the types, and after
def test_a_csv_line_with_too_many_fields_stops_with_a_clear_error(client, crm, line, tmp_path):
    from churnkit.exceptions import SchemaError

    _, configs, model = crm
    cfg = copy_crm(configs["csv"], tmp_path)
    add_fields(tmp_path / "data" / "contacts.csv", line)
    with pytest.raises(SchemaError, match=r"'contacts'.*more fields than the header.*local engine"):
        score_dask(cfg, model, scheduler=client, partitions=2, out_dir=tmp_path / "out")
