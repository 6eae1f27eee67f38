"""Backtests a data scientist can trust: out of time in event mode, K-fold for snapshots.

Event mode (cutoffs): each of the newest ``K`` cutoffs is a test fold. Its model
trains on the older cutoffs *whose label horizon ends at or before the test
cutoff*, so no training label or feature looks at data at or after the test
cutoff (a cutoff one month earlier with a 90-day horizon would peek into the
test period and is left out). The model early-stops and calibrates on the
newest of those training cutoffs (``labels.validation_cutoffs``), exactly as
:func:`churnkit.train` does, older cutoffs whose horizon reaches them purged.
When that purge would leave no training cutoff (a long horizon and few
cutoffs, e.g. CDNOW's 182 days at its 1997-12-31 test cutoff), the fold trains
on all older cutoffs instead: their labels overlap the validation period, which
only makes early stopping and calibration a little optimistic, and every label
still ends by the test cutoff. ``folds.inner_purge`` says which way each fold went.

Snapshot mode: stratified K-fold cross-validation; every row is predicted once,
by the model that did not see it.

In every fold the baselines (:class:`RuleBaseline`, a logistic regression, a
plain LightGBM with fixed settings and, for inactivity labels, the Pareto/NBD
"buy till you die" model) are fitted on the same training rows and
tested on the same test rows. The plain LightGBM reads the snapshot table's raw
columns (id, label and excluded columns left out) or, in event mode, churnkit's
features: it shows whether the pipeline adds or loses anything.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from churnkit._core import resolve_threads
from churnkit.config import Config
from churnkit.data import Dataset, load_dataset, parse_ids, source_table
from churnkit.evaluate._baselines import (
    RuleBaseline,
    btyd_table,
    fit_btyd_baseline,
    fit_logistic,
    fit_plain_lightgbm,
    raw_columns,
)
from churnkit.evaluate._metrics import evaluation_metrics
from churnkit.exceptions import ConfigError, ModelError, SchemaError
from churnkit.features import feature_set
from churnkit.labels import labels_from_config
from churnkit.model import fit_model, horizon_ends_by

__all__ = ["HEADLINE", "OPTIONAL_BASELINES", "EvaluationResult", "backtest", "baselines_of"]

HEADLINE = ("roc_auc", "pr_auc", "log_loss", "brier", "top_decile_lift")
"""The metrics of :meth:`EvaluationResult.to_json`, for the model and each baseline."""
BASELINES = ("rule", "logistic", "lightgbm")
OPTIONAL_BASELINES = ("btyd",)
"""Baselines shown only where they apply: ``btyd`` for inactivity labels."""


def baselines_of(names: Any) -> list[str]:
    """The baselines among ``names`` (e.g. the keys of ``metrics["baseline"]``), in order."""
    present = set(names)
    return [b for b in (*BASELINES, *OPTIONAL_BASELINES) if b in present]
_SAMPLE = 2000


def _noop(_: str) -> None:
    return None


def _clean(value: Any) -> Any:
    """JSON-safe: NaN becomes None, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class EvaluationResult:
    """What :func:`backtest` produced.

    Attributes
    ----------
    name, mode : str
        Configuration name; ``"events"`` (out-of-time folds) or ``"snapshot"`` (K-fold).
    metrics : dict
        Headline metrics of the model on all test predictions pooled, a
        ``baseline`` dict with the same metrics for ``rule``, ``logistic``,
        ``lightgbm`` (the plain LightGBM) and, for inactivity labels, ``btyd``
        (Pareto/NBD expected purchases),
        ``improvement`` (the model against each baseline), fold means/spreads.
    predictions : DataFrame
        ``customer_id, cutoff, fold, label, value, model, rule, logistic, lightgbm``
        (and ``btyd``): every test (out-of-fold) prediction.
    folds : DataFrame
        One row per fold: its cutoffs, sizes, and each scorer's metrics.
    campaign : CampaignConfig
        Profit parameters used.
    last_model : ChurnModel
        The model of the newest (event mode) or last (snapshot) fold.
    features_sample : DataFrame
        Up to 2,000 test rows of that fold's features, for explanations.
    """

    name: str
    mode: str
    metrics: dict[str, Any]
    predictions: pd.DataFrame
    folds: pd.DataFrame
    campaign: Any
    rules: list[str] = field(default_factory=list)
    last_model: Any = None
    features_sample: pd.DataFrame | None = None

    def to_json(self, *, indent: int | None = 2) -> str:
        """The metrics as JSON: headline metrics, ``baseline.{rule,logistic,lightgbm}``, more.

        Keys: ``roc_auc, pr_auc, log_loss, brier, top_decile_lift, baseline, n,
        positive_rate`` plus lift/capture at 5/10/20 %, profit and EMP figures,
        ``improvement`` and fold statistics. NaN becomes ``null``.
        """
        return json.dumps(_clean(self.metrics), indent=indent)

    def comparison(self) -> pd.DataFrame:
        """Model against baselines: one row per metric, columns ``model, rule, logistic, lightgbm``."""
        keys = [k for k, v in self.metrics.items() if isinstance(v, float) and k not in {
            "n", "positive_rate", "folds"} and not k.endswith(("_fold_mean", "_fold_std"))]
        names = baselines_of(self.metrics["baseline"])
        rows = {k: [self.metrics[k], *(self.metrics["baseline"][b].get(k, np.nan)
                                       for b in names)] for k in keys}
        return pd.DataFrame.from_dict(rows, orient="index", columns=["model", *names])


def _headline(y: np.ndarray, preds: Mapping[str, np.ndarray], value: np.ndarray | None,
              campaign: Any) -> dict[str, Any]:
    model = evaluation_metrics(y, preds["model"], value=value, campaign=campaign)
    out: dict[str, Any] = {k: model[k] for k in HEADLINE}
    names = baselines_of(preds)
    out["baseline"] = {
        b: evaluation_metrics(y, preds[b], value=value, campaign=campaign) for b in names
    }
    out.update({k: v for k, v in model.items() if k not in out})
    out["improvement"] = {
        b: {
            "roc_auc": model["roc_auc"] - out["baseline"][b]["roc_auc"],
            "pr_auc": model["pr_auc"] - out["baseline"][b]["pr_auc"],
            "top_decile_lift_ratio": model["top_decile_lift"]
            / out["baseline"][b]["top_decile_lift"]
            if out["baseline"][b]["top_decile_lift"] else float("nan"),
            "emp": model["emp"] - out["baseline"][b]["emp"],
        }
        for b in names
    }
    return out


def _customer_value(config: Config, dataset: Dataset, ids: pd.Series) -> np.ndarray | None:
    cust = dataset.customers
    if "value" not in cust:
        return None
    monthly = pd.Series(cust["value"].to_numpy(dtype=float), index=cust["customer_id"])
    months = config.scoring.value_horizon_months
    return ids.map(monthly).to_numpy(dtype=float) * months


def _recency_columns(config: Config, dataset: Dataset) -> list[str]:
    if dataset.label is not None:
        return []
    tables = config.labels.activity_tables or list(dataset.events)
    return [f"{t}__days_since_last" for t in tables]


def _raw_snapshot(config: Config, dataset: Dataset,
                  tables: Mapping[str, pd.DataFrame] | None) -> pd.DataFrame:
    """The snapshot table's own columns, typed as pandas would, row for row with ``dataset``.

    The input of the plain LightGBM baseline: the id, the label and the excluded
    columns are left out; nothing churnkit infers or derives is used.
    """
    snap = config.data.snapshot
    assert snap is not None  # snapshot mode only
    frame = source_table(config, snap, "snapshot", dict(tables or {}))
    if snap.customer_id is None:
        ids = pd.Series([str(i) for i in frame.index], index=frame.index, dtype=object)
    else:
        ids = parse_ids(frame[snap.customer_id])[0]
    first = pd.Series(np.arange(len(frame)), index=ids.to_numpy())
    first = first[~first.index.duplicated()]
    rows = first.reindex(dataset.customers["customer_id"].to_numpy()).to_numpy()
    if np.isnan(rows).any():  # the dataset's ids come from this very table
        raise SchemaError("snapshot: the table changed while it was being evaluated; rerun.")
    drop = [c for c in (snap.customer_id, snap.label, *snap.exclude) if c is not None]
    raw = raw_columns(frame, drop=drop)
    return raw.iloc[rows.astype(int)].reset_index(drop=True)


def _event_folds(config: Config, labels: pd.DataFrame, k: int) -> list[dict[str, Any]]:
    cutoffs = pd.DatetimeIndex(labels["cutoff"].unique()).sort_values()
    need = config.labels.validation_cutoffs + 1
    if k > len(cutoffs):
        raise ConfigError(
            f"evaluation.test_cutoffs: {k} test cutoffs requested but the labels have only "
            f"{len(cutoffs)} cutoffs. Lower it (or --cv) or add cutoffs."
        )
    folds = []
    for i, test in enumerate(cutoffs[-k:]):
        train = list(cutoffs[horizon_ends_by(cutoffs, test, config.labels.horizon_days)])
        if len(train) < need:
            raise ConfigError(
                f"Backtest fold at test cutoff {test.date()}: only {len(train)} earlier cutoff(s) "
                f"have their {config.labels.horizon_days}-day horizon end by then "
                f"({[str(c.date()) for c in train]}); training needs at least {need} "
                f"(labels.validation_cutoffs + 1). Start labels.cutoffs earlier, test fewer "
                "cutoffs (evaluation.test_cutoffs / --cv) or shorten the horizon."
            )
        folds.append({"fold": i + 1, "test_cutoff": test, "train_cutoffs": train})
    return folds


def _purge_leaves_training(config: Config, train_cutoffs: list[pd.Timestamp]) -> bool:
    """Whether a fold's validation purge keeps at least one older training cutoff."""
    n_valid = config.labels.validation_cutoffs
    return bool(horizon_ends_by(train_cutoffs[:-n_valid], train_cutoffs[-n_valid],
                                config.labels.horizon_days).any())


def backtest(
    config: Config,
    *,
    tables: Mapping[str, pd.DataFrame] | None = None,
    n_folds: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> EvaluationResult:
    """Evaluate a configuration on data it was not trained on, against three baselines.

    Parameters
    ----------
    config : Config
        The configuration; its ``model`` settings are used as they are.
    tables : mapping of str to DataFrame, optional
        In-memory tables replacing the config's files.
    n_folds : int, optional
        Event mode: number of newest cutoffs tested (default ``evaluation.test_cutoffs``);
        snapshot mode: number of folds (default ``evaluation.folds``).
    progress : callable, optional
        Called with a short description before each step.

    Returns
    -------
    EvaluationResult

    Raises
    ------
    ConfigError
        When a test cutoff has too few earlier cutoffs whose horizon ends before it.

    Examples
    --------
    >>> import churnkit as ck
    >>> from churnkit._core import builtin_config
    >>> from churnkit.evaluate import backtest
    >>> config = ck.load_config(builtin_config("default.yaml"))
    >>> result = backtest(config, tables=ck.datasets.make_crm(400, random_state=0).tables, n_folds=1)
    >>> result.comparison().columns[:3].tolist()  # metrics by scorer, the model first
    ['model', 'rule', 'logistic']
    >>> model, rule = result.metrics["roc_auc"], result.metrics["baseline"]["rule"]["roc_auc"]
    >>> bool(model > rule)
    True
    """
    progress = progress or _noop
    progress("Loading and validating tables")
    dataset = load_dataset(config, tables)
    progress("Labelling customers")
    labels = labels_from_config(dataset, config.labels).reset_index(drop=True)
    snapshot = dataset.label is not None
    ev = config.evaluation
    k = int(n_folds or (ev.folds if snapshot else ev.test_cutoffs))
    if k < (2 if snapshot else 1):
        raise ConfigError(f"The number of folds must be >= {2 if snapshot else 1}. Got {k}.")
    y_all = labels["label"].to_numpy(dtype=bool)
    if snapshot:
        n_min = int(min(y_all.sum(), (~y_all).sum()))
        if n_min < k:
            raise ModelError(
                f"{k}-fold cross-validation needs at least {k} churners and {k} non-churners; "
                f"the data has {int(y_all.sum())} and {int((~y_all).sum())}."
            )
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=config.model.random_state)
        plan = [{"fold": i + 1, "train_idx": tr, "test_idx": te}
                for i, (tr, te) in enumerate(splitter.split(np.zeros(len(y_all)), y_all))]
    else:
        plan = _event_folds(config, labels, k)
        cut = labels["cutoff"]
        for f in plan:
            f["train_idx"] = np.flatnonzero(cut.isin(f["train_cutoffs"]).to_numpy())
            f["test_idx"] = np.flatnonzero((cut == f["test_cutoff"]).to_numpy())

    recency = _recency_columns(config, dataset)
    purchases = btyd_table(config, dataset)
    raw = _raw_snapshot(config, dataset, tables) if snapshot else None
    campaign = ev.campaign
    value_all = _customer_value(config, dataset, labels["customer_id"])
    parts, rows, rules = [], [], []
    model = X_test = None
    for f in plan:
        tr, te = f["train_idx"], f["test_idx"]
        what = (f"test cutoff {f['test_cutoff'].date()}" if not snapshot
                else f"fold {f['fold']} of {k}")
        progress(f"Backtest {what}: features for {len(tr) + len(te):,} rows")
        spine = labels[["customer_id", "cutoff"]]
        fs = feature_set(config.features)
        X_train = fs.fit_transform(dataset, spine.iloc[tr])
        X_test = fs.transform(dataset, spine.iloc[te])
        y_train, y_test = y_all[tr], y_all[te]
        progress(f"Backtest {what}: training on {len(tr):,} rows")
        purge = snapshot or _purge_leaves_training(config, f["train_cutoffs"])
        model = fit_model(config, X_train, labels.iloc[tr], purge=purge)
        rule = RuleBaseline(recency_columns=recency).fit(X_train, y_train)
        logistic, converged = fit_logistic(X_train, y_train)
        plain_train, plain_test = (X_train, X_test) if raw is None else (raw.iloc[tr], raw.iloc[te])
        _, plain = fit_plain_lightgbm(plain_train, y_train, plain_test,
                                      random_state=config.model.random_state,
                                      n_jobs=resolve_threads(config.model.n_jobs))
        preds = {
            "model": model.predict_proba(X_test)[:, 1],
            "rule": rule.predict_proba(X_test)[:, 1],
            "logistic": logistic.predict_proba(X_test)[:, 1],
            "lightgbm": plain,
        }
        if purchases is not None:
            progress(f"Backtest {what}: Pareto/NBD baseline")
            btyd, preds["btyd"] = fit_btyd_baseline(
                dataset, purchases, config.labels.horizon_days, spine.iloc[tr], y_train,
                spine.iloc[te])
        value = value_all[te] if value_all is not None else None
        part = labels.iloc[te][["customer_id", "cutoff"]].assign(
            fold=f["fold"], label=y_test,
            value=value if value is not None else float(campaign.customer_value), **preds)
        parts.append(part)
        rules.append(rule.description_)
        row: dict[str, Any] = {"fold": f["fold"], "n_train": len(tr), "n_test": len(te),
                               "positive_rate": float(y_test.mean())}
        if not snapshot:
            train_cuts = f["train_cutoffs"]
            valid_cuts = train_cuts[-config.labels.validation_cutoffs:]
            row.update(
                test_cutoff=f["test_cutoff"], train_cutoffs=[str(c.date()) for c in train_cuts],
                validation_cutoffs=[str(c.date()) for c in valid_cuts],
                last_label_end=max(train_cuts) + pd.Timedelta(days=config.labels.horizon_days),
                inner_purge=purge,
            )
        if purchases is not None:
            row["btyd"] = btyd.description_
        tuning = getattr(model, "tuning_", {})
        row.update(best_iteration=model.best_iteration_, rule=rule.description_,
                   logistic_converged=converged, trees=tuning.get("trees"),
                   tune_seconds=tuning.get("seconds", 0.0),
                   settings=" ".join(f"{k}={tuning[f'final_{k}']}" for k in (
                       "num_leaves", "min_child_samples", "learning_rate", "colsample_bytree",
                       "subsample") if f"final_{k}" in tuning))
        for name, p in preds.items():
            m = evaluation_metrics(y_test, p, value=value, campaign=campaign)
            row.update({f"{name}_{key}": m[key] for key in (*HEADLINE, "emp_per_customer")})
        rows.append(row)

    predictions = pd.concat(parts, ignore_index=True)
    folds = pd.DataFrame(rows)
    y = predictions["label"].to_numpy(dtype=bool)
    value = predictions["value"].to_numpy(dtype=float) if value_all is not None else None
    scorers = ("model", *baselines_of(predictions.columns))
    metrics = _headline(y, {c: predictions[c].to_numpy() for c in scorers}, value, campaign)
    for key in HEADLINE:
        metrics[f"{key}_fold_mean"] = float(folds[f"model_{key}"].mean())
        metrics[f"{key}_fold_std"] = float(folds[f"model_{key}"].std(ddof=0))
    metrics["folds"] = float(len(folds))
    sample = X_test
    if sample is not None and len(sample) > _SAMPLE:
        sample = sample.sample(n=_SAMPLE, random_state=config.model.random_state)
    return EvaluationResult(
        name=config.name, mode=dataset.mode, metrics=metrics, predictions=predictions,
        folds=folds, campaign=campaign, rules=rules, last_model=model, features_sample=sample,
    )
