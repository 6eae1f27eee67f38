"""The drift of all the features of a run, computed together, equals the one-pair functions'."""

import numpy as np
import pandas as pd

from churnkit.config import MonitorConfig
from churnkit.monitoring import SCORE, js_distance, psi, run_drift


def _entry(counts, missing=0, unseen=0):
    return {"counts": list(counts), "n": int(sum(counts) + missing), "missing": missing,
            "unseen": unseen}


def test_batched_drift_equals_psi_and_js_of_each_feature():
    rng = np.random.default_rng(3)
    reference, run = {"features": {}}, {"features": {}}
    for i in range(60):
        bins = int(rng.choice([3, 10, 12]))
        ref = rng.integers(0, 50, bins) * (rng.random(bins) > 0.3)
        new = rng.integers(0, 50, bins) * (rng.random(bins) > 0.3)
        if i == 0:
            ref = np.zeros(bins, dtype=int)  # a feature without counts: uniform shares
        reference["features"][f"f{i}"] = _entry(ref, missing=int(rng.integers(0, 5)))
        run["features"][f"f{i}"] = _entry(new, missing=int(rng.integers(0, 5)),
                                          unseen=int(rng.integers(0, 3)))
    reference["score"], run["score"] = _entry([5, 5, 0]), _entry([0, 9, 1])
    importance = pd.Series(1.0 / 60, index=[f"f{i}" for i in range(60)])
    drift = run_drift(reference, run, importance=importance, settings=MonitorConfig(),
                      against="training").set_index("feature")
    assert len(drift) == 61
    for name in [*run["features"], SCORE]:
        ref = reference["score"] if name == SCORE else reference["features"][name]
        new = run["score"] if name == SCORE else run["features"][name]
        e = np.array([*ref["counts"], ref["missing"], ref.get("unseen", 0)],
                     dtype=float)
        a = np.array([*new["counts"], new["missing"], new.get("unseen", 0)], dtype=float)
        assert drift.loc[name, "psi"] == psi(e, a)  # exactly: same sums in the same order
        assert drift.loc[name, "js"] == js_distance(e, a)


def test_features_with_other_bins_than_the_reference_are_left_out():
    reference = {"features": {"a": _entry([1, 2, 3]), "b": _entry([1, 2])}, "score": None}
    run = {"features": {"a": _entry([3, 2, 1]), "b": _entry([1, 2, 3])}, "score": None}
    drift = run_drift(reference, run, importance=pd.Series({"a": 0.5, "b": 0.5}),
                      settings=MonitorConfig(), against="previous")
    assert drift["feature"].tolist() == ["a"]
