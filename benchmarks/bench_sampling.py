"""What sampling the training rows costs in accuracy: sampled fit against the full fit.

Usage::

    python benchmarks/bench_sampling.py --customers 100000 --max-rows 500000 50000

Generates ``make_crm(customers)`` and trains with ``churnkit.train`` on the same
tables and the default configuration: once on every row
(``model.max_training_rows: null``) and once per ``--max-rows`` with the training
cutoffs sampled to that many rows (see ``churnkit.model.sample_training_rows``). The
default budgets are the default ``max_training_rows`` (500,000) and 50,000, the share
of the training rows that the default keeps at 1M customers (about 6%). All models
are validated on the same, unsampled, newest cutoffs; the script prints their
validation ROC-AUC, the difference to the full fit, the rows each used, the wall
time and the peak memory of each fit, and the load average before and after.
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
    parser.add_argument("--max-rows", type=int, nargs="+", default=[500_000, 50_000],
                        help="model.max_training_rows of each sampled fit")
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
    for name, budget in (("full", None), *((f"sampled to {n:,}", n) for n in args.max_rows)):
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
                     "rate": sampling.get("non_churner_rate", 1.0),
                     "churners": sampling.get("churner_rate", 1.0), "load": load,
                     "learning_rate": result.model.tuning_.get("final_learning_rate")})
        del result
    print("\n| fit | rows used | churners kept | non-churners kept | validation rows "
          "| learning rate | validation ROC-AUC | − full | train s | peak GiB | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['fit']} | {r['rows']:,} | {r['churners']:.1%} | {r['rate']:.1%} | "
              f"{r['valid']:,} | {r['learning_rate']} | {r['auc']:.4f} | "
              f"{r['auc'] - rows[0]['auc']:+.4f} | {r['seconds']:.0f} | {r['peak']:.2f} | "
              f"{r['load']:.2f} |")
    print(f"\ntarget: sampled within 0.003 of the full fit; load average at the end "
          f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
