"""Backtest figures of the default pipeline on the public datasets in ../shared/data.

Usage: python benchmarks/real_data.py [--datasets telco bank ...] [--seeds 5]
       [--set num_leaves=15 ...] [--oulad-students 0.5]

Every dataset is evaluated with :func:`churnkit.evaluate.backtest` on data the
model did not see, against three baselines fitted on the same folds: a
one-feature rule, a logistic regression on the model's features, and a plain
LightGBM (``LGBMClassifier`` with fixed, untuned settings, see
``churnkit.evaluate.PLAIN_LIGHTGBM``) on the raw columns (snapshots) or on the
model's features (event logs) and, for inactivity labels (CDNOW), the Pareto/NBD
model fitted at each cutoff on the purchases before it (column "Pareto/NBD"). Each figure is the mean ± standard deviation
over seeds 0 .. N-1 (the seed of the models and, for snapshots, of the folds).

- telco, bank, cell2cell: stratified 5-fold cross-validation (snapshot mode);
- cdnow: out of time, the test cutoff 1997-12-31 (as ``churnkit evaluate -c
  benchmarks/configs/cdnow.yaml``), trained on cutoffs whose 182-day horizon ended by then;
- oulad: out of time on days 168 and 189 of the course, pooled;
- ravenstack, olist (only on request): out of time over the 3 newest cutoffs.
  Neither has a usable churn signal, so their figures are no targets.

``--set key=value`` overrides model settings (e.g. to compare other defaults).
Prints one markdown table (the README's "Results on real data").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yaml

from churnkit.config import Config, config_from_dict
from churnkit.evaluate import backtest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from datasets import cell2cell_tables, oulad_tables  # noqa: E402

HERE = Path(__file__).resolve().parent
SCORERS = ("model", "rule", "logistic", "lightgbm", "btyd")
Tables = Callable[[argparse.Namespace], dict[str, pd.DataFrame] | None]


def _none(_: argparse.Namespace) -> None:
    return None


DATASETS: dict[str, tuple[str, str, str, Path, Tables]] = {
    "telco": ("IBM Telco", "5-fold CV", "ROC-AUC ≥ 0.848, lift ≥ 2.95",
              HERE / "configs" / "telco.yaml", _none),
    "bank": ("Bank churn", "5-fold CV", "ROC-AUC ≥ 0.868", HERE / "configs" / "bank.yaml", _none),
    "cdnow": ("CDNOW", "out of time, test 1997-12-31", "ROC-AUC ≥ 0.81",
              HERE / "configs" / "cdnow.yaml", _none),
    "cell2cell": ("Cell2Cell", "5-fold CV", "≥ plain LightGBM", HERE / "configs" / "cell2cell.yaml",
                  lambda a: cell2cell_tables()),
    "oulad": ("OULAD", "out of time, days 168 + 189", "≥ plain LightGBM",
              HERE / "configs" / "oulad.yaml",
              lambda a: oulad_tables(students=a.oulad_students)),
    "ravenstack": ("RavenStack SaaS", "out of time, 3 cutoffs", "none (no signal)",
                   HERE / "configs" / "ravenstack.yaml", _none),
    "olist": ("Olist reviews", "out of time, 3 cutoffs", "none (no real label)",
              HERE / "configs" / "olist.yaml", _none),
}
DEFAULT = ["telco", "bank", "cdnow", "cell2cell", "oulad"]


def _config(path: Path, overrides: dict[str, object], seed: int) -> Config:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw.setdefault("model", {}).update({**overrides, "random_state": seed})
    return config_from_dict(raw, base_dir=path.parent, source=str(path))


def _run(name: str, args: argparse.Namespace, overrides: dict[str, object], seed: int,
         tables: dict[str, pd.DataFrame] | None) -> tuple[dict[str, dict[str, float]], int, str]:
    result = backtest(_config(DATASETS[name][3], overrides, seed), tables=tables)
    m = result.metrics
    scorers = {"model": m, **m["baseline"]}
    figures = {s: {k: float(scorers[s][k]) if s in scorers else float("nan")
                   for k in ("roc_auc", "top_decile_lift")} for s in SCORERS}
    folds = result.folds
    pooled = ""
    if "test_cutoff" in folds:
        pooled = " + ".join(str(c.date()) for c in folds["test_cutoff"])
    return figures, int(m["n"]), pooled


def _ms(values: list[float], fmt: str) -> str:
    if all(v != v for v in values):  # NaN: the scorer does not apply (btyd outside inactivity)
        return "–"
    sd = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{format(statistics.fmean(values), fmt)} ± {format(sd, fmt)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=DEFAULT, choices=list(DATASETS))
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1 (default 5)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="model settings to override, e.g. num_leaves=15")
    parser.add_argument("--oulad-students", type=float, default=0.5,
                        help="share of OULAD students kept (default 0.5, for speed)")
    args = parser.parse_args()
    overrides = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.set)}
    if overrides:
        print(f"Model settings overridden: {overrides}\n")
    print(f"Mean ± std over seeds 0..{args.seeds - 1}. OULAD: {args.oulad_students:.0%} of the "
          "students (all their enrolments), sampled once with seed 0.\n")
    print("| dataset | evaluation | test n | ROC-AUC model | rule | logistic | plain LightGBM | "
          "Pareto/NBD | model − plain | top-decile lift model | plain LightGBM | target | "
          "seconds per seed |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    gaps = []
    for name in args.datasets:
        label, how, target, _, tables_of = DATASETS[name]
        start = time.perf_counter()
        tables = tables_of(args)
        runs = []
        for seed in range(args.seeds):
            runs.append(_run(name, args, overrides, seed, tables))
            print(f"  {name} seed {seed}: model {runs[-1][0]['model']['roc_auc']:.4f}, plain "
                  f"LightGBM {runs[-1][0]['lightgbm']['roc_auc']:.4f}, Pareto/NBD "
                  f"{runs[-1][0]['btyd']['roc_auc']:.4f}", file=sys.stderr, flush=True)
        seconds = (time.perf_counter() - start) / args.seeds
        auc = {s: [r[0][s]["roc_auc"] for r in runs] for s in SCORERS}
        lift = {s: [r[0][s]["top_decile_lift"] for r in runs] for s in SCORERS}
        gap = [a - b for a, b in zip(auc["model"], auc["lightgbm"], strict=True)]
        if name not in {"ravenstack", "olist"}:
            gaps.append(statistics.fmean(gap))
        if not all(v != v for v in auc["btyd"]):
            over = [a - b for a, b in zip(auc["model"], auc["btyd"], strict=True)]
            print(f"  {label}: model − Pareto/NBD ROC-AUC {_ms(over, '+.4f')}", file=sys.stderr,
                  flush=True)
        n, pooled = runs[0][1], runs[0][2]
        where = f"{how} (test cutoffs {pooled})" if pooled and name != "cdnow" else how
        print(f"| {label} | {where} | {n:,} | "
              + " | ".join(_ms(auc[s], ".4f") for s in SCORERS)
              + f" | {_ms(gap, '+.4f')} | {_ms(lift['model'], '.2f')} | "
              f"{_ms(lift['lightgbm'], '.2f')} | {target} | {seconds:.0f} |", flush=True)
    if gaps:
        print(f"\nModel − plain LightGBM ROC-AUC, mean over {len(gaps)} datasets: "
              f"{statistics.fmean(gaps):+.4f}")


if __name__ == "__main__":
    main()
