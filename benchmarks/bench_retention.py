"""Benchmark retention analytics on 1,000,000 customers.

Builds a customers table with random signup and end dates over 24 months and
4 segments (vectorised), then times the monthly CRR by segment (median of 3
runs), the cohort matrix and the value-by-segment table; then the
activity-based CRR and cohort matrix on 5 events per customer.

Run with ``python benchmarks/bench_retention.py [n_customers]``.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from churnkit.retention import (
    activity_cohort_matrix,
    activity_crr,
    cohort_matrix,
    crr,
    value_by_segment,
)


def make_customers(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2023-01-01T00:00", "s")
    span = 24 * 30 * 86_400  # about 24 months, in seconds
    signup = start + rng.integers(0, span, n).astype("timedelta64[s]")
    stay = rng.exponential(365 * 86_400, n).astype("int64").astype("timedelta64[s]")
    end = signup + stay
    end = np.where(end < start + np.timedelta64(span, "s"), end, np.datetime64("NaT"))
    return pd.DataFrame(
        {
            "customer_id": pd.Series(np.arange(n)).map("C{:07d}".format),
            "signup_date": pd.to_datetime(signup),
            "end_date": pd.to_datetime(end),
            "segment": pd.Categorical(
                rng.choice(["consumer", "smb", "mid-market", "enterprise"], n, p=[0.5, 0.3, 0.15, 0.05])
            ),
            "mrr": rng.gamma(2.0, 50.0, n).round(2),
        }
    )


def make_events(n_customers: int, per_customer: int = 5, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_customers * per_customer
    start = np.datetime64("2023-01-01T00:00", "s")
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_customers, n),
            "timestamp": pd.to_datetime(start + rng.integers(0, 730 * 86_400, n).astype("timedelta64[s]")),
            "amount": rng.gamma(2.0, 20.0, n).round(2),
        }
    )


def timed(func: Callable[[], Any], runs: int = 3) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(n: int = 1_000_000) -> None:
    t0 = time.perf_counter()
    customers = make_customers(n)
    print(f"built {n:,} customers in {time.perf_counter() - t0:.2f} s")

    t, table = timed(lambda: crr(customers, period="M", by="segment"))
    print(f"crr by month x segment:          {t:6.2f} s (median of 3), {len(table)} rows")
    t, _ = timed(lambda: crr(customers, period="M", by="segment", value_col="mrr"))
    print(f"crr by month x segment + NRR:    {t:6.2f} s (median of 3)")
    t, matrix = timed(lambda: cohort_matrix(customers))
    print(f"cohort matrix:                   {t:6.2f} s (median of 3), shape {matrix.shape}")
    t, value = timed(lambda: value_by_segment(customers, value_col="mrr", by="segment"))
    print(f"value by segment:                {t:6.2f} s (median of 3)")

    events = make_events(n)
    t, _ = timed(lambda: activity_crr(events, period="M", amount_col="amount"), runs=1)
    print(f"activity crr, {len(events):,} events + NRR: {t:6.2f} s")
    t, _ = timed(lambda: activity_cohort_matrix(events), runs=1)
    print(f"activity cohort matrix:          {t:6.2f} s")

    last = table[table["period_start"] == table["period_start"].max()]
    print(last[["period_start", "segment", "S", "N", "lost", "E", "crr"]].to_string(index=False))
    print(value[["segment", "customers", "churn_rate", "clv", "rank"]].to_string(index=False))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
