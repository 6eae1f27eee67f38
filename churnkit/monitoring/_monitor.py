"""Monitor scoring runs: drift against training and the previous run, realised performance.

:func:`monitor` reads the ``run.json`` records of past scoring runs and the
model's training profile and returns a :class:`MonitorResult`: per run and
feature the population stability index (PSI), the Jensen-Shannon distance and
the rise of missing and unseen values, against the training data and against
the previous run; for runs whose horizon has passed (given the data), the
realised ROC-AUC, PR-AUC, top-decile lift and calibration against the model's
validation figures; the retention figures of the same periods; and one status,
``ok``, ``watch`` or ``act``, with the reasons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from churnkit.config import Config, MonitorConfig
from churnkit.data import Dataset
from churnkit.labels import make_labels
from churnkit.model import calibration_table, classification_metrics
from churnkit.monitoring._drift import _FLOOR, LEVELS, distribution, drift_level
from churnkit.monitoring._runs import read_run_scores
from churnkit.retention import churn_rate, crr

__all__ = ["SCORE", "feature_importance_share", "run_drift", "realised_performance",
           "retention_periods", "status_of"]

SCORE = "(score)"
"""The name of the churn probability's row among the features' drift rows."""


def feature_importance_share(model: Any) -> pd.Series:
    """Each feature's share of the model's total LightGBM gain (sums to 1)."""
    gain = model.feature_importance()
    total = float(gain.sum())
    return gain / total if total > 0 else gain * 0.0


def _worst(*levels: str) -> str:
    return max(levels, key=LEVELS.index) if levels else "ok"


def _missing_share(entry: Mapping[str, Any]) -> float:
    n = entry.get("n", 0)
    return entry.get("missing", 0) / n if n else 0.0


def _unseen_share(entry: Mapping[str, Any]) -> float:
    n = entry.get("n", 0) - entry.get("missing", 0)
    return entry.get("unseen", 0) / n if n > 0 else 0.0


def run_drift(reference: Mapping[str, Any], run: Mapping[str, Any], *,
              importance: pd.Series, settings: MonitorConfig, against: str) -> pd.DataFrame:
    """Drift of one run's distributions from a reference (training profile or previous run).

    Parameters
    ----------
    reference : dict
        ``features`` and ``score`` entries of the training profile or a run record.
    run : dict
        The run record.
    importance : Series
        Each feature's share of the model's gain.
    settings : MonitorConfig
        Thresholds.
    against : {"training", "previous"}
        What ``reference`` is (a column of the result).

    Returns
    -------
    DataFrame
        One row per feature and one for the score (``feature == "(score)"``):
        ``against, feature, importance, psi, js, missing_ref, missing, unseen,
        level``, ranked by level, then importance. Features with less than
        ``settings.min_importance`` of the gain are at most ``watch``.
    """
    rows = []
    entries = {**run.get("features", {}), SCORE: run.get("score")}
    refs = {**reference.get("features", {}), SCORE: reference.get("score")}
    pairs = [(name, refs[name], entry) for name, entry in entries.items()
             if entry is not None and refs.get(name) is not None
             and len(refs[name]["counts"]) == len(entry["counts"])]
    p_all, j_all = _distances([distribution(ref) for _, ref, _ in pairs],
                              [distribution(entry) for _, _, entry in pairs])
    for (name, ref, entry), p, j in zip(pairs, p_all, j_all, strict=True):
        miss_ref, miss = _missing_share(ref), _missing_share(entry)
        unseen = _unseen_share(entry)
        level = _worst(drift_level(p, settings.psi_watch, settings.psi_act),
                       drift_level(j, settings.js_watch, settings.js_act),
                       drift_level(miss - miss_ref, settings.missing_watch, settings.missing_act),
                       drift_level(unseen, settings.unseen_watch, settings.unseen_act))
        imp = 1.0 if name == SCORE else float(importance.get(name, 0.0))
        if name != SCORE and imp < settings.min_importance and level == "act":
            level = "watch"
        rows.append({"against": against, "feature": name, "importance": imp, "psi": p,
                     "js": j, "missing_ref": miss_ref, "missing": miss, "unseen": unseen,
                     "level": level})
    out = pd.DataFrame(rows, columns=["against", "feature", "importance", "psi", "js",
                                      "missing_ref", "missing", "unseen", "level"])
    rank = out["level"].map({lv: -i for i, lv in enumerate(LEVELS)})
    out = out.assign(_rank=rank).sort_values(["_rank", "importance", "psi"],
                                             ascending=[True, False, False], kind="stable")
    return out.drop(columns="_rank").reset_index(drop=True)


def _distances(expected: list[np.ndarray], actual: list[np.ndarray]
               ) -> tuple[list[float], list[float]]:
    """:func:`psi` and :func:`js_distance` of each pair of distributions, computed together.

    Pairs with the same number of bins are stacked and reduced row by row, which
    sums each row's values in the order a single pair's would be summed: the
    figures are those of the one-pair functions, for a few array operations
    instead of a dozen per feature.
    """
    psis = np.zeros(len(expected))
    jss = np.zeros(len(expected))
    sizes = np.array([len(e) for e in expected], dtype=np.int64)
    for size in np.unique(sizes):
        at = np.flatnonzero(sizes == size)
        e = _row_shares(np.array([expected[i] for i in at], dtype=float).reshape(len(at), size))
        a = _row_shares(np.array([actual[i] for i in at], dtype=float).reshape(len(at), size))
        ef, af = np.maximum(e, _FLOOR), np.maximum(a, _FLOOR)
        psis[at] = np.sum((af - ef) * np.log(af / ef), axis=1)
        m = (e + a) / 2
        kl = _kept_sums(e, m) + _kept_sums(a, m)
        jss[at] = np.sqrt(np.maximum(0.0, kl / 2))
    return [float(v) for v in psis], [float(v) for v in jss]


def _row_shares(counts: np.ndarray) -> np.ndarray:
    """Each row's counts as shares (uniform for a row without counts), as ``_shares`` does."""
    total = counts.sum(axis=1)
    empty = total <= 0
    out = counts / np.where(empty, 1.0, total)[:, None]
    if empty.any():
        out[empty] = 1.0 / max(counts.shape[1], 1)
    return out


def _kept_sums(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per row, the sum of ``x * log2(x / m)`` over the bins where ``x > 0``.

    Rows with as many such bins are summed together over just those bins, so
    each sum adds the same values in the same order as the one-pair function.
    """
    keep = x > 0
    terms = np.where(keep, x, 1.0) * np.log2(np.where(keep, x, 1.0) / np.where(keep, m, 1.0))
    out = np.zeros(len(x))
    counts = keep.sum(axis=1)
    for k in np.unique(counts):
        rows = counts == k
        if k:
            out[rows] = terms[rows][keep[rows]].reshape(-1, int(k)).sum(axis=1)
    return out


def realised_performance(run: Mapping[str, Any], dataset: Dataset, config: Config,
                         validation: Mapping[str, float], settings: MonitorConfig
                         ) -> dict[str, Any]:
    """How the scores of a run came true: metrics once its horizon has passed.

    Returns
    -------
    dict
        ``status``: ``pending`` (horizon not passed; ``outcomes_unknown`` scored
        customers) or ``known`` with ``n``, ``churned``, ``roc_auc``, ``pr_auc``,
        ``top_decile_lift``, ``ece``, the calibration by decile (``calibration``:
        expected against observed churn), the validation figures, and ``level``
        (``act`` when the ROC-AUC fell more than ``settings.auc_margin`` below
        validation or the ECE rose more than ``settings.ece_margin``) with its
        ``evidence``.
    """
    lab = config.labels
    as_of = pd.Timestamp(run["as_of"])
    horizon = int(run.get("label", {}).get("horizon_days", lab.horizon_days))
    scored = int(run.get("rows", {}).get("scored", 0))
    due = as_of + pd.Timedelta(days=horizon)
    if due > dataset.end:
        return {"status": "pending", "outcomes_unknown": scored, "known_after": str(due.date())}
    labels = make_labels(dataset, [as_of], definition=lab.definition, horizon_days=horizon,
                         lookback_days=lab.lookback_days,
                         activity_tables=lab.activity_tables or None, complete_only=False)
    scores = read_run_scores(dict(run))
    y_of = pd.Series(labels["label"].to_numpy(dtype=bool),
                     index=labels["customer_id"].astype(str).to_numpy())
    y_of = y_of[~y_of.index.duplicated()]
    pos = pd.Index(y_of.index.to_numpy(dtype=object)).get_indexer(
        scores["customer_id"].to_numpy(dtype=object))
    known = pos >= 0
    y = y_of.to_numpy(dtype=bool)[pos[known]]
    p = scores["churn_probability"].to_numpy(dtype=float)[known]
    m = classification_metrics(y, p)
    cal = calibration_table(y, p)
    out: dict[str, Any] = {
        "status": "known", "n": int(len(y)), "churned": int(y.sum()),
        "outcomes_unknown": int((~known).sum()),
        "churn_rate": m["positive_rate"], "mean_score": float(p.mean()) if len(p) else None,
        **{k: m[k] for k in ("roc_auc", "pr_auc", "top_decile_lift", "ece")},
        "validation": {k: validation.get(k) for k in ("roc_auc", "pr_auc", "top_decile_lift",
                                                      "ece")},
        "calibration": cal[["bin", "n", "expected", "observed"]].to_dict("records"),
    }
    evidence = []
    v_auc, v_ece = validation.get("roc_auc"), validation.get("ece")
    if v_auc is not None and np.isfinite(m["roc_auc"]) and m["roc_auc"] < v_auc - settings.auc_margin:
        evidence.append(f"realised ROC-AUC {m['roc_auc']:.3f} is {v_auc - m['roc_auc']:.3f} below "
                        f"the validation ROC-AUC {v_auc:.3f} (margin {settings.auc_margin})")
    if v_ece is not None and np.isfinite(m["ece"]) and m["ece"] > v_ece + settings.ece_margin:
        evidence.append(f"calibration error (ECE) {m['ece']:.3f} exceeds the validation ECE "
                        f"{v_ece:.3f} by more than {settings.ece_margin} (expected churn "
                        f"{float(p.mean()):.1%}, observed {m['positive_rate']:.1%})")
    out["level"] = "act" if evidence else "ok"
    out["evidence"] = evidence
    return out


def retention_periods(dataset: Dataset, config: Config, as_ofs: Sequence[str]) -> pd.DataFrame:
    """CRR and churn rate of the periods (``retention.period``) from the first run on.

    Empty for data without signup dates (snapshot or activity data).
    """
    cust = dataset.customers
    cols = ["period_start", "period_end", "S", "lost", "crr", "churn_rate"]
    if not as_ofs or "signup_date" not in cust or dataset.label is not None:
        return pd.DataFrame(columns=cols)
    start = min(pd.Timestamp(a) for a in as_ofs)
    end = dataset.end - pd.Timedelta(days=1)
    if start > end:
        return pd.DataFrame(columns=cols)
    end_col = "end_date" if "end_date" in cust else None
    frame = cust if end_col else cust.assign(end_date=pd.Series(pd.NaT, index=cust.index))
    table = crr(frame, period=config.retention.period, start=start, end=end)
    rates = churn_rate(table)
    out = table[["period_start", "period_end", "S", "lost", "crr"]].merge(
        rates[["period_start", "churn_rate"]], on="period_start", how="left")
    for c in ("period_start", "period_end"):
        out[c] = pd.to_datetime(out[c]).dt.date.astype(str)
    return out[cols]


def status_of(drift: pd.DataFrame, performance: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The overall level of a run and why: its drift against training and its performance.

    A feature's drift makes the run ``act`` only when the scores moved too (their
    own drift is at least ``watch``); otherwise it is reported as ``watch``.
    """
    reasons = []
    level = "ok"
    train = drift[drift["against"] == "training"] if len(drift) else drift
    score = train[train["feature"] == SCORE]["level"] if len(train) else pd.Series([], dtype=str)
    score_moved = bool(len(score)) and score.iloc[0] != "ok"
    for row in train[train["level"] != "ok"].head(5).itertuples(index=False) if len(train) else []:
        what = "the score" if row.feature == SCORE else f"feature {row.feature}"
        row_level = str(row.level)
        if row_level == "act" and row.feature != SCORE and not score_moved:
            row_level = "watch"  # the inputs moved, the model's scores did not: watch them
        reasons.append(f"{row_level}: {what} drifted from training (PSI {row.psi:.2f}, JS "
                       f"{row.js:.2f}, missing {row.missing_ref:.0%} -> {row.missing:.0%}, "
                       f"unseen {row.unseen:.1%}, {row.importance:.1%} of the model's gain)")
        level = _worst(level, row_level)
    if performance.get("level") == "act":
        level = "act"
        reasons += [f"act: {e}; retrain the model" for e in performance.get("evidence", [])]
    return level, reasons
