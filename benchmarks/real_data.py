"""Validation figures of the default pipeline on the public datasets in ../shared/data.

Usage: python benchmarks/real_data.py [--datasets telco cdnow]

Prints one markdown table row per dataset (the README's "Results on real data").
"""

from __future__ import annotations

import argparse
import time

import churnkit as ck
from churnkit._resources import builtin_config

DATASETS = {
    "telco": "IBM Telco (7,043 customers)",
    "cdnow": "CDNOW (23,570 customers, 1997-98)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    args = parser.parse_args()
    print("| dataset | rows | validation n | ROC-AUC | PR-AUC | top-decile lift | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name in args.datasets:
        start = time.perf_counter()
        cfg = ck.load_config(builtin_config(f"{name}.yaml"))
        result = ck.train(cfg)
        m = result.model.metrics_
        print(
            f"| {DATASETS[name]} | {result.summary['rows']:,} | {int(m['n']):,} | "
            f"{m['roc_auc']:.3f} | {m['pr_auc']:.3f} | {m['top_decile_lift']:.2f} | "
            f"{time.perf_counter() - start:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
