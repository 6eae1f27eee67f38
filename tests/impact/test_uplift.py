"""Uplift metrics and the uplift model on synthetic experiments with known effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnkit.exceptions import ConfigError, SchemaError
from churnkit.impact import UpliftModel, auuc, qini_coefficient, qini_curve, uplift_at_k


def _experiment(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.random(n), "b": rng.random(n), "noise": rng.random(n)})
    t = (rng.random(n) < 0.6).astype(int)
    effect = np.where(X["a"] > 0.5, 0.15, np.where(X["a"] < 0.2, -0.12, 0.0))  # churn reduction
    p = 0.2 + 0.1 * X["b"] - t * effect
    y = (rng.random(n) < p).astype(int)
    return X, t, y, effect


def test_qini_curve_counts_incremental_stayers():
    # top 2: a treated stayer, a control leaver -> 1 saved; a control stayer halves the
    # control rate (1 - 0.5), a treated leaver doubles the treated count (1 - 1)
    assert qini_curve([1, 0, 1, 0], [1, 0, 0, 1], [4, 3, 2, 1]).tolist() == [0, 1, 1, 0.5, 0]


def test_metrics_prefer_the_true_effect_to_a_random_or_reversed_order():
    X, t, y, effect = _experiment(20000)
    saved = 1 - y
    rng = np.random.default_rng(1)
    best = qini_coefficient(saved, t, effect)
    assert best > 0.01
    assert abs(qini_coefficient(saved, t, rng.random(len(t)))) < best / 3
    assert qini_coefficient(saved, t, -effect) < 0
    assert auuc(saved, t, effect) > auuc(saved, t, -effect)
    assert uplift_at_k(saved, t, effect, 0.2) > 0.1 > uplift_at_k(saved, t, -effect, 0.2)


def test_uplift_at_k_needs_a_share():
    with pytest.raises(ValueError, match="'k' parameter of uplift_at_k"):
        uplift_at_k([1], [1], [1], k=0)


@pytest.mark.slow  # fits the T- and X-learner candidates and 3 bags
def test_model_recovers_who_is_helped_and_who_is_harmed():
    X, t, y, effect = _experiment(6000)
    model = UpliftModel(learner="auto", bags=3, max_features=None).fit(X, t, y)
    assert set(model.selection_) == {"t", "x"}
    assert model.learner_ in {"t", "x"}
    pred = model.predict(X)
    assert pred[effect > 0].mean() > 0.07
    assert pred[effect < 0].mean() < -0.03
    assert np.corrcoef(pred, effect)[0, 1] > 0.6
    bags = model.predict_bags(X)
    assert bags.shape == (3, len(X))


def test_max_features_keeps_what_the_churn_model_uses():
    X, t, y, _ = _experiment(3000)
    X = X.assign(**{f"junk{i}": 0.0 for i in range(5)})
    model = UpliftModel(learner="t", bags=2, max_features=3).fit(X, t, y)
    assert len(model.features_) <= 3
    assert not [f for f in model.features_ if f.startswith("junk")]


@pytest.mark.parametrize("learner", ["t", "x"])
def test_state_round_trip_predicts_the_same(learner):
    """to_state/from_state: JSON data and LightGBM text, the same predictions bag by bag."""
    import json

    X, t, y, _ = _experiment(2000)
    X = X.assign(plan=pd.Categorical(np.where(X["noise"] > 0.5, "call", "mail")))
    model = UpliftModel(learner=learner, bags=2, n_estimators=30, keep=("plan",)).fit(X, t, y)
    state, boosters = model.to_state()
    state = json.loads(json.dumps(state))  # plain JSON through and through
    assert set(boosters) == {f"bag{b}_{p}" for b in range(2)
                             for p in (("mu0", "mu1") if learner == "t"
                                       else ("mu0", "mu1", "tau0", "tau1"))}
    again = UpliftModel.from_state(state, boosters)
    assert again.get_params() == model.get_params()
    assert again.features_ == model.features_
    np.testing.assert_allclose(again.predict_bags(X), model.predict_bags(X), rtol=0, atol=1e-12)
    with pytest.raises(SchemaError, match="is not a LightGBM model"):
        UpliftModel.from_state(state, {**boosters, "bag0_mu0": "not a model"})


def test_bad_inputs_are_named():
    X, t, y, _ = _experiment(500)
    with pytest.raises(ConfigError, match="'learner' parameter of UpliftModel"):
        UpliftModel(learner="s").fit(X, t, y)
    with pytest.raises(SchemaError, match="control group has 0 customers"):
        UpliftModel().fit(X, np.ones(len(t)), y)
    model = UpliftModel(learner="t", bags=2).fit(X, t, y)
    with pytest.raises(SchemaError, match=r"lacks 1 feature\(s\).*\['noise'\]"):
        model.predict(X.drop(columns="noise"))
