"""Time and peak memory of ``churnkit.datasets.make_crm``.

Usage::

    python benchmarks/bench_make_crm.py               # 100,000 customers
    python benchmarks/bench_make_crm.py --n 1000000   # 1M customers

Peak RSS is the whole process's high-water mark (``ru_maxrss``), so run one
size per process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time


def _peak_rss_gib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / 2**30 if sys.platform == "darwin" else peak / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of customers")
    parser.add_argument("--months", type=int, default=24, help="months of data")
    parser.add_argument("--random-state", type=int, default=0, help="seed of make_crm")
    args = parser.parse_args(argv)

    from churnkit.datasets import make_crm

    baseline = _peak_rss_gib()
    start = time.perf_counter()
    crm = make_crm(args.n, random_state=args.random_state, months=args.months)
    elapsed = time.perf_counter() - start

    rows = {name: len(frame) for name, frame in crm.tables.items()}
    memory = sum(int(frame.memory_usage(deep=True).sum()) for frame in crm.tables.values())
    print(f"make_crm(n_customers={args.n:_}, months={args.months}, random_state={args.random_state})")
    for name, count in rows.items():
        print(f"  {name:<13} {count:>13_} rows")
    print(f"  events        {sum(rows.values()) - 2 * args.n:>13_} rows")
    print(f"time            {elapsed:8.1f} s")
    print(f"tables in memory {memory / 2**30:7.2f} GiB")
    print(f"peak RSS        {_peak_rss_gib():8.2f} GiB (after imports: {baseline:.2f} GiB)")


if __name__ == "__main__":
    main()
