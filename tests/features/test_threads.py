"""One fitted FeatureSet serves several threads: it holds no data and transform changes nothing."""

from __future__ import annotations

import pickle
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone

from churnkit.features import EventFeatures, FeatureSet, TextFeatures

N_THREADS = 4
ROUNDS = 3


@pytest.fixture
def eager_switching():
    """Let threads take turns every microsecond, so a shared mutable state shows quickly."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.fixture(scope="module")
def fitted(crm_dataset):
    ds = crm_dataset(300, random_state=0)
    # text features too, to cover TextFeatures and its inner EventFeatures
    specs = {name: (replace(spec, text=True) if name == "feedback" else spec)
             for name, spec in ds.specs.items()}
    ds = replace(ds, specs=specs)
    ids = ds.customers["customer_id"]
    train = pd.DataFrame({"customer_id": ids, "cutoff": ds.end - pd.Timedelta(days=120)})
    fs = FeatureSet(windows=[30, 90]).fit(ds, train)
    assert fs.texts_, "the feedback comments should give text features"
    return ds, fs


def _spines(ds, n: int) -> list[pd.DataFrame]:
    """``n`` different spines: other customers, cutoffs and row orders."""
    rng = np.random.default_rng(1)
    ids = ds.customers["customer_id"].to_numpy()
    out = []
    for k in range(n):
        rows = rng.choice(len(ids), size=min(len(ids), 40 + 15 * k), replace=False)
        cut = ds.end - pd.to_timedelta(rng.integers(1, 300, len(rows)), "D")
        out.append(pd.DataFrame({"customer_id": ids[rows], "cutoff": cut},
                                index=pd.RangeIndex(1000 * k, 1000 * k + len(rows))))
    return out


def _partitions(ds, n: int) -> list:
    """``ds`` split by customer into ``n`` datasets, as the Dask engine splits it."""
    ids = ds.customers["customer_id"].to_numpy()
    parts = []
    for k in range(n):
        keep = ids[k::n]
        parts.append(replace(
            ds, customers=ds.customers[ds.customers["customer_id"].isin(keep)],
            events={name: ev[ev["customer_id"].isin(keep)] for name, ev in ds.events.items()}))
    return parts


def _jobs(ds) -> list[tuple]:
    """(dataset, spine) pairs: every partition with several spines of its customers."""
    return [(part, spine) for part in _partitions(ds, N_THREADS) for spine in _spines(part, ROUNDS)]


def _data_inside(obj: object, path: str = "fs", seen: set[int] | None = None) -> list[str]:
    """Paths of every DataFrame or Series reachable through the attributes of ``obj``."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, pd.DataFrame | pd.Series):
        return [path]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _data_inside(v, f"{path}[{k!r}]", seen)]
    if isinstance(obj, list | tuple):
        return [p for i, v in enumerate(obj) for p in _data_inside(v, f"{path}[{i}]", seen)]
    if isinstance(obj, BaseEstimator):
        return [p for k, v in vars(obj).items() for p in _data_inside(v, f"{path}.{k}", seen)]
    return []


def test_threads_sharing_one_fitted_set_get_the_serial_features(fitted, eager_switching):
    """Threads transform other partitions of the data with one set, as Dask workers do."""
    ds, fs = fitted
    jobs = _jobs(ds)
    serial = [fs.transform(part, spine) for part, spine in jobs]
    state = pickle.dumps(fs)
    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        for shift in range(3):  # several rounds, each in another mix of threads
            order = jobs[shift:] + jobs[:shift]
            want = serial[shift:] + serial[:shift]
            got = list(pool.map(lambda job: fs.transform(*job), order))
            for w, g in zip(want, got, strict=True):
                pd.testing.assert_frame_equal(g, w)
    assert pickle.dumps(fs) == state  # transform changed nothing in the fitted set


def test_threads_sharing_one_event_transformer(fitted, eager_switching):
    ds, fs = fitted
    f = fs.events_["contacts"]
    jobs = [(part.events["contacts"], spine.astype({"customer_id": object}))
            for part, spine in _jobs(ds)]
    serial = [f.transform(spine, events=ev) for ev, spine in jobs]
    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        got = list(pool.map(lambda job: f.transform(job[1], events=job[0]), jobs))
    for want, have in zip(serial, got, strict=True):
        pd.testing.assert_frame_equal(have, want)


def test_the_fitted_set_holds_no_data(fitted):
    ds, fs = fitted
    assert _data_inside(fs) == []
    fs.transform(ds, _spines(ds, 1)[0])
    fs.unseen_categories(ds, _spines(ds, 1)[0])
    assert _data_inside(fs) == []
    text = fs.texts_["feedback"]
    assert isinstance(text, TextFeatures)
    assert _data_inside(text.inner_, "inner_") == []


def test_clone_copies_no_data(fitted):
    _, fs = fitted
    f = fs.events_["usage"]
    params = f.get_params()
    assert not any(isinstance(v, pd.DataFrame | pd.Series) for v in params.values())
    g = clone(f)
    assert isinstance(g, EventFeatures)
    assert g.get_params() == params
    assert not hasattr(g, "feature_names_out_")
    # the set's own parameters are plain values too
    assert clone(fs).get_params() == {"btyd": "off", "derived": True, "max_categories": 10,
                                      "windows": [30, 90]}
