"""The same pipeline on real public data: CDNOW (inactivity churn, cutoff schedule)."""

import yaml

import churnkit as ck
from churnkit._resources import builtin_config
from churnkit.config import config_from_dict


def _config(name, **model):
    path = builtin_config(name)
    raw = yaml.safe_load(path.read_text())
    raw.setdefault("model", {}).update(model)
    return config_from_dict(raw, base_dir=path.parent, source=str(path))


def test_cdnow_inactivity_churn_pipeline(shared_data):
    # fewer, faster trees than the config's default keep the test in seconds
    cfg = _config("cdnow.yaml", n_estimators=150, learning_rate=0.1)
    result = ck.train(cfg)
    labels = result.labels
    assert labels["cutoff"].dt.strftime("%Y-%m-%d").unique().tolist()[-1] == "1997-12-31"
    # every customer made its first purchase in Q1 1997, so all 23,570 are labelled at 1997-06-30
    first = labels[labels["cutoff"] == labels["cutoff"].min()]
    assert len(first) == 23570
    assert 0.6 < labels["label"].mean() < 0.9  # most CDNOW customers never come back
    assert result.model.metrics_["roc_auc"] > 0.78, result.model.metrics_
    scored = ck.score(cfg, result.model)
    # nothing lost: every customer is scored or listed as not active (or rejected)
    assert len(scored.scores) + int((scored.rejects["table"] == "customers").sum()) == 23570
    assert scored.scores["as_of"].unique().tolist() == ["1998-07-01"]
