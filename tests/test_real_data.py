"""The same pipeline on real public data.

CDNOW (inactivity churn, cutoff schedule, out-of-time backtest), IBM Telco and the
bank data (snapshot mode, cross-validation), RavenStack (lookups, joins, tickets and
satisfaction) and Olist (reviews through two lookups, Portuguese review text).
Fewer, faster trees than the configs' defaults keep each test in seconds; the
figures with the default settings come from ``benchmarks/real_data.py``.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import roc_auc_score

import churnkit as ck
from churnkit.config import config_from_dict
from churnkit.evaluate import backtest

pytestmark = pytest.mark.slow  # trains on the public datasets in ../shared/data

FAST = {"n_estimators": 150, "learning_rate": 0.1, "n_jobs": 1}


PUBLIC_CONFIGS = Path(__file__).resolve().parents[1] / "benchmarks" / "configs"


def _config(name, **model):
    path = PUBLIC_CONFIGS / name
    raw = yaml.safe_load(path.read_text())
    raw.setdefault("model", {}).update({**FAST, **model})
    return config_from_dict(raw, base_dir=path.parent, source=str(path))


def test_cdnow_inactivity_churn_pipeline(shared_data):
    cfg = _config("cdnow.yaml")
    result = ck.train(cfg)
    labels = result.labels
    cutoffs = labels["cutoff"].dt.strftime("%Y-%m-%d").unique().tolist()
    assert (cutoffs[0], cutoffs[-1]) == ("1997-03-31", "1997-12-31")
    # every customer made its first purchase in Q1 1997, so all 23,570 are labelled at once
    first = labels[labels["cutoff"] == labels["cutoff"].min()]
    assert len(first) == 23570
    assert 0.6 < labels["label"].mean() < 0.9  # most CDNOW customers never come back
    # validation on the newest cutoff; training cutoffs whose 6-month horizon reaches into it
    # are purged, so this is an honest out-of-time figure (about 0.76)
    assert result.model.metrics_["n_train"] == 4 * 23570  # 1997-03-31 .. 1997-06-30
    assert result.model.metrics_["roc_auc"] > 0.72, result.model.metrics_
    scored = ck.score(cfg, result.model)
    # nothing lost: every customer is scored or listed as not active (or rejected)
    assert len(scored.scores) + int((scored.rejects["table"] == "customers").sum()) == 23570
    assert scored.scores["as_of"].unique().tolist() == ["1998-07-01"]


def test_cdnow_backtest_at_1997_12_31_trains_on_cutoffs_whose_labels_end_before_it(shared_data):
    """The command's default tests the cutoff 1997-12-31 only (the README's figure). Only
    1997-03-31 .. 06-30 end their 182-day horizon by then and none ends by the validation
    cutoff 06-30, so the fold trains on 03-31 .. 05-31 without the validation purge: their
    labels overlap validation, never the test horizon."""
    result = backtest(_config("cdnow.yaml"))
    assert len(result.folds) == 1
    assert result.metrics["n"] == 23570
    assert result.metrics["roc_auc"] > 0.78, result.metrics["roc_auc"]
    # inactivity labels of a purchase log: the Pareto/NBD model is a fourth baseline
    assert set(result.metrics["baseline"]) == {"rule", "logistic", "lightgbm", "btyd"}
    fold = result.folds.iloc[0]
    assert str(fold.test_cutoff.date()) == "1997-12-31"
    assert fold.train_cutoffs == ["1997-03-31", "1997-04-30", "1997-05-31", "1997-06-30"]
    assert fold.validation_cutoffs == ["1997-06-30"]
    assert not fold.inner_purge
    assert fold.last_label_end <= fold.test_cutoff
    assert result.last_model.metrics_["n_train"] == 3 * 23570


@pytest.mark.parametrize(("name", "auc", "lift"), [("telco.yaml", 0.83, 2.6),
                                                   ("bank.yaml", 0.85, 3.6)])
def test_snapshot_cross_validation_on_public_data(shared_data, name, auc, lift):
    result = backtest(_config(name, learning_rate=0.05))
    m = result.metrics
    assert m["n"] == {"telco.yaml": 7043, "bank.yaml": 10000}[name]
    assert m["roc_auc"] > auc, m
    assert m["top_decile_lift"] > lift, m
    assert m["roc_auc"] > m["baseline"]["rule"]["roc_auc"] + 0.05
    assert len(result.folds) == 5
    data = json.loads(result.to_json())
    assert set(data["baseline"]) == {"rule", "logistic", "lightgbm"}
    if name == "bank.yaml":  # row counters and surnames are never features
        assert not any(c in result.last_model.feature_names_in_
                       for c in ("static__RowNumber", "static__Surname", "static__Exited"))


def test_ravenstack_lookups_joins_and_pipeline(shared_data):
    cfg = _config("ravenstack.yaml")
    ds = ck.load_dataset(cfg)
    assert len(ds.customers) == 500
    assert ds.rejects.empty
    # latest churn date of the accounts still flagged as churned; the others came back
    assert int(ds.customers["end_date"].notna().sum()) == 75
    assert len(ds.events["usage"]) == 25000  # every usage row reached its account
    subs = pd.read_csv(shared_data / "ravenstack_saas" / "ravenstack_subscriptions.csv")
    open_mrr = subs[subs["end_date"].isna()].groupby("account_id")["mrr_amount"].sum()
    value = ds.customers.set_index("customer_id")["value"]
    np.testing.assert_allclose(value.loc[open_mrr.index], open_mrr.to_numpy())
    assert ds.specs["satisfaction"].roles == {"score": "satisfaction_score"}

    result = ck.train(cfg)
    names = list(result.model.feature_names_in_)
    for prefix in ("tickets__priority=", "tickets__escalation_flag__share",
                   "satisfaction__satisfaction_score__", "satisfaction__unanswered__",
                   "usage__usage_count__", "subscriptions__mrr_amount__"):
        assert any(n.startswith(prefix) for n in names), prefix
    assert not any("churn_flag" in n for n in names)
    assert 0.01 < result.summary["positive_rate"] < 0.2
    scored = ck.score(cfg, result.model)
    s = scored.scores
    assert len(s) == 500 - 75  # the churned accounts are not scored, and listed why
    assert s["churn_probability"].between(0, 1).all()
    assert (s["value_at_risk"] >= 0).all()
    assert s["last_contact"].notna().mean() > 0.9


def test_olist_reviews_reach_people_and_their_text_carries_sentiment(shared_data):
    cfg = _config("olist.yaml")
    ds = ck.load_dataset(cfg)
    assert len(ds.customers) == 3998  # people, not per-order ids
    assert set(ds.attributes) == {"state"}
    late = ds.rejects["reason"].str.contains("on or after the end of the data")
    assert len(ds.events["reviews"]) + late.sum() == 3986
    assert ds.events["payments"]["timestamp"].notna().all()  # dated through their order
    result = ck.train(cfg)
    names = list(result.model.feature_names_in_)
    assert "reviews__review_comment_message__text_svd1__mean__90d" in names
    assert "reviews__review_comment_title__text_complaint__mean__365d" in names

    # the review text tells unhappy customers apart (on real Portuguese reviews)
    cut = pd.Timestamp("2018-09-01")
    spine = pd.DataFrame({"customer_id": ds.customers["customer_id"], "cutoff": cut})
    X = result.model.feature_set_.transform(ds, spine)
    msg = "reviews__review_comment_message__"
    has = X[f"{msg}has_text__count__365d"] > 0
    unhappy = X["reviews__review_score__last__365d"] <= 2
    complaint = X[f"{msg}text_complaint__mean__365d"]
    assert has.sum() > 1000
    assert roc_auc_score(unhappy[has], complaint[has]) > 0.7
    svd = X.loc[has, [c for c in X.columns if c.startswith(msg) and "svd" in c
                      and c.endswith("__mean__365d")]]
    aucs = [roc_auc_score(unhappy[has], svd[c]) for c in svd]
    assert max(max(a, 1 - a) for a in aucs) > 0.7
    scored = ck.score(cfg, result.model)
    assert scored.scores["churn_probability"].between(0, 1).all()
