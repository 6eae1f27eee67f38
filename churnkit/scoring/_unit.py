"""The unit of work of every scoring engine: score the customers of one validated dataset.

The local engine calls :func:`score_partition` once on all the data; the
chunked and Dask engines once per partition of customers, with ``as_of`` fixed
up front. Features come from the model's feature set through the same calls
as :func:`churnkit.explain.customer_features` (:meth:`FeatureSet.align`, then
:meth:`FeatureSet.transform`), so scores and explanations agree by construction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import Coded, as_text_column, str_take
from churnkit.actions import (
    last_contact_words,
    last_feedback_words,
    load_playbooks,
    recommend,
    risk_band,
    value_at_risk,
)
from churnkit.config import Config
from churnkit.data import REJECT_COLUMNS, Dataset
from churnkit.explain import load_reasons, top_reasons
from churnkit.labels import active_mask
from churnkit.model import feature_set_of, profile_counts
from churnkit.scoring._result import ScoreResult, merge_summaries, value_total
from churnkit.scoring._run import rejects_by_reason

__all__ = ["SCORE_COLUMNS", "score_partition"]

#: The leading columns of every scores table, in order.
SCORE_COLUMNS = ["customer_id", "as_of", "churn_probability", "risk_band", "value_at_risk",
                 "reason_1", "reason_2", "reason_3", "action_1", "action_2", "action_3"]


def score_partition(config: Config, model: Any, dataset: Dataset, *, as_of: pd.Timestamp
                    ) -> ScoreResult:
    """Score the customers of ``dataset`` active at ``as_of``.

    Every customer of the dataset ends up either in the scores or in the rejects
    (with a reason): rows that failed validation, and customers no longer active
    (in snapshot data, those whose label says they have churned).

    Parameters
    ----------
    config : Config
        The configuration (churn definition, risk bands, reasons and playbooks).
    model : ChurnModel
        A model trained by :func:`churnkit.train`.
    dataset : Dataset
        Validated tables (all customers, or one partition of them).
    as_of : Timestamp
        The point in time; only earlier events count.

    Returns
    -------
    ScoreResult
        With the dataset, the features and the SHAP contributions of the partition.
    """
    fs = feature_set_of(model)
    dataset = fs.align(dataset)  # columns in the types the model was trained with
    cust = dataset.customers
    if dataset.label is not None:
        # snapshot data: a customer whose label says churned has left and cannot be
        # retained; they go to the rejects (not scored) rather than onto at-risk lists
        active = ~dataset.label.to_numpy(dtype=bool)
    else:
        lab = config.labels
        active = active_mask(
            dataset, as_of, definition=lab.definition, lookback_days=lab.lookback_days,
            activity_tables=lab.activity_tables or None,
        )
    inactive = cust.loc[~active, ["customer_id"]].assign(
        table="customers" if dataset.label is None else "snapshot", row=None, column="", value=None,
        reason=_inactive_reason(config, as_of),
    )
    spine = pd.DataFrame(
        {"customer_id": cust["customer_id"].to_numpy()[active],
         "cutoff": np.full(int(active.sum()), as_of.to_datetime64())}
    )
    unseen = fs.unseen_categories(dataset, spine, as_of=as_of)
    X = fs.transform(dataset, spine)
    contrib = None
    if config.scoring.explain == "all" and len(X):
        contrib, p = model.explain_proba(X)  # one pass of the trees for both
    else:
        p = model.predict_proba(X)[:, 1] if len(X) else np.empty(0)
    scores = pd.DataFrame(
        {
            "customer_id": spine["customer_id"].to_numpy(),
            "as_of": as_of.date().isoformat(),
            "churn_probability": np.round(p, 6),
            "risk_band": risk_band(p, config.scoring.risk_bands).to_numpy(dtype=object),
        }
    )
    value = cust["value"].to_numpy(dtype=float)[active] if "value" in cust else np.nan
    scores["value_at_risk"] = np.round(
        value_at_risk(p, np.broadcast_to(value, p.shape), config.scoring.value_horizon_months)
        .to_numpy(dtype=float), 2)
    if config.scoring.explain != "none" and len(X):
        contrib = _explain(config, model, X, scores, contrib)
    _add_owner_and_touches(scores, dataset, cust[active].reset_index(drop=True), as_of)
    scores["model_version"] = model.version_
    scores = scores[[c for c in SCORE_COLUMNS if c in scores]
                    + [c for c in scores.columns if c not in SCORE_COLUMNS]]
    rejects = pd.concat(
        [dataset.rejects, inactive[REJECT_COLUMNS]], ignore_index=True
    ) if len(inactive) else dataset.rejects
    rejects = rejects.reset_index(drop=True)
    part = {
        "scored": len(scores), "rejected_rows": len(dataset.rejects),
        "not_active": int((~active).sum()), "unseen_categories": unseen,
        "risk_bands": scores["risk_band"].value_counts().to_dict(),
        "value_at_risk": value_total(scores),
    }
    profile = getattr(model, "training_profile_", None)
    monitoring: dict[str, Any] = profile_counts(profile, X, p) if profile is not None else {}
    monitoring["rejects_by_reason"] = rejects_by_reason(rejects)
    part["monitoring"] = monitoring
    summary = merge_summaries([part], as_of=as_of, model_version=model.version_)
    return ScoreResult(summary, {"scores": scores, "rejects": rejects}, dataset=dataset,
                       features=X, contributions=contrib)


def _explain(config: Config, model: Any, X: pd.DataFrame, scores: pd.DataFrame,
             contrib: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add ``reason_1..3`` and ``action_1..3`` to ``scores``; return the contributions.

    ``contrib``: the contributions of every row of ``X``, when already computed.
    """
    reasons = load_reasons(config.resolve(config.scoring.reasons))
    playbooks = load_playbooks(config.resolve(config.scoring.playbooks), reasons=reasons)
    rows = np.arange(len(X))
    if config.scoring.explain == "at_risk":
        rows = np.flatnonzero(scores["risk_band"].to_numpy() != "low")
    Xe = X.iloc[rows]
    contrib = model.explain(Xe) if contrib is None else contrib.iloc[rows]
    players = model if config.scoring.reason_ranking == "players" else None
    top = top_reasons(contrib, Xe, reasons, k=3, model=players)
    actions = recommend(top, playbooks, k=3)
    at = np.full(len(scores), -1, dtype=np.intp)  # each scored row's explained row, or -1
    at[rows] = np.arange(len(rows))
    for col in [*top.columns, *actions.columns]:
        if col.startswith(("reason_", "action_")) and not col.endswith("_id"):
            src = top if col.startswith("reason_") else actions
            values = src[col].array
            scores[col] = as_text_column(
                values if len(rows) == len(scores) else values.take(at, allow_fill=True))
    return contrib


def _add_owner_and_touches(scores: pd.DataFrame, dataset: Dataset, cust: pd.DataFrame,
                           when: pd.Timestamp) -> None:
    """Add ``account_manager``, ``last_contact`` and ``last_feedback`` where the data has them."""
    if "account_manager" in cust:
        scores["account_manager"] = cust["account_manager"].to_numpy(dtype=object)
    ids = scores["customer_id"]
    where: dict[int, np.ndarray] = {}  # scored customers' positions among each id categories
    for name, ev in dataset.events.items():
        spec = dataset.specs[name]
        if spec.kind == "contacts" and "last_contact" not in scores:
            customers, coded = last_contact_words(ev, when, by_time=False)
            scores["last_contact"] = as_text_column(_aligned(ids, customers, coded, where))
        elif spec.kind == "feedback" and "last_feedback" not in scores:
            score_col = spec.roles.get("score", "score")
            comment = next((c for c, t in spec.columns.items() if t == "text"), "comment")
            customers, coded = last_feedback_words(ev, when, score_col=score_col,
                                                   comment_col=comment, by_time=False)
            scores["last_feedback"] = as_text_column(_aligned(ids, customers, coded, where))


def _aligned(ids: pd.Series, customers: pd.Index, coded: Coded,
             where: dict[int, np.ndarray]) -> Any:
    """The texts of ``customers`` for the customers ``ids`` (missing for others), as text."""
    if isinstance(customers, pd.CategoricalIndex):  # loaded tables: codes into the ids
        cats = customers.categories
        pos = where.get(id(cats))
        if pos is None:
            pos = where[id(cats)] = cats.get_indexer(pd.Index(ids))
        slot = np.full(len(cats) + 1, -1, dtype=np.int64)  # the last slot: ids not there
        known = customers.codes >= 0
        slot[customers.codes[known]] = coded.codes[known]
        return str_take(coded.words, slot[pos])
    at = pd.Index(customers).get_indexer(pd.Index(ids))
    return str_take(coded.words, np.where(at >= 0, np.append(coded.codes, -1)[at], -1))


def _inactive_reason(config: Config, when: pd.Timestamp) -> str:
    if config.data.snapshot is not None:
        return (
            f"already churned (snapshot.{config.data.snapshot.label} is one of the positive "
            "values); not scored"
        )
    if config.labels.definition == "inactivity":
        return (
            f"not active at {when.date()}: no activity in the {config.labels.lookback_days} "
            "days before (already churned by the inactivity definition); not scored"
        )
    return f"not a customer at {when.date()} (not yet signed up or already ended); not scored"

