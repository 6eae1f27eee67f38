"""End-to-end jobs: from a configuration to a trained model, and to scored customers.

These functions are what the CLI commands call; each returns a small result
object with the tables it produced and a summary to print.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnkit.actions import risk_band, value_at_risk
from churnkit.config import Config
from churnkit.data import REJECT_COLUMNS, Dataset, load_dataset
from churnkit.exceptions import ModelError
from churnkit.features import FeatureSet, feature_set
from churnkit.labels import active_mask, labels_from_config
from churnkit.model import ChurnModel

__all__ = [
    "ScoreResult",
    "TrainResult",
    "model_from_config",
    "score_dataset",
    "score",
    "training_frame",
    "train",
]

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    return None


@dataclass
class TrainResult:
    """What :func:`train` produced."""

    model: ChurnModel
    dataset: Dataset
    labels: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class ScoreResult:
    """What :func:`score` produced: one row per scored customer, and the rejects."""

    scores: pd.DataFrame
    rejects: pd.DataFrame
    features: pd.DataFrame
    dataset: Dataset
    summary: dict[str, Any] = field(default_factory=dict)
    contributions: pd.DataFrame | None = None
    """SHAP contributions (log-odds) of the explained rows, indexed like ``features``."""


def model_from_config(config: Config) -> ChurnModel:
    """An unfitted :class:`ChurnModel` with the config's model settings."""
    m = config.model
    return ChurnModel(
        n_estimators=m.n_estimators, learning_rate=m.learning_rate, num_leaves=m.num_leaves,
        max_depth=m.max_depth, min_child_samples=m.min_child_samples, subsample=m.subsample,
        colsample_bytree=m.colsample_bytree, reg_lambda=m.reg_lambda,
        class_weight=m.class_weight, early_stopping_rounds=m.early_stopping_rounds,
        calibration=m.calibration, validation_cutoffs=config.labels.validation_cutoffs,
        validation_fraction=m.validation_fraction, random_state=m.seed, n_jobs=m.n_jobs,
    )


def training_frame(config: Config, dataset: Dataset) -> pd.DataFrame:
    """The label rows: ``customer_id, cutoff, label`` (snapshot mode: cutoff = data end)."""
    if dataset.label is not None:
        return pd.DataFrame(
            {
                "customer_id": dataset.customers["customer_id"].to_numpy(),
                "cutoff": np.full(len(dataset.customers), dataset.end.to_datetime64()),
                "label": dataset.label.to_numpy(dtype=bool),
            }
        )
    return labels_from_config(dataset, config.labels)


def train(
    config: Config,
    *,
    tables: Mapping[str, pd.DataFrame] | None = None,
    progress: Progress = _noop,
) -> TrainResult:
    """Load the data, label it, build features and fit the model.

    Parameters
    ----------
    config : Config
        The configuration.
    tables : mapping of str to DataFrame, optional
        In-memory tables replacing the config's files.
    progress : callable, optional
        Called with a short description before each step.

    Returns
    -------
    TrainResult
    """
    progress("Loading and validating tables")
    dataset = load_dataset(config, tables)
    progress("Labelling customers at each cutoff")
    labels = training_frame(config, dataset)
    progress(f"Building features for {len(labels):,} rows")
    spine = labels[["customer_id", "cutoff"]]
    fs = feature_set(config.features)
    X = fs.fit_transform(dataset, spine)
    progress(f"Training LightGBM on {X.shape[1]} features")
    model = model_from_config(config)
    if dataset.label is None:
        model.fit(X, labels["label"], cutoffs=labels["cutoff"],
                  horizon_days=config.labels.horizon_days)
    else:
        model.fit(X, labels["label"])
    model.feature_set_ = fs.without_data()
    model.config_ = config.model_dump(mode="json", exclude={"base_dir"})
    cut = labels["cutoff"]
    model.training_ = {
        "mode": dataset.mode,
        "rows": len(labels),
        "customers": int(labels["customer_id"].nunique()),
        "positive_rate": float(labels["label"].mean()),
        "first_cutoff": str(cut.min().date()),
        "last_cutoff": str(cut.max().date()),
        "n_cutoffs": int(cut.nunique()),
        "data_end": str(dataset.end.date()),
    }
    summary = {
        **model.training_,
        "features": X.shape[1],
        "validation": {k: round(v, 4) for k, v in model.metrics_.items()},
        "rejects": len(dataset.rejects),
        "model_version": model.version_,
    }
    return TrainResult(model, dataset, labels, summary)


def score(
    config: Config,
    model: ChurnModel,
    *,
    as_of: str | pd.Timestamp | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    progress: Progress = _noop,
) -> ScoreResult:
    """Score every customer active at ``as_of`` (default: the end of the data).

    Every input customer ends up either in ``scores`` or in ``rejects`` (with a
    reason): rows that failed validation, and customers no longer active.

    Returns
    -------
    ScoreResult
        ``scores``: ``customer_id, as_of, churn_probability, risk_band,
        value_at_risk, model_version``.
    """
    progress("Loading and validating tables")
    dataset = load_dataset(config, tables)
    return score_dataset(config, model, dataset, as_of=as_of, progress=progress)


def score_dataset(
    config: Config,
    model: ChurnModel,
    dataset: Dataset,
    *,
    as_of: str | pd.Timestamp | None = None,
    progress: Progress = _noop,
) -> ScoreResult:
    """Score the customers of an already validated dataset (see :func:`score`).

    This is the unit of work of every engine: the local engine calls it once, the
    Dask engine once per partition of customers (with ``as_of`` fixed up front).
    """
    fs: FeatureSet | None = getattr(model, "feature_set_", None)
    if fs is None:
        raise ModelError(
            "This model has no feature set: train it with churnkit.train (or 'churnkit train')."
        )
    when = pd.Timestamp(as_of) if as_of is not None else dataset.end
    cust = dataset.customers
    if dataset.label is not None:
        active = np.ones(len(cust), dtype=bool)
    else:
        lab = config.labels
        active = active_mask(
            dataset, when, definition=lab.definition, lookback_days=lab.lookback_days,
            activity_tables=lab.activity_tables or None,
        )
    inactive = cust.loc[~active, ["customer_id"]].assign(
        table="customers", row=None, column="", value=None,
        reason=_inactive_reason(config, when),
    )
    spine = pd.DataFrame(
        {"customer_id": cust["customer_id"].to_numpy()[active],
         "cutoff": np.full(int(active.sum()), when.to_datetime64())}
    )
    dataset = _numeric_as_trained(fs, dataset)
    unseen = _unseen_categories(fs, dataset, spine, when)
    progress(f"Building features for {len(spine):,} customers")
    X = fs.transform(dataset, spine)
    progress("Scoring")
    p = model.predict_proba(X)[:, 1] if len(X) else np.empty(0)
    scores = pd.DataFrame(
        {
            "customer_id": spine["customer_id"].to_numpy(),
            "as_of": when.date().isoformat(),
            "churn_probability": np.round(p, 6),
            "risk_band": risk_band(p, config.scoring.risk_bands).to_numpy(dtype=object),
        }
    )
    value = cust["value"].to_numpy(dtype=float)[active] if "value" in cust else np.nan
    scores["value_at_risk"] = np.round(
        value_at_risk(p, np.broadcast_to(value, p.shape), config.scoring.value_horizon_months)
        .to_numpy(dtype=float), 2)
    contrib = None
    if config.scoring.explain != "none" and len(X):
        progress(f"Explaining {len(X):,} scores")
        contrib = _explain(config, model, X, scores)
    _add_owner_and_touches(scores, dataset, cust[active].reset_index(drop=True), when)
    scores["model_version"] = model.version_
    first = ["customer_id", "as_of", "churn_probability", "risk_band", "value_at_risk",
             "reason_1", "reason_2", "reason_3", "action_1", "action_2", "action_3"]
    scores = scores[[c for c in first if c in scores]
                    + [c for c in scores.columns if c not in first]]
    rejects = pd.concat(
        [dataset.rejects, inactive[REJECT_COLUMNS]], ignore_index=True
    ) if len(inactive) else dataset.rejects
    rejects = rejects.reset_index(drop=True)
    summary = {
        "as_of": when.date().isoformat(),
        "scored": len(scores),
        "rejected_rows": len(dataset.rejects),
        "not_active": int((~active).sum()),
        "unseen_categories": unseen,
        "risk_bands": scores["risk_band"].value_counts().to_dict(),
        "value_at_risk": float(np.nansum(scores["value_at_risk"])),
        "model_version": model.version_,
    }
    return ScoreResult(scores, rejects, X, dataset, summary, contrib)


def _numeric_as_trained(fs: FeatureSet, dataset: Dataset) -> Dataset:
    """Parse customer columns the model was trained on as numbers but that arrive as text.

    The data layer infers an undeclared column's type from its values, so a
    column that was numeric in training may load as text (e.g. "12 EUR",
    "n/a"). Its values are parsed as numbers; those that are no number are set
    to missing and listed in the rejects.
    """
    from dataclasses import replace

    from churnkit.data._parse import parse_numeric

    cust = dataset.customers
    text = [c for c, k in fs.static_.types_.items()
            if k in {"numeric", "boolean"} and c in cust and not pd.api.types.is_numeric_dtype(cust[c])]
    if not text:
        return dataset
    cust = cust.copy()
    parts = [dataset.rejects]
    for col in text:
        raw = cust[col].astype(object)
        cust[col], bad = parse_numeric(raw.where(raw.notna(), None))
        if bad.any():
            parts.append(pd.DataFrame({
                "table": "customers", "row": None, "customer_id": cust.loc[bad, "customer_id"],
                "column": col, "value": raw[bad].astype(str),
                "reason": "text in a column the model was trained on as numbers; set to missing",
            })[REJECT_COLUMNS])
    rejects = pd.concat(parts, ignore_index=True) if len(parts) > 1 else dataset.rejects
    return replace(dataset, customers=cust, rejects=rejects)


def _unseen_categories(fs: FeatureSet, dataset: Dataset, spine: pd.DataFrame, when: pd.Timestamp
                       ) -> dict[str, int]:
    """Rows per ``table.column`` whose category value the model never saw in training.

    Static columns count the scored customers; event columns count the event rows
    before ``when``. An event column that lumps its rarer values into ``(other)``
    counts unseen values only when its transformer kept every value seen (``seen_``).
    """
    out = {f"customers.{c}": n
           for c, n in fs.static_.set_params(customers=dataset.customers)
           .unseen_categories(spine).items()}
    fs.static_.set_params(customers=None)
    for name, f in fs.events_.items():
        ev = dataset.events.get(name)
        if ev is None or not len(ev):
            continue
        before = (ev["timestamp"] < when).to_numpy()
        seen = getattr(f, "seen_", {}) or {}
        for col, levels in f.categories_.items():
            if col not in ev:
                continue
            if col in seen:
                known = {str(v) for v in seen[col]}
            elif not f.other_.get(col, False):
                known = {str(v) for v in levels}
            else:
                continue
            values = ev[col]
            cats = (values.cat.categories if isinstance(values.dtype, pd.CategoricalDtype)
                    else pd.Index(values.dropna().unique()))
            new = [v for v in cats if str(v).strip() not in known]
            if new:
                n = int((values.isin(new).to_numpy() & before).sum())
                if n:
                    out[f"{name}.{col}"] = n
    return out


def _explain(config: Config, model: ChurnModel, X: pd.DataFrame, scores: pd.DataFrame
             ) -> pd.DataFrame:
    """Add ``reason_1..3`` and ``action_1..3`` to ``scores``; return the contributions."""
    from churnkit.actions import load_playbooks, recommend
    from churnkit.explain import load_reasons, top_reasons

    reasons = load_reasons(config.resolve(config.scoring.reasons))
    playbooks = load_playbooks(config.resolve(config.scoring.playbooks), reasons=reasons)
    rows = np.arange(len(X))
    if config.scoring.explain == "at_risk":
        rows = np.flatnonzero(scores["risk_band"].to_numpy() != "low")
    Xe = X.iloc[rows]
    contrib = model.explain(Xe)
    top = top_reasons(contrib, Xe, reasons, k=3)
    actions = recommend(top, playbooks, k=3)
    for col in [*top.columns, *actions.columns]:
        if col.startswith(("reason_", "action_")) and not col.endswith("_id"):
            values = np.full(len(scores), None, dtype=object)
            src = top if col.startswith("reason_") else actions
            picked = src[col].to_numpy(dtype=object)
            values[rows] = np.where(pd.isna(picked), None, picked)
            scores[col] = values
    return contrib


def _add_owner_and_touches(scores: pd.DataFrame, dataset: Dataset, cust: pd.DataFrame,
                           when: pd.Timestamp) -> None:
    """Add ``account_manager``, ``last_contact`` and ``last_feedback`` where the data has them."""
    from churnkit.actions import describe_last_contact, describe_last_feedback

    if "account_manager" in cust:
        scores["account_manager"] = cust["account_manager"].to_numpy(dtype=object)
    ids = scores["customer_id"]
    for name, ev in dataset.events.items():
        spec = dataset.specs[name]
        if spec.kind == "contacts" and "last_contact" not in scores:
            touch = describe_last_contact(ev, when)
            scores["last_contact"] = ids.map(touch).to_numpy(dtype=object)
        elif spec.kind == "feedback" and "last_feedback" not in scores:
            score_col = spec.roles.get("score", "score")
            comment = next((c for c, t in spec.columns.items() if t == "text"), "comment")
            touch = describe_last_feedback(ev, when, score_col=score_col, comment_col=comment)
            scores["last_feedback"] = ids.map(touch).to_numpy(dtype=object)


def _inactive_reason(config: Config, when: pd.Timestamp) -> str:
    if config.labels.definition == "inactivity":
        return (
            f"not active at {when.date()}: no activity in the {config.labels.lookback_days} "
            "days before (already churned by the inactivity definition); not scored"
        )
    return f"not a customer at {when.date()} (not yet signed up or already ended); not scored"


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table atomically as CSV or Parquet (by suffix)."""
    from churnkit._atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() in {".parquet", ".pq"}:
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False, lineterminator="\n")
    return path


def retention(
    config: Config,
    out_dir: str | Path,
    *,
    period: str | None = None,
    by: list[str] | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    dataset: Dataset | None = None,
) -> dict[str, Any]:
    """Write the retention report (CRR, churn, cohorts, value by segment) for a configuration.

    Contractual data (signup/end dates) is measured from the customers table;
    with ``labels.definition: inactivity`` a customer is retained in a period
    if it is active in it (activity tables of the config).

    Returns
    -------
    dict
        The report's summary (latest CRR, churn rate, files written).
    """
    from churnkit.exceptions import SchemaError
    from churnkit.retention import retention_report

    ds = dataset if dataset is not None else load_dataset(config, tables)
    if ds.label is not None:
        raise SchemaError(
            "Retention analytics needs dates (signup/end dates or timestamped activity); "
            "snapshot data has neither. Use an event-mode configuration."
        )
    cust = ds.customers
    ret = config.retention
    groups = by if by is not None else (ret.by or (["segment"] if "segment" in cust else []))
    unknown = [g for g in groups if g not in cust]
    if unknown:
        raise SchemaError(
            f"retention.by names column(s) {unknown} that the customers table lacks; "
            f"available: {sorted(c for c in cust.columns if c != 'customer_id')}."
        )
    events = None
    amount = None
    if config.labels.definition == "inactivity":
        names = config.labels.activity_tables or list(ds.events)
        if ret.amount is not None and not any(ret.amount in ds.events[n] for n in names):
            raise SchemaError(
                f"retention.amount: no activity table has a column {ret.amount!r}."
            )
        keep = ["customer_id", "timestamp"] + ([ret.amount] if ret.amount else [])
        events = pd.concat(
            [ds.events[n].reindex(columns=keep) for n in names], ignore_index=True
        )
        amount = ret.amount
    start = ret.start
    if start is None and ds.events:
        first = min(df["timestamp"].min() for df in ds.events.values() if len(df))
        start = first.to_period(period or ret.period).start_time
    return retention_report(
        cust if events is None or groups else None, start=start, end=ds.end - pd.Timedelta(days=1),
        out_dir=out_dir, period=period or ret.period, by=groups or None, events=events,
        value_col="value" if "value" in cust and events is None else None,
        wallet_col="wallet_share" if "wallet_share" in cust and events is None else None,
        amount_col=amount, margin=ret.margin, discount_rate=ret.discount_rate,
        title=f"Retention: {config.name}",
    )
