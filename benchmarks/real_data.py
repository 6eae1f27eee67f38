"""Backtest figures of the default pipeline on the public datasets in ../shared/data.

Usage: python benchmarks/real_data.py [--datasets telco bank cdnow] [--set num_leaves=15 ...]

Every dataset is evaluated with :func:`churnkit.evaluate.backtest` on data the
model did not see, against the two baselines fitted on the same folds: a
one-feature rule and a logistic regression on the model's features.

- telco, bank: stratified 5-fold cross-validation (snapshot mode);
- cdnow: out-of-time backtest; the row is the test cutoff 1997-12-31 (trained on
  cutoffs whose 182-day horizon ended by then);
- ravenstack, olist: out-of-time backtest over the 3 newest cutoffs, pooled.
  Neither has a usable churn signal (RavenStack is synthetic noise; Olist's
  label only says whether a recent buyer still has a review to write), so
  their figures exercise the pipeline and are no targets.

``--set key=value`` overrides model settings (e.g. to compare other defaults).
Prints one markdown table (the README's "Results on real data").
"""

from __future__ import annotations

import argparse
import time

import yaml

from churnkit._core import builtin_config
from churnkit.config import config_from_dict
from churnkit.evaluate import backtest

DATASETS = {
    "telco": ("IBM Telco", "5-fold CV", "ROC-AUC ≥ 0.845, lift ≥ 2.9"),
    "bank": ("Bank churn", "5-fold CV", "ROC-AUC ≥ 0.865"),
    "cdnow": ("CDNOW", "out of time, test 1997-12-31", "ROC-AUC ≥ 0.80"),
    "ravenstack": ("RavenStack SaaS", "out of time, 3 cutoffs", "none (no signal)"),
    "olist": ("Olist reviews", "out of time, 3 cutoffs", "none (no real label)"),
}


def _value(text: str) -> object:
    return yaml.safe_load(text)


def _config(name: str, overrides: dict[str, object]):
    path = builtin_config(f"{name}.yaml")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if overrides:
        raw.setdefault("model", {}).update(overrides)
    return config_from_dict(raw, base_dir=path.parent, source=str(path))


def _row(name: str, overrides: dict[str, object]) -> str:
    start = time.perf_counter()
    result = backtest(_config(name, overrides))
    m = result.metrics
    scorers = {"model": m, **m["baseline"]}
    n = int(m["n"])
    if name == "cdnow":  # the figure at the last test cutoff, 1997-12-31
        fold = result.folds.iloc[-1]
        scorers = {s: {k: fold[f"{s}_{k}"] for k in ("roc_auc", "pr_auc", "top_decile_lift",
                                                      "emp_per_customer")}
                   for s in ("model", "rule", "logistic")}
        n = int(fold["n_test"])

    def three(key: str, fmt: str) -> str:
        return " / ".join(format(scorers[s][key], fmt) for s in ("model", "rule", "logistic"))

    label, how, target = DATASETS[name]
    return (
        f"| {label} | {how} | {n:,} | {three('roc_auc', '.3f')} | {three('pr_auc', '.3f')} | "
        f"{three('top_decile_lift', '.2f')} | {three('emp_per_customer', ',.2f')} | {target} | "
        f"{time.perf_counter() - start:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="model settings to override, e.g. num_leaves=15")
    args = parser.parse_args()
    overrides = {k: _value(v) for k, v in (item.split("=", 1) for item in args.set)}
    if overrides:
        print(f"Model settings overridden: {overrides}\n")
    print("| dataset | evaluation | test n | ROC-AUC (model / rule / logistic) | PR-AUC | "
          "top-decile lift | EMP per customer | target | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.datasets:
        print(_row(name, overrides), flush=True)


if __name__ == "__main__":
    main()
