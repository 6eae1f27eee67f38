"""The capacity search: inside the training rows only, recorded, never capped while improving."""

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from _evaluate_data import event_config_dict
from test_backtest import _poison

from churnkit import ConfigError
from churnkit.config import config_from_dict
from churnkit.evaluate import backtest
from churnkit.jobs import train
from churnkit.model._tune import CANDIDATES, lgb_params, train_until_stale

AUTO = {"tune": "auto", "tune_budget_seconds": 600, "refit": True}


@pytest.mark.slow  # two backtests with the search on
def test_search_sees_no_row_at_or_after_the_test_cutoff_and_ignores_their_contents(event_tables):
    """One fold at 2024-12-01: the search validates on an older cutoff than the model's own
    validation cutoff, and rewriting every event and end date from the test cutoff on
    leaves its choice, the trees and every prediction unchanged."""
    cfg = config_from_dict(event_config_dict(**AUTO))
    result = backtest(cfg, tables=event_tables, n_folds=1)
    fold = result.folds.iloc[0]
    tuning = result.last_model.tuning_
    assert tuning["tried"] == len(CANDIDATES)  # the whole list: the choice does not hang on time
    inner_valid = pd.Timestamp(tuning["inner_cutoffs"]["valid"])
    assert inner_valid < pd.Timestamp(fold.validation_cutoffs[0]) < fold.test_cutoff
    assert inner_valid + pd.Timedelta(days=60) <= fold.test_cutoff
    assert tuning["inner_train_rows"] + tuning["inner_valid_rows"] < fold.n_train
    assert fold.settings.startswith(f"num_leaves={tuning['final_num_leaves']} ")

    poisoned = backtest(cfg, tables=_poison(event_tables, fold.test_cutoff), n_folds=1)
    assert (poisoned.predictions["label"] != result.predictions["label"]).sum() > 10
    again = poisoned.last_model.tuning_
    drop = {"seconds"}
    assert {k: v for k, v in again.items() if k not in drop} == {
        k: v for k, v in tuning.items() if k not in drop}
    np.testing.assert_array_equal(poisoned.predictions["model"], result.predictions["model"])


def test_training_never_stops_at_the_tree_cap_while_validation_improves():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(3000, 4)), columns=list("abcd"))
    y = (X["a"] + X["b"] ** 2 + rng.normal(scale=0.5, size=3000) > 1).astype(int)
    params = lgb_params(CANDIDATES[0] | {"learning_rate": 0.01}, random_state=0, n_jobs=1)
    train_set = lgb.Dataset(X[:2000], y[:2000])
    valid_set = lgb.Dataset(X[2000:], y[2000:], reference=train_set)
    booster = train_until_stale(params, train_set, valid_set, rounds=20, patience=20)
    assert booster.best_iteration > 40  # a cap of 20 would have stopped a model still learning
    assert booster.best_iteration < 16_000  # ... and it stopped once validation went stale
    capped = lgb.train(params, train_set, num_boost_round=20, valid_sets=[valid_set],
                       callbacks=[lgb.early_stopping(20, verbose=False)])
    assert capped.best_iteration == 20  # what a plain cap of 20 trees gives


@pytest.mark.slow
def test_chosen_settings_and_search_time_reach_the_manifest_and_the_summary(event_tables,
                                                                            tmp_path):
    cfg = config_from_dict(event_config_dict(**{**AUTO, "tune_budget_seconds": 2}))
    trained = train(cfg, tables=event_tables)
    tuning = trained.summary["tuning"]
    assert tuning["tune"] == "auto"
    assert tuning["seconds"] > 0
    assert tuning["settings"] in [dict(c) for c in CANDIDATES]
    assert tuning["trees"] == trained.model.booster_.num_trees()
    trained.write(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["training"]["tuning"]["final_num_leaves"] == tuning["final_num_leaves"]


@pytest.mark.parametrize(("value", "expected"), [("off", "off"), (False, "off"),
                                                 ("auto", "auto")])
def test_tune_setting_accepts_yaml_off(value, expected):
    raw = event_config_dict()
    raw["model"]["tune"] = value
    assert config_from_dict(raw).model.tune == expected


def test_bad_tune_settings_are_config_errors():
    raw = event_config_dict()
    raw["model"]["tune"] = "grid"
    with pytest.raises(ConfigError, match=r"model\.tune: input should be 'auto' or 'off'"):
        config_from_dict(raw)
    raw["model"].update(tune="auto", tune_budget_seconds=0)
    with pytest.raises(ConfigError, match=r"model\.tune_budget_seconds"):
        config_from_dict(raw)
