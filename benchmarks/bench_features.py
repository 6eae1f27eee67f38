"""The feature engine against plain pandas and against the floor of one vectorised pass.

Usage::

    python benchmarks/bench_features.py --customers 100000
    python benchmarks/bench_features.py --customers 1000000 --repeat 3 --data /tmp/ck1m

Builds the features of every active customer at one cutoff (the end of the
data, as scoring does) from the sample CRM three ways, in the same process:

- **churnkit**: :class:`churnkit.features.FeatureSet`, event tables only;
- **pandas**: a straightforward pandas implementation of the same features,
  one group-by per window and aggregate (its output is checked against
  churnkit's on a sample of customers before anything is timed);
- **floor**: one vectorised pass per window over the columns churnkit aggregates
  with ``numpy.bincount`` over customer codes (counts; per numeric and boolean
  column, the derived ones included, a weighted sum and a count of present
  values; counts per category level); the least work any engine does. Customer
  codes and derived columns are computed before timing, and churnkit gets the
  spine's ids coded once, as ``FeatureSet.transform`` codes them for all tables.

``--data DIR`` reuses (or creates) the Parquet files of the sample CRM in DIR.
The machine's load average is printed: other jobs slow every figure down.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DAY = pd.Timedelta(days=1)


def pandas_features(f: Any, events: pd.DataFrame, spine: pd.DataFrame) -> pd.DataFrame:
    """The features of a fitted ``EventFeatures`` at one cutoff, in plain pandas."""
    from churnkit.features._event_columns import _clean, _derive

    cut = spine["cutoff"].iloc[0]
    t = f.table
    derived, _ = _derive(events, f.kind, {}, f.roles_, nps_classes="detractor" in f.types_)
    ev = events.assign(**{k: np.asarray(v, dtype=np.float64) for k, v in derived.items()})
    ev["customer_id"] = ev["customer_id"].astype(object)
    past = ev[ev["timestamp"] < cut]
    ids = pd.Index(spine["customer_id"].to_numpy(dtype=object))
    out: dict[str, pd.Series] = {}

    def put(name: str, values: pd.Series, fill: float | None = None) -> None:
        values = values.reindex(ids)
        out[name] = values.fillna(fill) if fill is not None else values

    for w in f.windows_:
        win = past[past["timestamp"] >= cut - w * DAY]
        prev = past[(past["timestamp"] >= cut - 2 * w * DAY) & (past["timestamp"] < cut - w * DAY)]
        n_win = win.groupby("customer_id").size().reindex(ids).fillna(0)
        n_prev = prev.groupby("customer_id").size().reindex(ids).fillna(0)
        put(f"{t}__count__{w}d", n_win)
        put(f"{t}__count__trend__{w}d", n_win - n_prev)
    stamps = past.groupby("customer_id")["timestamp"]
    put(f"{t}__days_since_last", (cut - stamps.max()) / DAY)
    put(f"{t}__days_since_first", (cut - stamps.min()) / DAY)
    for col, levels in f.categories_.items():
        text = past[col].astype("str").str.strip() if col in past else pd.Series(np.nan, past.index)
        level = text.where(text.isin(levels), "(other)" if f.other_[col] else np.nan)
        level = level.where(text.notna())
        for w in f.windows_:
            inside = (past["timestamp"] >= cut - w * DAY).to_numpy()
            table = past.loc[inside].groupby(["customer_id", level[inside]]).size().unstack()  # noqa: PD010
            for v in levels + (["(other)"] if f.other_[col] else []):
                counts = table[v] if v in table else pd.Series(dtype=float)
                put(f"{t}__{_clean(col)}={_clean(v)}__count__{w}d", counts, 0.0)
    for col, aggs in f.aggs_.items():
        for w in f.windows_:
            win = past[past["timestamp"] >= cut - w * DAY]
            prev = past[(past["timestamp"] >= cut - 2 * w * DAY) & (past["timestamp"] < cut - w * DAY)]
            g = win.groupby("customer_id")[col]
            first, last, total = g.first(), g.last(), g.sum()
            stats = {"count": g.count(), "sum": total, "min": g.min(), "max": g.max(),
                     "first": first, "last": last, "mean": g.mean(), "change": last - first,
                     "trend": total.reindex(ids).fillna(0)
                     - prev.groupby("customer_id")[col].sum().reindex(ids).fillna(0)}
            for a in aggs:
                fill = 0.0 if a in {"count", "sum", "trend"} else None
                put(f"{t}__{_clean(col)}__{a}__{w}d", stats[a], fill)
    for col in f._bools():
        for w in f.windows_:
            g = past[past["timestamp"] >= cut - w * DAY].groupby("customer_id")[col]
            put(f"{t}__{_clean(col)}__count__{w}d", g.sum(), 0.0)
            put(f"{t}__{_clean(col)}__share__{w}d", g.sum() / g.count().replace(0, np.nan))
        true = past[past[col] == 1.0].groupby("customer_id")["timestamp"].max()
        put(f"{t}__{_clean(col)}__days_since_last", (cut - true) / DAY)
    frame = pd.DataFrame(out)
    return frame[list(f.feature_names_out_)].set_axis(spine.index).astype(np.float32)


def floor_columns(f: Any, events: pd.DataFrame) -> tuple[list[np.ndarray], list[np.ndarray],
                                                        list[np.ndarray]]:
    """The columns the floor passes over: numeric, boolean (0/1/NaN) and category codes.

    The same columns churnkit aggregates, including those it derives from the
    table (``answered``, one score column per survey, ``detractor``, ``inbound``...),
    computed here before timing, as the customer codes are.
    """
    from churnkit.features._event_columns import _derive

    derived, _ = _derive(events, f.kind, {}, f.roles_, nps_classes="detractor" in f.types_)

    def column(c: str) -> np.ndarray:
        if c in derived:
            return np.asarray(derived[c], dtype=np.float64)
        return events[c].to_numpy(dtype=np.float64, na_value=np.nan)

    numeric = [column(c) for c in f.aggs_ if c in derived or c in events]
    bools = [column(c) for c in f._bools() if c in derived or c in events]
    levels = [pd.factorize(events[c])[0] for c in f.categories_ if c in events]
    return numeric, bools, levels


def floor_pass(events: pd.DataFrame, codes: np.ndarray, n: int, f: Any, cut: pd.Timestamp,
               columns: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]) -> float:
    """One vectorised pass per window: bincount of counts and of every column.

    Per window: the event count; per numeric and boolean column its sum (the
    true count) and its count of present values; per category column the count
    of each level.
    """
    ts = events["timestamp"].to_numpy("datetime64[ns]")
    cut64 = cut.to_datetime64()
    numeric, bools, levels = columns
    total = 0.0
    for w in f.windows_:
        inside = (ts < cut64) & (ts >= cut64 - np.timedelta64(w, "D"))
        c = codes[inside]
        total += np.bincount(c, minlength=n).sum()
        for values in [*numeric, *bools]:
            v = values[inside]
            ok = ~np.isnan(v)
            total += np.bincount(c[ok], weights=v[ok], minlength=n).sum()
            total += np.bincount(c[ok], minlength=n).sum()
        for lv in levels:
            total += np.bincount(c * 16 + np.maximum(lv[inside], 0) % 16, minlength=16 * n).sum()
    return total


def _median(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median time of ``repeat`` runs (NaN for none) and the last result."""
    if repeat < 1:
        return float("nan"), None
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pandas-repeat", type=int, default=1,
                        help="runs of the plain-pandas version (minutes each at 1M customers; "
                             "0 skips it)")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder with config.yaml and data/ (e.g. a bench_scale.py --workdir)")
    parser.add_argument("--check", type=int, default=3000, help="customers checked vs pandas")
    args = parser.parse_args(argv)

    import churnkit as ck
    from churnkit._core import builtin_config
    from churnkit.datasets import make_crm
    from churnkit.features import feature_set
    from churnkit.features._build import _coded_spine

    folder = args.data or Path(f"/tmp/churnkit-bench-features-{args.customers}")
    if not (folder / "config.yaml").is_file():
        make_crm(args.customers, random_state=0).write(folder / "data", format="parquet")
        text = builtin_config("default.yaml").read_text().replace(".csv", ".parquet")
        (folder / "config.yaml").write_text(text)
    cfg = ck.load_config(folder / "config.yaml")
    start = time.perf_counter()
    ds = ck.load_dataset(cfg)
    print(f"{args.customers:,} customers, load {time.perf_counter() - start:.1f} s; "
          f"customer_id dtype of events: {ds.events['contacts']['customer_id'].dtype.name}; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    spine = ds.customers.loc[ck.labels.active_mask(ds, ds.end), ["customer_id"]].assign(
        cutoff=ds.end).reset_index(drop=True)
    fs = feature_set(cfg.features).fit(ds, spine)

    # correctness first: pandas equals churnkit on a sample of customers
    sample = spine.sample(n=min(args.check, len(spine)), random_state=0)
    keep = set(sample["customer_id"])
    for name, f in fs.events_.items():
        ev = ds.events[name]
        ev = ev[ev["customer_id"].isin(keep)]
        ours = f.transform(sample, events=ev)
        theirs = pandas_features(f, ev, sample)
        np.testing.assert_allclose(theirs.to_numpy(), ours.to_numpy(), rtol=2e-6, atol=1e-4,
                                   err_msg=name)
    print(f"pandas == churnkit on {len(sample):,} customers for {sorted(fs.events_)}\n")

    print(f"{'table':<14}{'events':>12}{'features':>10}{'churnkit s':>12}{'pandas s':>10}"
          f"{'floor s':>9}{'pandas/ck':>11}{'ck/floor':>10}")
    totals = np.zeros(3)
    # the spine's ids coded once for all tables, as FeatureSet.transform does (and as the
    # floor's customer codes are computed before timing)
    coded = _coded_spine(spine, ds)
    for name, f in fs.events_.items():
        ev = ds.events[name]
        ck_s, _ = _median(lambda f=f, ev=ev: f.transform(coded, events=ev), args.repeat)
        pd_s, _ = _median(lambda f=f, ev=ev: pandas_features(f, ev, spine), args.pandas_repeat)
        codes, uniques = pd.factorize(ev["customer_id"])
        cols = floor_columns(f, ev)
        fl_s, _ = _median(lambda f=f, ev=ev, c=codes, u=uniques, cols=cols: floor_pass(
            ev, c, len(u), f, ds.end, cols), args.repeat)
        totals += [ck_s, pd_s, fl_s]
        print(f"{name:<14}{len(ev):>12,}{len(f.feature_names_out_):>10}{ck_s:>12.2f}{pd_s:>10.2f}"
              f"{fl_s:>9.2f}{pd_s / ck_s:>10.1f}x{ck_s / fl_s:>9.1f}x", flush=True)
    events = sum(map(len, ds.events.values()))
    print(f"{'all tables':<14}{events:>12,}{'':>10}{totals[0]:>12.2f}{totals[1]:>10.2f}"
          f"{totals[2]:>9.2f}{totals[1] / totals[0]:>10.1f}x{totals[0] / totals[2]:>9.1f}x")
    whole, X = _median(lambda: fs.transform(ds, spine), args.repeat)
    print(f"\nFeatureSet.transform (static + events): {whole:.2f} s for {len(X):,} rows x "
          f"{X.shape[1]} features (median of {args.repeat}); load average "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
