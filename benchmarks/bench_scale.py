"""Time and peak memory of every step of churnkit on the sample CRM at scale.

Usage::

    python benchmarks/bench_scale.py --customers 100000
    python benchmarks/bench_scale.py --customers 1000000 --repeat 3 --workdir /tmp/ck1m --keep
    python benchmarks/bench_scale.py --customers 1000000 --steps generate,score_job,report_job

The default steps are the three jobs as the command line runs them, each ``--repeat``
times in a fresh process (its peak memory is the process's; the table shows the median
run and every run's time): ``train_job`` (``churnkit train`` on the
generated config, default monthly cutoffs), ``score_job`` (``churnkit score``) and
``report_job`` (``churnkit report --min-band medium``). Each prints its time, the share
of each part of it (load, labels, features, LightGBM...; load, features, probabilities,
TreeSHAP, reasons, actions, last touches...) and the load average before and after;
``score_job`` also times a plain ``pandas.read_parquet`` of the same tables, the floor
of loading, and the wall time from the end of TreeSHAP to the end of the job (reasons,
actions, last touches, summary and writing the scores) against TreeSHAP's. At the end the script prints the speed table of the README in Markdown.
The steps below (``train``, ``pipeline``, ``job``, ``chunked``) are measured on request.

Generates ``make_crm(customers)`` as Parquet files in a work folder, then
measures, each in fresh processes so that peak memory belongs to the step:

- ``generate``: make_crm and writing the Parquet files (once). make_crm draws
  about 14 contacts and 1.6 feedback rows per customer; the contacts and
  feedback are padded to 20 and 3 per customer (the volumes of the scale
  targets: 20M contacts and 3M feedback rows at 1M customers) with copies of
  random rows of the same customers moved up to 30 days earlier;
- ``load`` / ``features`` / ``score`` / ``explain`` / ``lists``: in one process that
  loads and validates the tables once, then repeats each step (features at one
  cutoff for every active customer, LightGBM probabilities, exact TreeSHAP for every
  scored customer, at-risk lists per account manager); a sampling thread records the
  peak RSS during each step;
- ``training frame`` and ``train``: labels and features over 6 monthly cutoffs for
  up to 100,000 customers (a hash sample at larger sizes), and fitting the model;
- ``score job``: ``churnkit score`` followed by ``churnkit report`` (load, validate,
  features, score, explain, lists) from the Parquet files, as the CLI runs them;
- ``chunked job``: the same with :func:`churnkit.scoring.score_chunked` (8 chunks).

``--explain at_risk`` writes a config that explains only medium and high risk
customers (``scoring.explain``), which is what the at-risk lists show.

Times are medians of ``--repeat`` runs; the load average before and after each
step is printed, since other jobs on the machine slow the figures down.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()


def _rss_gib() -> float:
    resident = Path("/proc/self/statm").read_text().split()[1]
    return int(resident) * os.sysconf("SC_PAGE_SIZE") / 2**30


def _peak_gib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 2**20


class _Sampler:
    """Peak RSS of this process during a block (sampled every 5 ms)."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()

    def __enter__(self) -> _Sampler:
        self.peak = _rss_gib()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss_gib())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_gib())


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], float, Any]:
    times, peak, result = [], 0.0, None
    for _ in range(repeat):
        with _Sampler() as s:
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
        peak = max(peak, s.peak)
    return times, peak, result


def _emit(step: str, times: list[float], peak: float, **extra: Any) -> None:
    print("RESULT " + json.dumps({"step": step, "times": times, "peak_gib": peak,
                                  "load": os.getloadavg()[0], **extra}), flush=True)


# -- steps, each run in a child process ---------------------------------------------------
def _pad(table: Any, customers: Any, rows: int, seed: int) -> Any:
    """``table`` grown to ``rows`` rows with copies of random rows, each moved 0-30 days earlier.

    A copy keeps its customer and stays on or after the customer's signup date,
    so the padded table is as valid as the original; it only has more rows.
    """
    import numpy as np
    import pandas as pd

    extra = rows - len(table)
    if extra <= 0:
        return table
    rng = np.random.default_rng(seed)
    copies = table.iloc[rng.integers(0, len(table), extra)].reset_index(drop=True)
    signup = pd.Series(customers["signup_date"].to_numpy(), index=customers["customer_id"])
    earliest = signup.reindex(copies["customer_id"]).to_numpy()
    moved = copies["timestamp"] - pd.to_timedelta(rng.uniform(0, 30, extra), unit="D")
    copies["timestamp"] = np.maximum(moved.to_numpy(), earliest)
    return pd.concat([table, copies], ignore_index=True).sort_values(
        ["customer_id", "timestamp"], kind="stable", ignore_index=True)


def step_generate(work: Path, customers: int, explain: str, per_customer: dict[str, float]) -> None:
    from churnkit._core import builtin_config
    from churnkit.datasets import make_crm

    start = time.perf_counter()
    crm = make_crm(customers, random_state=0)
    crm = dataclasses.replace(crm, **{
        name: _pad(getattr(crm, name), crm.customers, int(rate * customers), k)
        for k, (name, rate) in enumerate(per_customer.items())})
    crm.write(work / "data", format="parquet")
    rows = {name: len(frame) for name, frame in crm.tables.items()}
    text = builtin_config("default.yaml").read_text().replace(".csv", ".parquet")
    (work / "config.yaml").write_text(text.replace("explain: all", f"explain: {explain}"))
    _emit("generate", [time.perf_counter() - start], _peak_gib(), rows=rows)


def step_train(work: Path, repeat: int) -> None:
    import numpy as np
    import pandas as pd

    import churnkit as ck
    from churnkit.features import feature_set
    from churnkit.labels import make_labels
    from churnkit.model import model_from_config
    from churnkit.scoring import partition_of

    cfg = ck.load_config(work / "config.yaml")
    ds = ck.load_dataset(cfg)
    n = len(ds.customers)
    if n > 100_000:  # a hash sample of about 100,000 customers
        keep = partition_of(ds.customers["customer_id"], -(-n // 100_000)) == 0
        ids = set(ds.customers.loc[keep, "customer_id"])
        ds.customers = ds.customers[keep].reset_index(drop=True)
        ds.events = {k: e[e["customer_id"].isin(ids)].reset_index(drop=True)
                     for k, e in ds.events.items()}
    cutoffs = pd.date_range(end=ds.end - pd.DateOffset(days=cfg.labels.horizon_days), periods=6,
                            freq="MS")

    def frame() -> tuple[pd.DataFrame, pd.DataFrame]:
        labels = make_labels(ds, cutoffs, horizon_days=cfg.labels.horizon_days)
        X = feature_set(cfg.features).fit_transform(
            ds, labels[["customer_id", "cutoff"]])
        return labels, X

    times, peak, (labels, X) = _timed(frame, repeat)
    _emit("training frame", times, peak, rows=len(X), customers=len(ds.customers),
          features=X.shape[1])

    def fit() -> Any:
        model = model_from_config(cfg)
        model.fit(X, labels["label"], cutoffs=labels["cutoff"])
        return model

    times, peak, model = _timed(fit, repeat)
    fs = feature_set(cfg.features).fit(
        ds, labels[["customer_id", "cutoff"]])
    model.feature_set_ = fs
    model.config_ = cfg.model_dump(mode="json", exclude={"base_dir"})
    model.training_ = {"mode": "events", "rows": len(labels), "data_end": str(ds.end.date())}
    ck.save_model(model, work / "model", config=model.config_, training=model.training_)
    _emit("train", times, peak, trees=int(model.best_iteration_),
          roc_auc=round(float(model.metrics_.get("roc_auc", np.nan)), 4))


def step_pipeline(work: Path, repeat: int) -> None:
    import churnkit as ck
    from churnkit.actions import at_risk_from_scores
    from churnkit.report import write_at_risk_lists
    from churnkit.scoring import score_partition

    cfg = ck.load_config(work / "config.yaml")
    model = ck.load_model(work / "model")
    times, peak, ds = _timed(lambda: ck.load_dataset(cfg), 1)
    dtypes = {c: str(t) for c, t in ds.events["contacts"].dtypes.items()}
    _emit("load", times, peak, events=sum(map(len, ds.events.values())), rejects=len(ds.rejects),
          contacts_dtypes={c: t[:20] for c, t in dtypes.items()})
    spine = ds.customers.loc[ck.labels.active_mask(ds, ds.end), ["customer_id"]].assign(
        cutoff=ds.end).reset_index(drop=True)
    fs = model.feature_set_
    times, peak, X = _timed(lambda: fs.transform(ds, spine), repeat)
    _emit("features", times, peak, rows=len(X), features=X.shape[1])
    times, peak, _ = _timed(lambda: model.predict_proba(X), repeat)
    _emit("score", times, peak, rows=len(X))
    # exact TreeSHAP of every customer takes minutes at 1M: once is enough there
    times, peak, _ = _timed(lambda: model.explain(X), repeat if len(X) <= 200_000 else 1)
    _emit("explain", times, peak, rows=len(X))
    X = None  # free the features before the lists
    scores = score_partition(cfg, model, ds, as_of=ds.end).scores
    ds = None

    def lists() -> int:
        out = Path(tempfile.mkdtemp(dir=work))
        try:
            at_risk = at_risk_from_scores(scores, min_band="medium")
            write_at_risk_lists(at_risk, out, currency="€")
            return len(at_risk)
        finally:
            shutil.rmtree(out)

    times, peak, listed = _timed(lists, repeat)
    _emit("lists", times, peak, listed=listed)


def step_job(work: Path, chunked: bool) -> None:
    """One run of the whole score job; its peak memory is that of the child processes."""
    out = Path(tempfile.mkdtemp(dir=work))
    start = time.perf_counter()
    try:
        if chunked:
            code = ("import churnkit as ck; "
                    f"cfg = ck.load_config({str(work / 'config.yaml')!r}); "
                    f"r = ck.score(cfg, ck.load_model({str(work / 'model')!r}), engine='chunked', "
                    "partitions=8); "
                    f"r.write({str(out / 'scores.parquet')!r})")
            subprocess.run([sys.executable, "-c", code], check=True)
        else:
            subprocess.run([sys.executable, "-m", "churnkit", "score", "--config",
                            str(work / "config.yaml"), "--model", str(work / "model"),
                            "--out", str(out / "scores.parquet")], check=True,
                           stdout=subprocess.DEVNULL)
        subprocess.run([sys.executable, "-m", "churnkit", "report", "--scores",
                        str(out / "scores.parquet"), "--out", str(out / "lists"),
                        "--min-band", "medium", "--currency", "€"], check=True,
                       stdout=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
    finally:
        shutil.rmtree(out)
    _emit("chunked job" if chunked else "score job", [elapsed],
          _peak_gib(resource.RUSAGE_CHILDREN))


class _Clock:
    """Seconds spent in named functions, by wrapping them where the jobs look them up."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.ended: dict[str, float] = {}  # when each label's last call returned

    def wrap(self, owner: Any, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.ended[label] = time.perf_counter()
                self.seconds[label] = self.seconds.get(label, 0.0) + self.ended[label] - start

        setattr(owner, name, timed)

    def shares(self, total: float) -> dict[str, float]:
        out = {k: round(v / total, 3) for k, v in self.seconds.items()}
        out["other"] = round(max(0.0, 1 - sum(self.seconds.values()) / total), 3)
        return out


def step_train_job(work: Path) -> None:
    """``churnkit train`` on the generated config, with the share of each part."""
    import churnkit as ck
    import churnkit.jobs._train as job
    import churnkit.model._model as model_module

    clock = _Clock()
    clock.wrap(job, "load_dataset", "load")
    clock.wrap(job, "labels_from_config", "labels")
    clock.wrap(job, "sample_training_rows", "sampling")
    clock.wrap(job, "transform_in_blocks", "features")
    clock.wrap(model_module, "search_capacity", "capacity search")
    clock.wrap(job, "fit_model", "LightGBM")
    cfg = ck.load_config(work / "config.yaml")
    before = os.getloadavg()[0]
    start = time.perf_counter()
    result = ck.train(cfg)
    result.write(work / "model")
    total = time.perf_counter() - start
    shares = clock.shares(total)
    if "capacity search" in shares:  # inside the LightGBM fit: not counted twice
        shares["LightGBM"] = round(shares["LightGBM"] - shares["capacity search"], 3)
        shares["other"] = round(shares["other"] + shares["capacity search"], 3)
        shares["other"] = round(1 - sum(v for k, v in shares.items() if k != "other"), 3)
    s = result.summary
    _emit("train job", [total], _peak_gib(), shares=shares, load_start=before,
          rows=s["rows"], rows_used=s.get("rows_used", s["rows"]),
          customers=s.get("customers"), features=s["features"],
          roc_auc=s["validation"].get("roc_auc"), trees=int(result.model.best_iteration_),
          tuning={k: result.model.tuning_.get(k) for k in (
              "skipped", "tried", "seconds", "final_learning_rate", "validation_trees", "trees")})


def step_score_job(work: Path) -> None:
    """``churnkit score`` (local engine) with the share of each part, and a plain Parquet read."""
    import pandas as pd

    import churnkit as ck
    import churnkit.features as features
    import churnkit.model as model_pkg
    import churnkit.scoring._local as local
    import churnkit.scoring._unit as unit

    cfg = ck.load_config(work / "config.yaml")
    files = sorted((work / "data").glob("*.parquet"))
    start = time.perf_counter()
    for f in files:
        pd.read_parquet(f)
    plain = time.perf_counter() - start
    clock = _Clock()
    clock.wrap(local, "load_dataset", "load")
    clock.wrap(features.FeatureSet, "transform", "features")
    clock.wrap(model_pkg.ChurnModel, "predict_proba", "probabilities")
    clock.wrap(model_pkg.ChurnModel, "explain", "TreeSHAP")
    clock.wrap(unit, "top_reasons", "reasons")
    clock.wrap(unit, "recommend", "actions")
    clock.wrap(unit, "last_contact_words", "last touches")
    clock.wrap(unit, "last_feedback_words", "last touches")
    before = os.getloadavg()[0]
    out = work / "scores.parquet"
    start = time.perf_counter()
    model = ck.load_model(work / "model")
    result = ck.score(cfg, model)
    result.write(out)
    end = time.perf_counter()
    total = end - start
    _emit("score job", [total], _peak_gib(), shares=clock.shares(total), load_start=before,
          scored=len(result.scores), plain_read=round(plain, 2),
          treeshap=round(clock.seconds["TreeSHAP"], 2),
          after_treeshap=round(end - clock.ended["TreeSHAP"], 2),
          load_vs_plain_read=round(clock.seconds["load"] / plain, 2))


def step_report_job(work: Path) -> None:
    """``churnkit report --min-band medium`` on the scores of ``score_job``."""
    import churnkit.jobs._report as job
    import churnkit.report._at_risk as lists

    clock = _Clock()
    clock.wrap(job, "read_scores", "read scores")
    clock.wrap(job, "at_risk_from_scores", "select and order")
    clock.wrap(lists, "_write_xlsx", "XLSX")
    clock.wrap(lists, "write_table", "CSV")
    clock.wrap(lists, "_manager_page", "HTML")
    before = os.getloadavg()[0]
    out = Path(tempfile.mkdtemp(dir=work))
    try:
        start = time.perf_counter()
        summary = job.report(work / "scores.parquet", out, min_band="medium", currency="€")
        total = time.perf_counter() - start
    finally:
        shutil.rmtree(out)
    _emit("report job", [total], _peak_gib(), shares=clock.shares(total), load_start=before,
          listed=summary["at_risk_customers"])


def _all_runs(r: dict[str, Any], key: str) -> str:
    """``; runs: a×, b×, c×`` when the job ran more than once, else nothing."""
    runs = r.get(key, [])
    return f"; runs: {', '.join(f'{v:.2f}×' for v in runs)}" if len(runs) > 1 else ""


def _shares(r: dict[str, Any]) -> str:
    parts = sorted(r.get("shares", {}).items(), key=lambda kv: -kv[1])
    return ", ".join(f"{k} {v:.0%}" for k, v in parts if v >= 0.005)


def markdown_table(results: list[dict[str, Any]], customers: int) -> str:
    """The README's speed table from the jobs' results."""
    by = {r["step"]: r for r in results}
    lines = [f"| step, {customers:,} customers | time | where the time goes | peak memory "
             "| load average (start/end) |", "|---|---|---|---|---|"]

    def row(name: str, what: str) -> None:
        r = by.get(name)
        if r is None:
            return
        runs = f" (runs: {', '.join(f'{t:.1f}' for t in r['times'])})" if len(r["times"]) > 1 else ""
        lines.append(f"| {what} | {statistics.median(r['times']):.1f} s{runs} | {_shares(r)} | "
                     f"{r['peak_gib']:.2f} GiB | {r['load_start']:.1f} / {r['load']:.1f} |")

    t = by.get("train job")
    if t:
        row("train job", f"`churnkit train`: {t['rows']:,} rows (customer x cutoff), "
                         f"{t['rows_used']:,} used, {t['features']} features, "
                         f"validation ROC-AUC {t['roc_auc']}")
    s = by.get("score job")
    if s:
        row("score job", f"`churnkit score`: {s['scored']:,} active customers, with exact "
                         "TreeSHAP, reasons and actions")
    r = by.get("report job")
    if r:
        row("report job", f"`churnkit report --min-band medium`: {r['listed']:,} customers")
    if s and r:
        both = statistics.median(s["times"]) + statistics.median(r["times"])
        lines.append(f"| `churnkit score` + `churnkit report` | {both:.1f} s | | "
                     f"{max(s['peak_gib'], r['peak_gib']):.2f} GiB | |")
    if s:
        lines.append(f"| load and validate the tables / a plain `pandas.read_parquet` of them "
                     f"| {s['shares']['load'] * statistics.median(s['times']):.1f} s / "
                     f"{s['plain_read']:.1f} s "
                     f"({s['load_vs_plain_read']:.2f}×{_all_runs(s, 'load_vs_plain_read_runs')}) "
                     "| | | |")
        if "after_treeshap" in s:
            lines.append(f"| everything after TreeSHAP (reasons, actions, last touches, summary, "
                         f"writing) / TreeSHAP | {s['after_treeshap']:.1f} s / "
                         f"{s['treeshap']:.1f} s ({s['after_treeshap'] / s['treeshap']:.2f}×"
                         f"{_all_runs(s, 'after_vs_treeshap_runs')}) | | | |")
    return "\n".join(lines)


# -- driver -------------------------------------------------------------------------------
def _child(args: list[str]) -> list[dict[str, Any]]:
    before = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, str(HERE), "--child", *args], check=True,
                          capture_output=True, text=True)
    out = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    for r in out:
        r["load_before"] = before
    return out


def _repeated(name: str, work: Path, repeat: int) -> dict[str, Any]:
    """``repeat`` runs of a job, each in a fresh process: the median run, with every time.

    The shares and figures are the median run's; the peak memory is the largest of all
    runs; the load average is the first run's at its start and the last run's at its end.
    """
    runs = []
    for i in range(repeat):
        runs.append(_child([name, str(work)])[0])
        print(f"  {name} run {i + 1}/{repeat}: {runs[-1]['times'][0]:.1f} s", flush=True)
    mid = sorted(runs, key=lambda r: r["times"][0])[(len(runs) - 1) // 2]
    ratios = {}  # ratios of every run, where the job measures them
    if all("after_treeshap" in r for r in runs):
        ratios["after_vs_treeshap_runs"] = [round(r["after_treeshap"] / r["treeshap"], 2)
                                            for r in runs]
    if all("load_vs_plain_read" in r for r in runs):
        ratios["load_vs_plain_read_runs"] = [r["load_vs_plain_read"] for r in runs]
    return {**mid, **ratios, "times": [r["times"][0] for r in runs],
            "peak_gib": max(r["peak_gib"] for r in runs), "load_start": runs[0]["load_start"],
            "load": runs[-1]["load"], "load_before": runs[0]["load_before"]}


def _print(results: list[dict[str, Any]]) -> None:
    print(f"{'step':<16}{'median s':>10}{'runs':>6}{'peak RSS GiB':>14}{'load':>12}  notes")
    for r in results:
        notes = {k: v for k, v in r.items()
                 if k not in {"step", "times", "peak_gib", "load", "load_before"}}
        print(f"{r['step']:<16}{statistics.median(r['times']):>10.1f}{len(r['times']):>6}"
              f"{r['peak_gib']:>14.2f}{r['load_before']:>6.1f}/{r['load']:<5.1f}  "
              f"{json.dumps(notes) if notes else ''}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder for the data and model (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--steps", default="generate,train_job,score_job,report_job",
                        help="comma-separated subset of generate,train_job,score_job,"
                             "report_job,train,pipeline,job,chunked")
    parser.add_argument("--explain", choices=["all", "at_risk", "none"], default="all",
                        help="scoring.explain of the generated config (default: all)")
    parser.add_argument("--contacts-per-customer", type=float, default=20.0,
                        help="pad the contacts to this many rows per customer (default 20, the "
                             "scale target's 20M contacts at 1M customers; 0: as generated)")
    parser.add_argument("--feedback-per-customer", type=float, default=3.0,
                        help="pad the feedback likewise (default 3: 3M rows at 1M customers)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        step, work, *rest = args.child
        work = Path(work)
        {"generate": lambda: step_generate(work, int(rest[0]), rest[1], json.loads(rest[2])),
         "train": lambda: step_train(work, int(rest[0])),
         "pipeline": lambda: step_pipeline(work, int(rest[0])),
         "train_job": lambda: step_train_job(work),
         "score_job": lambda: step_score_job(work),
         "report_job": lambda: step_report_job(work),
         "job": lambda: step_job(work, chunked=False),
         "chunked": lambda: step_job(work, chunked=True)}[step]()
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="churnkit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    steps = args.steps.split(",")
    print(f"churnkit scale benchmark: {args.customers:,} customers, {os.cpu_count()} cores, "
          f"repeat {args.repeat}, work folder {work}, load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    results: list[dict[str, Any]] = []
    try:
        if "generate" in steps:
            pad = {"contacts": args.contacts_per_customer, "feedback": args.feedback_per_customer}
            results += _child(["generate", str(work), str(args.customers), args.explain,
                               json.dumps(pad)])
            _print(results[-1:])
        for name in ("train_job", "score_job", "report_job"):
            if name in steps:
                results.append(_repeated(name, work, args.repeat))
                _print(results[-1:])
        if "train" in steps:
            results += _child(["train", str(work), str(min(args.repeat, 1 if args.customers
                                                             > 100_000 else args.repeat))])
            _print(results[-2:])
        if "pipeline" in steps:
            got = _child(["pipeline", str(work), str(args.repeat)])
            results += got
            _print(got)
        for name in ("job", "chunked"):
            if name in steps:
                runs = [_child([name, str(work)])[0] for _ in range(args.repeat)]
                merged = {**runs[-1], "times": [r["times"][0] for r in runs],
                          "peak_gib": max(r["peak_gib"] for r in runs),
                          "load_before": runs[0]["load_before"]}
                results.append(merged)
                _print([merged])
        print("\nsummary")
        _print(results)
        if any(r["step"].endswith(" job") and "shares" in r for r in results):
            print(f"\nspeed table (load average at the end "
                  f"{' '.join(f'{v:.2f}' for v in os.getloadavg())})\n")
            print(markdown_table(results, args.customers))
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
