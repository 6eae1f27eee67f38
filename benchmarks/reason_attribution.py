"""How often the worded reasons name the cause planted in the sample CRM.

Trains churnkit on ``make_crm(n, seed)`` through the real pipeline (or loads a
``churnkit demo --out DIR`` folder), then takes the churners of the newest
complete cutoffs (from ``--since``) that the model ranks in its top 20 % and
checks whether the reason mapped to their planted cause is the top reason and
among the top 3. Churners tagged ``other`` have no planted cause, so no reason
can name it: figures are printed with and without them, and the acceptance
target (top-3 >= 85 %, top-1 >= 60 %) applies to the planted causes.

Run with::

    python benchmarks/reason_attribution.py                       # 5,000 customers, seed 0
    python benchmarks/reason_attribution.py --customers 3000 --seed 1
    python benchmarks/reason_attribution.py --dir DIR             # a `churnkit demo` output
    python benchmarks/reason_attribution.py --reasons old.yaml --reasons new.yaml
                                                                  # compare reasons files
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import churnkit as ck
from churnkit._core import builtin_config
from churnkit.datasets import REASON_OF_CAUSE, make_crm
from churnkit.explain import load_reasons, top_reasons
from churnkit.labels import labels_from_config


def selected_churners(model, cfg, *, since: str, top_share: float = 0.2):
    """Features, SHAP values and ids of the churners in the model's top ``top_share``."""
    ds = ck.load_dataset(cfg)
    lab = labels_from_config(ds, cfg.labels)
    lab = lab[lab["cutoff"] >= pd.Timestamp(since)].reset_index(drop=True)
    X = model.feature_set_.transform(ds, lab[["customer_id", "cutoff"]])
    p = model.predict_proba(X)[:, 1]
    sel = lab["label"].to_numpy(dtype=bool) & (p >= np.quantile(p, 1 - top_share))
    return X[sel], model.explain(X[sel]), lab.loc[sel, "customer_id"]


def attribution(Xs: pd.DataFrame, contrib: pd.DataFrame, ids: pd.Series,
                ground_truth: pd.DataFrame, reasons=None, k: int = 3) -> pd.DataFrame:
    """One row per selected churner: ``cause``, ``expected``, ``top1``, ``top3``, reason ids."""
    tr = top_reasons(contrib, Xs, load_reasons(reasons), k=k)
    cause = ground_truth.set_index("customer_id").loc[ids, "cause"].astype(str).to_numpy()
    expected = pd.Series(cause).map(REASON_OF_CAUSE).to_numpy(dtype=object)
    ids = np.column_stack([tr[f"reason_{i}_id"].to_numpy(dtype=object) for i in range(1, k + 1)])
    out = pd.DataFrame({"cause": cause, "expected": expected,
                        "top1": ids[:, 0] == expected, "top3": (ids == expected[:, None]).any(axis=1)})
    for i in range(k):
        out[f"reason_{i + 1}_id"] = ids[:, i]
    return out


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per cause and overall (with and without ``other``): n, top-3 and top-1 shares."""
    per = frame.groupby("cause").agg(n=("top1", "size"), top3=("top3", "mean"), top1=("top1", "mean"))
    planted = frame[frame["cause"] != "other"]
    rows = {
        "all churners (with other)": (len(frame), frame["top3"].mean(), frame["top1"].mean()),
        "planted causes (without other)": (len(planted), planted["top3"].mean(), planted["top1"].mean()),
    }
    extra = pd.DataFrame.from_dict(rows, orient="index", columns=["n", "top3", "top1"])
    return pd.concat([per, extra])


def train_sample(n: int, seed: int, folder: Path) -> tuple[object, object, pd.DataFrame]:
    crm = make_crm(n, random_state=seed)
    crm.write(folder / "data", format="parquet")
    text = builtin_config("default.yaml").read_text(encoding="utf-8").replace(".csv", ".parquet")
    (folder / "config.yaml").write_text(text, encoding="utf-8")
    cfg = ck.load_config(folder / "config.yaml")
    return ck.train(cfg).model, cfg, crm.ground_truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, help="a `churnkit demo --out DIR` folder (make_crm(5000, random_state=0))")
    parser.add_argument("--reasons", type=Path, action="append",
                        help="reasons file (default: the built-in one); repeat to compare")
    parser.add_argument("--since", default="2025-07-01", help="first cutoff evaluated")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if args.dir is not None:
            cfg = ck.load_config(args.dir / "config.yaml")
            model = ck.load_model(args.dir / "model")
            truth = make_crm(args.customers, random_state=args.seed).ground_truth
        else:
            model, cfg, truth = train_sample(args.customers, args.seed, Path(tmp))
        Xs, contrib, ids = selected_churners(model, cfg, since=args.since)
    for reasons in args.reasons or [None]:
        table = summary(attribution(Xs, contrib, ids, truth, reasons))
        print(f"\nmake_crm({args.customers}, random_state={args.seed}); churners in the model's top 20% "
              f"at cutoffs >= {args.since}; reasons: {reasons or 'built-in'}")
        print(table.to_string(formatters={"top3": "{:.0%}".format, "top1": "{:.0%}".format}))
        planted = table.loc["planted causes (without other)"]
        verdict = "meets" if planted["top3"] >= 0.85 and planted["top1"] >= 0.60 else "MISSES"
        print(f"planted causes: top-3 {planted['top3']:.1%}, top-1 {planted['top1']:.1%} -> "
              f"{verdict} the target (top-3 >= 85%, top-1 >= 60%)")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
