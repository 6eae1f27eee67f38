"""How big a run record is and how fast ``churnkit monitor`` reads a year of runs.

A model is trained on a small sample CRM (its training profile is what every
run record is binned on). Run records are then written through the scoring
path's own writer (:class:`churnkit.scoring.ScoreResult`) for the customers of
a 100,000-customer sample CRM active at each of twelve monthly dates, with
feature rows drawn from the small sample's (so the feature pipeline is not run
at that size), and monitored: drift, then drift plus realised performance and
retention against the big CRM's data. One run.json is written for 1,000,000
customers.

Run: ``python benchmarks/bench_monitor.py``
"""

from __future__ import annotations

import os
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


def _run(model, config, X, as_of: str, ids: np.ndarray, rng: np.random.Generator
         ) -> ScoreResult:
    n = len(ids)
    rows = rng.integers(0, len(X), n)
    Xn = X.iloc[rows].reset_index(drop=True)
    p = model.predict_proba(Xn)[:, 1]
    scores = pd.DataFrame({"customer_id": ids, "as_of": as_of,
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
    big_crm = ck.datasets.make_crm(100_000, random_state=0, months=36)
    cust = big_crm.customers
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scored = []
        for m in range(12):
            when = pd.Timestamp("2025-01-01") + pd.DateOffset(months=m)
            active = (cust["signup_date"] < when) & ~(cust["end_date"] < when)
            ids = cust["customer_id"][active].astype(str).to_numpy()
            scored.append(len(ids))
            _run(model, config, X, when.date().isoformat(), ids, rng).write(
                folder / "runs" / when.date().isoformat() / "scores.parquet")
        sizes = [p.stat().st_size for p in (folder / "runs").glob("*/run.json")]
        print(f"12 monthly runs of a 100,000-customer CRM ({min(scored):,}-{max(scored):,} "
              f"active customers scored each): run.json {np.mean(sizes) / 1e3:.1f} kB each")
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        t = time.perf_counter()
        result = ck.monitor(model, [folder / "runs"])
        result.write(folder / "report")
        seconds = time.perf_counter() - t
        print(f"churnkit monitor, drift only (against training and the previous run, "
              f"monitor.html): {seconds:.1f} s for 12 runs")
        t = time.perf_counter()
        dataset = ck.load_dataset(config, big_crm.tables)
        loading = time.perf_counter() - t
        t = time.perf_counter()
        result = ck.monitor(model, [folder / "runs"], config=config, dataset=dataset)
        result.write(folder / "report-full")
        seconds = time.perf_counter() - t
        known = sum(r["performance"]["status"] == "known" for r in result.summary["runs"])
        events = sum(len(e) for e in dataset.events.values())
        print(f"loading and validating the 100,000-customer CRM ({events:,} events) for "
              f"realised performance: {loading:.1f} s")
        print(f"churnkit monitor with the data loaded (drift, realised performance of {known} "
              f"runs, retention, monitor.html): {seconds:.1f} s")
        print(f"a year of monthly runs monitored, loading included: {loading + seconds:.1f} s "
              f"(target: under 30 s)")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        ids = np.array([f"C{i:07d}" for i in range(1_000_000)], dtype=object)
        big = _run(model, config, X, "2026-01-01", ids, rng)
        files = big.write(folder / "big" / "scores.parquet")
        print(f"run.json at 1,000,000 customers: {files['run'].stat().st_size / 1e3:.1f} kB")


if __name__ == "__main__":
    main()
