"""Throughput of churnkit's TreeExplainer against LightGBM's pred_contrib and shap.

Trains the reference model (binary objective, 80 features, 200 trees,
num_leaves=31, max_depth=8) on synthetic make_classification-like data, then
explains ``--rows`` rows with each method and prints rows/s (median of
``--repeats`` runs), the speed-up over ``pred_contrib`` and the largest
absolute difference from it.

    python benchmarks/bench_treeshap.py --rows 100000

By default numba compiles from scratch (a temporary cache directory) so that
the compilation time is reported; ``--warm-cache`` reuses the on-disk cache.
``--layout`` also prints how the explainer covers the trees: the time to read
the booster and to fill the pattern tables, and the share of leaves too deep
for tables (computed on the fly by the deep regions).

    python benchmarks/bench_treeshap.py --max-depth -1 --rows 100000 --layout
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np


def make_data(n_rows: int, n_features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters with informative, redundant and noise features, a few NaNs and zeros."""
    rng = np.random.default_rng(seed)
    n_inf = n_features // 4
    centers = rng.normal(scale=2.0, size=(8, n_inf))
    cluster = rng.integers(0, 8, n_rows)
    informative = centers[cluster] + rng.normal(size=(n_rows, n_inf))
    redundant = informative @ rng.normal(size=(n_inf, n_inf))
    noise = rng.normal(size=(n_rows, n_features - 2 * n_inf))
    X = np.hstack([informative, redundant, noise])[:, rng.permutation(n_features)]
    y = (cluster % 2).astype(np.int64)
    flip = rng.random(n_rows) < 0.05
    y[flip] = 1 - y[flip]
    X[rng.random(X.shape) < 0.02] = np.nan
    X[rng.random(X.shape) < 0.02] = 0.0
    return X, y


def timed(fn: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    """Median wall time of ``repeats`` calls, and the last result."""
    times = []
    result = np.empty(0)
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def print_layout(booster: lgb.Booster, explainer: Any, repeats: int) -> None:
    """Time the steps of the construction and describe how the trees are covered."""
    from churnkit.model._treeshap import _MERGE_BITS
    from churnkit.model._treeshap_booster import parse_booster
    from churnkit.model._treeshap_forest import L_N_PATH, R_N_EDGES

    dump_s, dump = timed(booster.dump_model, repeats)
    parse_s, forest = timed(
        lambda: parse_booster(
            dump,
            max_table_depth=explainer.max_table_depth,
            merge_bits=_MERGE_BITS,
            max_table_bytes=int(explainer.max_table_mb * 2**20),
        ),
        repeats,
    )
    table_s, _ = timed(lambda: _rebuild(explainer), repeats)
    n_leaves = forest.leaves.shape[0]
    n_deep = int((forest.leaves[:, L_N_PATH] > forest.table_depth).sum())
    print(
        f"construction: dump_model {dump_s:.2f} s, parse {parse_s:.2f} s, tables {table_s:.2f} s "
        f"(depth {forest.table_depth}); deep leaves: {n_deep:,} of {n_leaves:,} "
        f"({n_deep / max(n_leaves, 1):.1%}), in {int((forest.regions[:, R_N_EDGES] > 0).sum())} "
        f"tree(s), {forest.edges.shape[0]:,} deep-region edges; longest path "
        f"{int(forest.leaves[:, L_N_PATH].max())} splits"
    )


def _rebuild(explainer: Any) -> Any:
    explainer._table = None
    return explainer._ensure_table()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows to explain")
    parser.add_argument("--shap-rows", type=int, default=5_000, help="rows for shap (slow)")
    parser.add_argument("--train-rows", type=int, default=50_000)
    parser.add_argument("--features", type=int, default=80)
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--num-leaves", type=int, default=31)
    parser.add_argument("--max-depth", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="default: all cores")
    parser.add_argument("--skip-shap", action="store_true")
    parser.add_argument(
        "--layout",
        action="store_true",
        help="print the table build time and the share of leaves deeper than the tables",
    )
    parser.add_argument(
        "--warm-cache",
        action="store_true",
        help="reuse numba's on-disk cache (default: compile from scratch to time compilation)",
    )
    args = parser.parse_args()
    if not args.warm_cache:
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench_treeshap_")
    import numba  # after NUMBA_CACHE_DIR is set

    from churnkit.model import TreeExplainer

    n_threads = args.threads or numba.config.NUMBA_NUM_THREADS
    X_train, y_train = make_data(args.train_rows, args.features, seed=0)
    X, _ = make_data(args.rows, args.features, seed=1)
    params = {
        "objective": "binary",
        "num_leaves": args.num_leaves,
        "max_depth": args.max_depth,
        "learning_rate": 0.05,
        "verbose": -1,
        "num_threads": n_threads,
        "seed": 0,
    }
    booster = lgb.train(params, lgb.Dataset(X_train, y_train), num_boost_round=args.trees)
    print(
        f"model: {booster.num_trees()} trees, num_leaves={args.num_leaves}, "
        f"max_depth={args.max_depth}, {args.features} features; explaining {args.rows:,} rows "
        f"on {n_threads} thread(s)"
    )

    start = time.perf_counter()
    explainer = TreeExplainer(booster, n_jobs=n_threads)
    explainer.shap_values(X[:10])
    first = time.perf_counter() - start
    start = time.perf_counter()
    explainer = TreeExplainer(booster, n_jobs=n_threads)
    setup = time.perf_counter() - start
    what = "cache load" if args.warm_cache else "numba compilation"
    print(
        f"first construction + call (incl. {what}): {first:.2f} s; construction afterwards: "
        f"{setup:.2f} s; tables: {explainer.table_nbytes_ / 2**20:.1f} MiB"
    )

    if args.layout:
        print_layout(booster, explainer, args.repeats)

    t_ours, phi = timed(lambda: explainer.shap_values(X), args.repeats)
    groups = [np.arange(i, min(i + 8, args.features)) for i in range(0, args.features, 8)]
    t_group, _ = timed(lambda: explainer.grouped_shap_values(X, groups), args.repeats)
    t_lgb, ref = timed(lambda: booster.predict(X, pred_contrib=True), args.repeats)
    results = [
        ("lightgbm pred_contrib", args.rows, t_lgb, 0.0),
        ("churnkit TreeExplainer", args.rows, t_ours, float(np.abs(phi - ref).max())),
        (f"churnkit grouped ({len(groups)} grp)", args.rows, t_group, float("nan")),
    ]
    if not args.skip_shap:
        import shap

        n_shap = min(args.shap_rows, args.rows)
        shap_explainer = shap.TreeExplainer(booster)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # output-format notice
            t_shap, sv = timed(lambda: shap_explainer.shap_values(X[:n_shap]), args.repeats)
        sv = np.asarray(sv[-1] if isinstance(sv, list) else sv).reshape(n_shap, -1)
        diff = float(np.abs(sv[:, : args.features] - ref[:n_shap, :-1]).max())
        results.append(("shap TreeExplainer", n_shap, t_shap, diff))

    lgb_rate = args.rows / t_lgb
    print(f"\nmedian of {args.repeats} runs; max |diff| is against pred_contrib, all columns")
    print(f"{'method':<26}{'rows':>9}{'seconds':>10}{'rows/s':>11}{'vs pred_contrib':>17}{'max |diff|':>12}")
    for name, n, t, diff in results:
        rate = n / t
        shown = "" if diff != diff else f"{diff:.1e}"
        print(f"{name:<26}{n:>9,}{t:>10.2f}{rate:>11,.0f}{rate / lgb_rate:>16.1f}x{shown:>12}")


if __name__ == "__main__":
    main()
