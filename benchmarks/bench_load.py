"""How long churnkit takes to load and validate Parquet tables, against a plain read of them.

Writes ``make_crm(--customers)`` (36 months) as Parquet files with a config that
reads them, then times, in this process and ``--repeat`` times each (best and
median printed): a plain ``pandas.read_parquet`` of the five tables the config
reads (the floor of loading), and ``churnkit.load_dataset`` of the config
(reading, parsing, validating, ids coded, events sorted, rejects). The ratio
is that of the medians. The load average is printed before and after, since
other jobs on the machine slow the figures down.

Run: ``python benchmarks/bench_load.py --customers 100000``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

import churnkit as ck
from churnkit._core import builtin_config

TABLES = ["customers", "contacts", "feedback", "transactions", "usage"]


def _times(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        crm = ck.datasets.make_crm(args.customers, random_state=0, months=36)
        crm.write(folder / "data", format="parquet")
        text = builtin_config("default.yaml").read_text().replace(".csv", ".parquet")
        (folder / "config.yaml").write_text(text)
        config = ck.load_config(folder / "config.yaml")
        files = [folder / "data" / f"{name}.parquet" for name in TABLES]
        rows = sum(len(frame) for name, frame in crm.tables.items() if name in TABLES)
        del crm
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        ck.load_dataset(config)  # first call: imports and caches warm
        plain = _times(lambda: [pd.read_parquet(f) for f in files], args.repeat)
        load = _times(lambda: ck.load_dataset(config), args.repeat)
        ratio = statistics.median(load) / statistics.median(plain)
        print(f"{args.customers:,} customers, {rows:,} rows in {len(files)} Parquet files, "
              f"{args.repeat} runs each")
        print(f"plain pandas.read_parquet of the tables: median {statistics.median(plain):.2f} s "
              f"(best {min(plain):.2f} s)")
        print(f"churnkit load_dataset (read and validate): median {statistics.median(load):.2f} s "
              f"(best {min(load):.2f} s)")
        print(f"load / plain read: {ratio:.2f}x (target <= 2.5x)")
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
