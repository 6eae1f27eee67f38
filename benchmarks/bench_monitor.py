"""How big a run record is and how fast ``churnkit monitor`` reads a year of runs.

A model is trained on a small sample CRM (its training profile is what every
run record is binned on). Run records are then written through the scoring
path's own writer (:class:`churnkit.scoring.ScoreResult`) for score frames of
100,000 and 1,000,000 customers whose feature rows are drawn from the sample's
(so the full feature and scoring pipeline is not run at that size): twelve
monthly runs at 100k are monitored for drift, and one run.json is written at 1M.

Run: ``python benchmarks/bench_monitor.py``
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import churnkit as ck
from churnkit._core import builtin_config
from churnkit.config import config_from_dict
from churnkit.model import profile_counts
from churnkit.scoring import ScoreResult, config_hash, merge_summaries


def _run(model, config, X, as_of: str, n: int, rng: np.random.Generator) -> ScoreResult:
    rows = rng.integers(0, len(X), n)
    Xn = X.iloc[rows].reset_index(drop=True)
    p = model.predict_proba(Xn)[:, 1]
    scores = pd.DataFrame({"customer_id": [f"C{i:07d}" for i in range(n)], "as_of": as_of,
                           "churn_probability": np.round(p, 6)})
    parts = []
    for idx in np.array_split(np.arange(n), 8):  # partitions, as the chunked engine sums them
        part = {"scored": len(idx), "rejected_rows": 0, "not_active": 0,
                "unseen_categories": {}, "risk_bands": {}, "value_at_risk": 0.0,
                "monitoring": {**profile_counts(model.training_profile_, Xn.iloc[idx], p[idx]),
                               "rejects_by_reason": {}}}
        parts.append(part)
    summary = merge_summaries(parts, as_of=pd.Timestamp(as_of), model_version=model.version_)
    result = ScoreResult({**summary, "engine": "chunked", "partitions": 8},
                         {"scores": scores, "rejects": pd.DataFrame(
                             columns=["table", "row", "customer_id", "column", "value", "reason"])})
    result.run_info = {"config_hash": config_hash(config), "config_name": config.name,
                       "label": {"definition": "contractual", "horizon_days": 90}}
    return result


def main() -> None:
    rng = np.random.default_rng(0)
    config = ck.load_config(builtin_config("default.yaml"))
    data = config.model_dump(exclude={"base_dir"})
    data["model"]["tune"] = "off"
    config = config_from_dict(data)
    crm = ck.datasets.make_crm(3000, random_state=0)
    trained = ck.train(config, tables=crm.tables)
    model = trained.model
    fs = model.feature_set_
    X = fs.transform(trained.dataset, trained.labels[["customer_id", "cutoff"]])
    print(f"model: {len(model.feature_names_in_)} features, profile bins: "
          f"{config.monitor.bins} per numeric feature")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        for m in range(12):
            as_of = (pd.Timestamp("2025-01-01") + pd.DateOffset(months=m)).date().isoformat()
            _run(model, config, X, as_of, 100_000, rng).write(folder / "runs" / as_of /
                                                             "scores.parquet")
        write = time.perf_counter() - t
        sizes = [p.stat().st_size for p in (folder / "runs").glob("*/run.json")]
        t = time.perf_counter()
        result = ck.monitor(model, [folder / "runs"])
        result.write(folder / "report")
        seconds = time.perf_counter() - t
        print(f"12 monthly runs x 100,000 customers: run records written in {write:.1f} s "
              f"(with their scores); run.json {np.mean(sizes) / 1e3:.1f} kB each")
        print(f"churnkit monitor (drift against training and previous run, monitor.html): "
              f"{seconds:.1f} s for 12 runs, status {result.summary['status']}")
        big = _run(model, config, X, "2026-01-01", 1_000_000, rng)
        files = big.write(folder / "big" / "scores.parquet")
        print(f"run.json at 1,000,000 customers: {files['run'].stat().st_size / 1e3:.1f} kB")


if __name__ == "__main__":
    main()
