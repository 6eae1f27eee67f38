"""Chunked local scoring gives the scores of churnkit.score, reading a chunk at a time."""

import numpy as np
import pandas as pd
import pytest
from _csv_copies import add_fields, copy_crm

import churnkit as ck
from churnkit._core import builtin_config
from churnkit.datasets import make_crm
from churnkit.exceptions import ConfigError
from churnkit.explain import top_reasons
from churnkit.scoring import partition_of, score_chunked

pytestmark = pytest.mark.slow  # the chunked engine against the local one on sample CRMs

REJECT_KEY = ["table", "row", "customer_id", "column", "value", "reason"]


def _dirty_contacts(path):
    """Unparseable dates, missing and unknown ids, padded ids and values, bad booleans."""
    c = pd.read_csv(path, dtype=str)
    c.loc[::50, "customer_id"] = None
    c.loc[3::61, "customer_id"] = "X999"
    c.loc[5::71, "timestamp"] = "not a date"
    c.loc[7::31, "resolved"] = "maybe"
    c.loc[9::13, "topic"] = " billing "
    c.loc[2::19, "customer_id"] = c.loc[2::19, "customer_id"] + " "
    c.to_csv(path, index=False)


@pytest.fixture(scope="module")
def crm_files(tmp_path_factory):
    """The sample CRM as Parquet and as (dirty) CSV, with a model trained on the Parquet copy."""
    root = tmp_path_factory.mktemp("crm")
    crm = make_crm(1500, random_state=11)
    configs = {}
    for fmt in ("parquet", "csv"):
        crm.write(root / fmt / "data", format=fmt)
        text = builtin_config("default.yaml").read_text().replace(".csv", f".{fmt}")
        # a smaller model trains in seconds on a busy machine; the engines do not care
        text = text.replace("n_estimators: 1000", "n_estimators: 150").replace(
            "learning_rate: 0.05", "learning_rate: 0.1").replace("n_jobs: 2", "n_jobs: 1")
        (root / fmt / "config.yaml").write_text(text)
        configs[fmt] = ck.load_config(root / fmt / "config.yaml")
    _dirty_contacts(root / "csv" / "data" / "contacts.csv")
    model = ck.train(configs["parquet"]).model
    return configs, model


def _same_rejects(a, b):
    def rows(frame):
        frame = frame[REJECT_KEY].astype(object)
        return sorted(map(tuple, frame.where(frame.notna(), None).astype(str).to_numpy()))

    return rows(a) == rows(b)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_chunked_scores_equal_the_local_engine(crm_files, fmt):
    configs, model = crm_files
    local = ck.score(configs[fmt], model)
    chunked = score_chunked(configs[fmt], model, partitions=3, block_rows=4000)
    pd.testing.assert_frame_equal(chunked.scores, local.scores)
    assert _same_rejects(chunked.rejects, local.rejects)
    assert len(chunked.rejects) == len(local.rejects)
    for key in ("as_of", "scored", "rejected_rows", "not_active", "risk_bands", "model_version"):
        assert chunked.summary[key] == local.summary[key], key
    if fmt == "csv":  # the dirty copy: rejects point at the rows of the source file
        raw = pd.read_csv(configs[fmt].resolve("data/contacts.csv"), dtype=str)
        bad = chunked.rejects[chunked.rejects["reason"].str.startswith("unparseable timestamp")]
        assert len(bad) > 0
        assert (raw.loc[bad["row"].astype(int), "timestamp"] == "not a date").all()


def test_chunked_scores_as_of_an_earlier_date(crm_files):
    configs, model = crm_files
    local = ck.score(configs["parquet"], model, as_of="2025-06-01")
    chunked = score_chunked(configs["parquet"], model, as_of="2025-06-01", partitions=2)
    pd.testing.assert_frame_equal(chunked.scores, local.scores)


def test_many_small_chunks_and_chunks_without_customers(crm_files, tmp_path):
    configs, model = crm_files
    one = score_chunked(configs["parquet"], model, partitions=1)
    many = score_chunked(configs["parquet"], model, partitions=60)
    pd.testing.assert_frame_equal(one.scores, many.scores)
    # 12 customers in 40 chunks: most chunks have no customer, only unknown customers' events
    crm = make_crm(12, random_state=2, months=12)
    crm.write(tmp_path / "data", format="csv")
    contacts = pd.read_csv(tmp_path / "data" / "contacts.csv", dtype=str)
    strangers = contacts.head(30).assign(customer_id=[f"X{i}" for i in range(30)])
    pd.concat([contacts, strangers]).to_csv(tmp_path / "data" / "contacts.csv", index=False)
    (tmp_path / "config.yaml").write_text(builtin_config("default.yaml").read_text())
    small = ck.load_config(tmp_path / "config.yaml")
    local = ck.score(small, model)
    chunked = score_chunked(small, model, partitions=40)
    pd.testing.assert_frame_equal(chunked.scores, local.scores)
    assert _same_rejects(chunked.rejects, local.rejects)
    unknown = chunked.rejects["reason"].str.startswith("event of a customer not in")
    assert unknown.sum() == 30


def test_partition_of_is_stable_and_follows_id_normalisation():
    ids = pd.Series(["C1", " C1 ", "12", "12.0", None, "C2"])
    p = partition_of(ids, 7)
    assert p[0] == p[1]
    assert p[2] == p[3]
    assert p[4] == 0
    np.testing.assert_array_equal(p, partition_of(ids.astype(object), 7))
    # the same id lands in the same partition whatever the rest of the column holds
    assert partition_of(pd.Series(["C2"]), 7)[0] == p[5]
    assert ((p >= 0) & (p < 7)).all()
    spread = np.bincount(partition_of(pd.Series([f"C{i:06d}" for i in range(7000)]), 7))
    assert spread.min() > 800


def test_errors_say_what_to_do(crm_files, tiny_config_dict):
    configs, model = crm_files
    with pytest.raises(ck.ConfigError, match="'partitions' parameter"):
        score_chunked(configs["parquet"], model, partitions=0)
    cfg = dict(tiny_config_dict)
    cfg["data"] = {**cfg["data"], "events": {"contacts": {
        **cfg["data"]["events"]["contacts"],
        "lookup": {"path": "x.csv", "key": "cust", "customer_id": "id"}}}}
    with pytest.raises(ConfigError, match="lookups.*local engine"):
        score_chunked(ck.config.config_from_dict(cfg), model)


def test_chunked_reader_refuses_and_decodes_files_as_the_local_reader(crm_files, tmp_path):
    """A workbook named .csv stops both readers alike; a UTF-16 export scores as the local engine."""
    from churnkit.exceptions import SchemaError

    configs, model = crm_files
    cfg = copy_crm(configs["csv"], tmp_path)
    contacts = tmp_path / "data" / "contacts.csv"
    text = contacts.read_text(encoding="utf-8")
    contacts.write_bytes(b"PK\x03\x04" + b"\x00" * 64)  # what an .xlsx saved under this name looks like
    for run in (lambda: ck.score(cfg, model), lambda: score_chunked(cfg, model, partitions=2)):
        with pytest.raises(SchemaError, match=r"'contacts'.*contacts\.csv.*Excel .xlsx workbook"):
            run()
    contacts.write_text(text, encoding="utf-16")  # with a byte-order mark
    local = ck.score(cfg, model, as_of="2025-06-01").scores
    chunked = score_chunked(cfg, model, as_of="2025-06-01", partitions=2).scores
    assert chunked["customer_id"].tolist() == local["customer_id"].tolist()
    np.testing.assert_allclose(chunked["churn_probability"], local["churn_probability"], atol=1e-9)


def test_a_line_with_too_many_fields_stops_the_chunked_engine_with_a_clear_error(crm_files, tmp_path):
    from churnkit.exceptions import SchemaError

    configs, model = crm_files
    cfg = copy_crm(configs["csv"], tmp_path)
    add_fields(tmp_path / "data" / "contacts.csv", 500)
    with pytest.raises(SchemaError, match=r"'contacts'.*more fields than the header.*local engine"):
        score_chunked(cfg, model, partitions=2)
    assert len(ck.score(cfg, model).scores)  # the local engine rejects that row and goes on


def test_reason_ranking_players_or_sum(crm_files):
    """scoring.reason_ranking: the groups' summed SHAP (default) or the groups as players."""
    configs, model = crm_files
    cfg = configs["parquet"]
    summed = ck.score(cfg, model)
    players_cfg = cfg.model_copy(
        update={"scoring": cfg.scoring.model_copy(update={"reason_ranking": "players"})})
    players = ck.score(players_cfg, model)
    pd.testing.assert_series_equal(players.scores["churn_probability"],
                                   summed.scores["churn_probability"])
    X, contrib = players.features, players.contributions
    for result, ranker in ((players, model), (summed, None)):
        expected = top_reasons(contrib, X, k=3, model=ranker)["reason_1"].to_numpy(dtype=object)
        got = result.scores["reason_1"].to_numpy(dtype=object)
        assert [str(v) for v in got] == [str(v) for v in expected]
    assert (players.scores["reason_1"] != summed.scores["reason_1"]).any()


def test_a_dataset_loaded_by_training_scores_as_the_files_do(crm_files):
    configs, _ = crm_files
    trained = ck.train(configs["csv"])  # the dirty copy: rejects too
    again = ck.score(configs["csv"], trained.model)
    reused = ck.score(configs["csv"], trained.model, dataset=trained.dataset)
    pd.testing.assert_frame_equal(reused.scores, again.scores)
    pd.testing.assert_frame_equal(reused.rejects, again.rejects)
    with pytest.raises(ConfigError, match="either 'tables' or an already loaded 'dataset'"):
        ck.score(configs["csv"], trained.model, dataset=trained.dataset, tables={})
    with pytest.raises(ConfigError, match="'dataset' are for 'local'"):
        ck.score(configs["csv"], trained.model, dataset=trained.dataset, engine="chunked")
