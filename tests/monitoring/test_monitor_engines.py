"""Every engine writes the same run record: partition counts add up to the local engine's."""

from __future__ import annotations

import json

import pytest

import churnkit as ck

pytestmark = pytest.mark.slow


def _record(path):
    record = json.loads(path.read_text())
    return {k: record[k] for k in ("as_of", "model_version", "rows", "rejects_by_reason",
                                   "score", "features", "config_hash")}


def test_local_chunked_and_dask_write_the_same_run_record(tmp_path):
    from distributed import Client

    config = ck.load_config(ck.datasets.make_crm(300, random_state=0).write_project(tmp_path))
    model = ck.train(config).model
    local = ck.score(config, model).write(tmp_path / "local" / "scores.csv")["run"]
    chunked = ck.score(config, model, engine="chunked", partitions=3).write(
        tmp_path / "chunked" / "scores.csv")["run"]
    with Client(processes=False, n_workers=1, threads_per_worker=2,
                dashboard_address=None) as client:
        result = ck.score(config, model, engine="dask", partitions=2, scheduler=client,
                          out_dir=tmp_path / "dask")
        dask = result.write(tmp_path / "dask")["run"]
    expected = _record(local)
    assert expected["features"]
    assert _record(chunked) == expected
    assert _record(dask) == expected
    assert json.loads(dask.read_text())["files"] == {"scores": "scores", "rejects": "rejects"}
    # the dask summary keeps no per-feature counts
    assert "monitoring" not in json.loads((tmp_path / "dask" / "summary.json").read_text())
