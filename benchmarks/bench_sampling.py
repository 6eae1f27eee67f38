"""What sampling the training rows costs in accuracy: sampled fit against the full fit.

Usage::

    python benchmarks/bench_sampling.py --customers 100000 --max-rows 300000

Generates ``make_crm(customers)`` and trains twice with ``churnkit.train`` on the
same tables and the default configuration: once on every row
(``model.max_training_rows: null``) and once with the training cutoffs sampled to
``--max-rows`` rows (every churner kept, non-churners weighted). Both models are
validated on the same, unsampled, newest cutoffs; the script prints their
validation ROC-AUC, the difference, the rows each used, the wall time and the peak
memory of each fit, and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import _Sampler  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--max-rows", type=int, default=300_000,
                        help="model.max_training_rows of the sampled fit (default 300,000)")
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)

    import churnkit as ck
    from churnkit._core import builtin_config
    from churnkit.config import config_from_dict

    print(f"churnkit sampling benchmark: {args.customers:,} customers, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}", flush=True)
    base = ck.load_config(builtin_config("default.yaml")).model_dump(
        mode="json", exclude={"base_dir"})
    crm = ck.datasets.make_crm(args.customers, random_state=args.random_state)
    rows: list[dict[str, Any]] = []
    for name, budget in (("full", None), ("sampled", args.max_rows)):
        raw = {**base, "model": {**base["model"], "max_training_rows": budget}}
        config = config_from_dict(raw)
        load = os.getloadavg()[0]
        with _Sampler() as s:
            start = time.perf_counter()
            result = ck.train(config, tables=crm.tables)
            seconds = time.perf_counter() - start
        m = result.model.metrics_
        sampling = result.summary.get("sampling", {})
        rows.append({"fit": name, "auc": m["roc_auc"], "rows": result.summary["rows_used"],
                     "valid": int(m["n"]), "seconds": seconds, "peak": s.peak,
                     "rate": sampling.get("non_churner_rate", 1.0), "load": load})
        del result
    print("\n| fit | rows used | non-churners kept | validation rows | validation ROC-AUC "
          "| train s | peak GiB | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['fit']} | {r['rows']:,} | {r['rate']:.1%} | {r['valid']:,} | "
              f"{r['auc']:.4f} | {r['seconds']:.0f} | {r['peak']:.2f} | {r['load']:.2f} |")
    diff = rows[1]["auc"] - rows[0]["auc"]
    print(f"\nvalidation ROC-AUC sampled - full: {diff:+.4f} (target: within 0.003); "
          f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
