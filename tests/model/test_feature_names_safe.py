"""Category values with a backslash or control character give feature names LightGBM can store."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

import churnkit as ck
from churnkit.config import config_from_dict
from churnkit.explain import humanize_feature
from churnkit.jobs import explain
from churnkit.model._model import check_dump

BASE = Path(__file__).parents[1] / "bad_inputs" / "base"


def _config(contacts: Path):
    return config_from_dict({
        "name": "odd-names",
        "data": {
            "customers": {"path": str(BASE / "customers.csv"), "customer_id": "customer_id",
                          "signup_date": "signup_date", "end_date": "end_date",
                          "segment": "segment", "value": "monthly_value",
                          "attributes": {"region": "categorical", "seats": "numeric"}},
            "events": {
                "contacts": {"kind": "contacts", "path": str(contacts),
                             "columns": {"channel": "categorical", "topic": "categorical",
                                         "resolved": "boolean", "duration_min": "numeric",
                                         "note": "text"},
                             "roles": {"topic": "topic", "resolved": "resolved",
                                       "duration": "duration_min", "channel": "channel"}},
                "feedback": {"kind": "feedback", "path": str(BASE / "feedback.csv"),
                             "columns": {"score": "numeric", "comment": "text"},
                             "roles": {"score": "score"}},
            },
            "end": "2024-07-01",
        },
        "labels": {"horizon_days": 30, "validation_cutoffs": 1,
                   "cutoffs": ["2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"]},
        "features": {"windows": [30, 90], "max_categories": 5},
        "model": {"n_estimators": 20, "min_child_samples": 3, "early_stopping_rounds": 5,
                  "calibration": "none", "n_jobs": 1},
        "scoring": {"explain": "all"},
    })


def test_lightgbm_dump_of_a_backslash_name_is_refused_with_a_clear_error():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.random((100, 2)), columns=["plain", "contacts__channel=web\\chat"])
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1},
                        lgb.Dataset(X, (X["plain"] > 0.5).astype(int)), 3)
    with pytest.raises(ck.ModelError, match=r"JSON dump does not parse.*web\\\\chat.*train again"):
        check_dump(booster, list(X.columns))
    ok = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1},
                   lgb.Dataset(X.set_axis(["plain", "web_chat"], axis=1),
                               (X["plain"] > 0.5).astype(int)), 3)
    check_dump(ok, ["plain", "web_chat"])  # no error


def test_backslash_and_tab_values_train_score_and_explain(tmp_path):
    contacts = pd.read_csv(BASE / "contacts.csv", dtype=str)
    contacts["channel"] = contacts["channel"].replace({"email": "web\\chat"})
    # a value that becomes the same name once cleaned keeps a feature of its own
    contacts.loc[contacts.index % 7 == 0, "channel"] = "web_chat"
    contacts["topic"] = contacts["topic"].replace({"billing": "billing\tquestion"})
    path = tmp_path / "contacts.csv"
    contacts.to_csv(path, index=False)
    cfg = _config(path)

    trained = ck.train(cfg)
    names = list(trained.model.feature_names_in_)
    assert "contacts__channel=web_chat__count__30d" in names
    assert "contacts__channel=web_chat__count__30d~2" in names
    assert "contacts__topic=billing_question__count__90d" in names
    assert not any("\\" in n or "\t" in n for n in names)
    trained.model.booster_.dump_model()  # parses

    trained.write(tmp_path / "model")
    model = ck.load_model(tmp_path / "model")
    scored = ck.score(cfg, model)
    assert len(scored.scores) > 0
    assert scored.scores["reason_1"].notna().any()
    customer = contacts.loc[contacts["channel"] == "web\\chat", "customer_id"].iloc[0]
    expl, _ = explain(cfg, model, customer)
    assert expl is not None
    assert humanize_feature("contacts__channel=web_chat__count__30d") == \
        "Contacts by web chat (last 30 days)"
