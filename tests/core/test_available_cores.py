"""Threads follow the cores the process may use, unless the user set a count."""

import os

import numpy as np
import pandas as pd

import churnkit as ck
from churnkit._core import PARALLEL_ROWS, available_cores, builtin_config, resolve_threads, threads_for
from churnkit._core.threads import _cgroup_quota
from churnkit.model import ChurnModel


def test_available_cores_is_the_affinity_at_most():
    cores = available_cores()
    assert 1 <= cores <= len(os.sched_getaffinity(0))


def test_a_cgroup_quota_lowers_the_count(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert _cgroup_quota(tmp_path) == 2
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert _cgroup_quota(tmp_path) is None
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert _cgroup_quota(tmp_path) == 1
    assert _cgroup_quota(tmp_path / "none") is None


def test_a_count_the_user_set_wins():
    assert resolve_threads(5) == 5
    assert resolve_threads(None) == available_cores()
    assert resolve_threads(-1) == available_cores()


def test_default_model_uses_the_available_cores_and_saves_that_choice(tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600)})
    y = rng.random(600) < 1 / (1 + np.exp(-2 * X["a"]))
    model = ChurnModel(n_estimators=20, min_child_samples=20, tune="off").fit(X, y)
    assert model.n_jobs is None
    assert model._threads() == available_cores()
    assert ck.load_config(builtin_config("default.yaml")).model.n_jobs is None
    ck.save_model(model, tmp_path / "m")
    assert ck.load_model(tmp_path / "m").n_jobs is None


def test_passes_over_large_columns_take_numba_threads_small_ones_one():
    import numba

    assert threads_for(PARALLEL_ROWS - 1) == 1
    assert threads_for(PARALLEL_ROWS) == numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        assert threads_for(10 * PARALLEL_ROWS) == 1
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
