"""Pareto/NBD features: point in time, per cutoff, saved and loaded with the feature set."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

import churnkit as ck
from churnkit._core import builtin_config
from churnkit.clv import ParetoNBD, rfm_summary
from churnkit.config import config_from_dict
from churnkit.exceptions import ModelError, NotFittedError
from churnkit.features import BTYDFeatures, FeatureSet, feature_set_from_state, feature_set_state

CUTOFFS = pd.to_datetime(["2024-06-01", "2024-09-01"])


def _purchases(rng, n=150):
    """Pareto/NBD buyers: first purchase in January, Poisson purchases until they leave."""
    ids, days = [], []
    for i in range(n):
        rate, life = rng.gamma(1.0, 1 / 20), rng.exponential(rng.gamma(1.0, 200.0))
        t = float(rng.integers(0, 31))
        while t < min(life, 330):
            ids.append(str(i))
            days.append(t)
            t += rng.exponential(1 / rate)
    stamps = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.floor(days), unit="D")
    return pd.DataFrame({"customer_id": ids, "timestamp": stamps,
                         "amount": rng.gamma(2.0, 20.0, len(ids))})


def _spine(ids):
    return pd.DataFrame({"customer_id": np.repeat(ids, len(CUTOFFS)),
                         "cutoff": np.tile(CUTOFFS, len(ids))})


def test_features_use_only_purchases_before_each_cutoff(rng):
    ev = _purchases(rng)
    buyers = sorted(set(ev.loc[ev["timestamp"] < CUTOFFS[0], "customer_id"]))[:4]
    spine = _spine([*buyers, "nobody"])
    f = BTYDFeatures(table="orders", windows=[30, 182]).fit(spine, events=ev)
    X = f.transform(spine, events=ev)
    assert sorted(f.params_) == ["2024-06-01", "2024-09-01"]
    # the model of each cutoff is the one fitted on the purchases before it
    s = rfm_summary(ev, CUTOFFS[0], unit_days=7)
    direct = ParetoNBD().fit(s["frequency"], s["recency"], s["T"])
    for k, v in direct.params_.items():
        assert f.params_["2024-06-01"][k] == pytest.approx(v, rel=1e-9)
    assert X[spine["customer_id"] == "nobody"].isna().all().all()
    seen = X[spine["customer_id"] != "nobody"]
    assert seen.notna().all().all()
    assert ((seen["orders__btyd__p_alive"] > 0) & (seen["orders__btyd__p_alive"] <= 1)).all()
    assert (seen["orders__btyd__expected_purchases__182d"]
            > seen["orders__btyd__expected_purchases__30d"]).all()
    # appending purchases on or after every cutoff changes no feature, fitted or not
    late = pd.DataFrame({"customer_id": [buyers[0], buyers[1], "nobody", "new"] * 50,
                         "timestamp": pd.Timestamp("2024-06-01")
                         + pd.to_timedelta(np.arange(200) % 90, unit="D"),
                         "amount": 1.0})
    late_first = late.assign(timestamp=late["timestamp"] + pd.Timedelta(days=92))
    for future, rows in ((late_first, slice(None)), (late, spine["cutoff"] == CUTOFFS[0])):
        more = pd.concat([ev, future], ignore_index=True)
        pd.testing.assert_frame_equal(f.transform(spine, events=more)[rows], X[rows],
                                      check_exact=True)
        refit = BTYDFeatures(table="orders", windows=[30, 182]).fit(spine, events=more)
        pd.testing.assert_frame_equal(refit.transform(spine, events=more)[rows], X[rows],
                                      check_exact=True)


def test_a_new_cutoff_is_fitted_on_the_purchases_before_it(rng):
    ev = _purchases(rng)
    f = BTYDFeatures(table="orders", windows=[90]).fit(_spine(["0", "1"]), events=ev)
    later = pd.DataFrame({"customer_id": ["0", "1"], "cutoff": pd.Timestamp("2024-11-01")})
    X = f.transform(later, events=ev)
    s = rfm_summary(ev, "2024-11-01", unit_days=7)
    m = ParetoNBD().fit(s["frequency"], s["recency"], s["T"])
    np.testing.assert_allclose(X["orders__btyd__p_alive"],
                               m.p_alive(*(s.loc[["0", "1"], c] for c in ("frequency", "recency",
                                                                        "T"))), rtol=1e-6)
    assert "2024-11-01" not in f.params_  # transform changes nothing fitted


def test_unfitted_and_bad_parameters():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        BTYDFeatures(table="orders").transform(_spine(["0"]), events=_purchases(
            np.random.default_rng(0)))
    with pytest.raises(ValueError, match="'windows' parameter of BTYDFeatures"):
        BTYDFeatures(table="orders", windows=[0]).fit(_spine(["0"]), events=_purchases(
            np.random.default_rng(0)))
    with pytest.raises(ValueError, match="'btyd' parameter of FeatureSet"):
        FeatureSet(btyd="yes").fit(*_noncontractual_dataset(100))


def _noncontractual_config():
    """The sample CRM's config as a non-contractual one: no end dates, churn = inactivity."""
    path = builtin_config("default.yaml")
    raw = yaml.safe_load(path.read_text())
    del raw["data"]["customers"]["end_date"]
    raw["labels"] = {"definition": "inactivity", "horizon_days": 90,
                     "activity_tables": ["transactions", "usage"],
                     "cutoffs": {"start": "2024-07-01", "every": "MS"}, "validation_cutoffs": 2}
    return config_from_dict(raw, base_dir=path.parent, source=str(path))


def _noncontractual_tables(n, random_state=0, months=12):
    tables = dict(ck.datasets.make_crm(n, random_state=random_state, months=months).tables)
    tables["customers"] = tables["customers"].drop(columns="end_date")
    return tables


def _noncontractual_dataset(n):
    cfg = _noncontractual_config()
    ds = ck.load_dataset(cfg, _noncontractual_tables(n))
    spine = pd.DataFrame({"customer_id": ds.customers["customer_id"].to_numpy(),
                          "cutoff": pd.Timestamp("2024-10-01")})
    return ds, spine


def test_auto_applies_to_non_contractual_data_and_state_round_trips():
    ds, spine = _noncontractual_dataset(150)
    fs = FeatureSet(windows=[30, 90], btyd="auto").fit(ds, spine)
    assert list(fs.btyd_) == ["transactions"]
    X = fs.transform(ds, spine)
    assert "transactions__btyd__p_alive" in X
    assert X["transactions__btyd__p_alive"].notna().mean() > 0.5
    state = json.loads(json.dumps(feature_set_state(fs)))
    back = feature_set_from_state(state, "features.json")
    assert feature_set_state(back) == feature_set_state(fs)
    pd.testing.assert_frame_equal(back.transform(ds, spine), X, check_exact=True)
    state["btyd_"]["transactions"]["params_"]["2024-10-01"][0] = "x"
    with pytest.raises(ModelError, match=r"btyd_\.transactions\.params_\.2024-10-01: expected"):
        feature_set_from_state(state, "features.json")
    # contractual data (end dates known): auto leaves the purchase model out
    contractual = ck.load_dataset(ck.load_config(builtin_config("default.yaml")),
                                  ck.datasets.make_crm(150, random_state=0, months=12).tables)
    assert FeatureSet(windows=[30], btyd="auto").fit(contractual, spine).btyd_ == {}


@pytest.mark.slow
def test_trained_non_contractual_model_reloads_with_the_same_btyd_features(tmp_path):
    cfg = _noncontractual_config()
    tables = _noncontractual_tables(500, random_state=1, months=24)
    result = ck.train(cfg, tables=tables)
    assert any("__btyd__" in c for c in result.model.feature_set_.feature_names_)
    path = result.write(tmp_path / "model")
    loaded = ck.load_model(path)
    assert feature_set_state(loaded.feature_set_) == feature_set_state(result.model.feature_set_)
    a = ck.score(cfg, result.model, tables=tables).scores
    b = ck.score(cfg, loaded, tables=tables).scores
    pd.testing.assert_frame_equal(a, b, check_exact=True)
