"""Backtests: folds never see the test period; baselines on the same folds; JSON shape."""

import json

import numpy as np
import pandas as pd
import pytest
from _evaluate_data import END, event_config_dict

import churnkit as ck
from churnkit import ConfigError
from churnkit.config import config_from_dict
from churnkit.data import load_dataset
from churnkit.evaluate import backtest, plain_lightgbm, raw_columns
from churnkit.evaluate._baselines import fit_plain_lightgbm
from churnkit.labels import labels_from_config

pytestmark = pytest.mark.slow  # each test trains models: seconds each


@pytest.fixture(scope="module")
def event_result(event_tables):
    return backtest(config_from_dict(event_config_dict()), tables=event_tables)


def test_training_labels_end_by_each_test_cutoff(event_result):
    folds = event_result.folds
    assert folds["test_cutoff"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-10-01", "2024-11-01", "2024-12-01"]  # the newest cutoffs with a 60-day horizon
    horizon = pd.Timedelta(days=60)
    for row in folds.itertuples():
        train = pd.to_datetime(row.train_cutoffs)
        assert (train + horizon <= row.test_cutoff).all()
        assert row.last_label_end <= row.test_cutoff
        # the cutoff one month before overlaps the test period and is left out
        assert row.test_cutoff - pd.DateOffset(months=1) not in set(train)
        assert train.max() == row.test_cutoff - pd.DateOffset(months=2)
        # early stopping and calibration on the newest training cutoffs
        assert row.validation_cutoffs == row.train_cutoffs[-2:]
    assert folds["n_train"].is_monotonic_increasing


def test_each_fold_model_purges_cutoffs_whose_horizon_reaches_its_validation(
        event_tables, event_result):
    """The backtest trains like ``churnkit train``: the same purge inside each fold."""
    cfg = config_from_dict(event_config_dict())
    labels = labels_from_config(load_dataset(cfg, event_tables), cfg.labels)
    last = event_result.folds.iloc[-1]
    train_cuts = pd.to_datetime(last.train_cutoffs)
    first_valid = pd.Timestamp(last.validation_cutoffs[0])
    horizon = pd.Timedelta(days=cfg.labels.horizon_days)
    kept = [c for c in train_cuts if c + horizon <= first_valid]
    assert 0 < len(kept) < len(train_cuts) - cfg.labels.validation_cutoffs  # one is purged
    expected = int(labels["cutoff"].isin(kept).sum())
    assert event_result.last_model.metrics_["n_train"] == expected


def test_train_purges_as_the_backtest_does(event_tables):
    """``churnkit train`` and each backtest fold drop the same cutoffs: those whose
    60-day horizon reaches the first validation cutoff."""
    cfg = config_from_dict(event_config_dict())
    labels = labels_from_config(load_dataset(cfg, event_tables), cfg.labels)
    cuts = pd.DatetimeIndex(sorted(labels["cutoff"].unique()))
    first_valid = cuts[-cfg.labels.validation_cutoffs]
    kept = [c for c in cuts[:-cfg.labels.validation_cutoffs]
            if c + pd.Timedelta(days=cfg.labels.horizon_days) <= first_valid]
    assert len(kept) == len(cuts) - cfg.labels.validation_cutoffs - 1  # one cutoff purged
    model = ck.train(cfg, tables=event_tables).model
    assert model.metrics_["n_train"] == int(labels["cutoff"].isin(kept).sum())


def _poison(tables, at):
    """Rewrite everything dated at or after ``at``: events shuffled, end dates moved."""
    rng = np.random.default_rng(1)
    out = {}
    for name, col in (("logins", "day"), ("tickets", "opened")):
        ev = tables[name]
        late = ev[col] >= at
        future = ev[late].copy()
        span = (END - at).days
        future[col] = at + pd.to_timedelta(rng.integers(0, span, len(future)), "D")
        extra = future.sample(frac=1.0, random_state=2)  # and as many made-up events again
        extra[col] = at + pd.to_timedelta(rng.integers(0, span, len(extra)), "D")
        if name == "tickets":
            extra["topic"] = "complaint"
        out[name] = pd.concat([ev[~late], future, extra], ignore_index=True)
    cust = tables["customers"].copy()
    ended = pd.to_datetime(cust["ended"])
    late = ended >= at
    stays = cust["customer"].isin(cust.loc[late, "customer"].iloc[::2])
    cust.loc[late & stays, "ended"] = None  # half the late churners now never leave
    fresh = ~late & ended.isna()
    moved = at + pd.to_timedelta(rng.integers(0, 400, fresh.sum()), "D")
    cust.loc[fresh, "ended"] = moved.strftime("%Y-%m-%d")  # the others leave after all
    out["customers"] = cust
    return out


@pytest.mark.slow  # two backtests
def test_poisoning_data_at_or_after_a_test_cutoff_leaves_its_predictions_unchanged(
    event_tables, event_result
):
    at = event_result.folds["test_cutoff"].iloc[0]
    poisoned = backtest(config_from_dict(event_config_dict()), tables=_poison(event_tables, at))
    before = event_result.predictions
    after = poisoned.predictions
    first = before["fold"] == 1
    # the test labels did change ...
    assert (before.loc[first, "label"].to_numpy() != after.loc[after["fold"] == 1, "label"]
            .to_numpy()).sum() > 20
    # ... but not one prediction of the first fold
    for col in ("customer_id", "cutoff", "model", "rule", "logistic", "lightgbm"):
        pd.testing.assert_series_equal(
            before.loc[first, col].reset_index(drop=True),
            after.loc[after["fold"] == 1, col].reset_index(drop=True),
        )
    # later folds train on the poisoned period, so they do change (the poison is real)
    both = before[before["fold"] == 3].merge(after[after["fold"] == 3],
                                              on=["customer_id", "cutoff"])
    assert len(both) > 100
    assert not np.allclose(both["model_x"], both["model_y"])


def test_baselines_are_scored_on_the_same_rows(event_result):
    pred = event_result.predictions
    assert list(pred.columns) == ["customer_id", "cutoff", "fold", "label", "value", "model",
                                  "rule", "logistic", "lightgbm"]
    assert pred.groupby("fold")["cutoff"].nunique().eq(1).all()
    assert not pred.duplicated(["customer_id", "cutoff"]).any()
    for col in ("model", "rule", "logistic", "lightgbm"):
        assert pred[col].between(0, 1).all()
    m = event_result.metrics
    # the planted signal (fading logins, complaints) is learnable; recency alone is weaker
    assert m["roc_auc"] > 0.8
    assert m["roc_auc"] > m["baseline"]["rule"]["roc_auc"]
    assert set(event_result.rules) == {"days since the last activity (logins)"}
    assert m["improvement"]["rule"]["roc_auc"] == pytest.approx(
        m["roc_auc"] - m["baseline"]["rule"]["roc_auc"])
    assert (pred["value"] == pred["value"].round()).all()  # mrr x 12 months


def test_json_has_exactly_the_documented_keys(event_result):
    data = json.loads(event_result.to_json())
    required = {"roc_auc", "pr_auc", "log_loss", "brier", "top_decile_lift", "baseline", "n",
                "positive_rate"}
    assert required <= set(data)
    assert set(data["baseline"]) == {"rule", "logistic", "lightgbm"}
    model_keys = {k for k, v in data.items() if k not in {"baseline", "improvement", "n",
                  "positive_rate", "folds"} and not k.endswith(("_fold_mean", "_fold_std"))}
    for scorer in data["baseline"].values():
        assert {"roc_auc", "pr_auc", "log_loss", "brier", "top_decile_lift"} <= set(scorer)
        assert model_keys <= set(scorer) | {"n", "positive_rate"}, model_keys - set(scorer)
    assert data["baseline"]["lightgbm"]["roc_auc"] > 0.6  # a real model, not a placeholder
    assert set(data["improvement"]) == {"rule", "logistic", "lightgbm"}
    assert data["n"] == len(event_result.predictions)
    assert data["positive_rate"] == pytest.approx(event_result.predictions["label"].mean())
    assert list(data)[:5] == ["roc_auc", "pr_auc", "log_loss", "brier", "top_decile_lift"]


def test_snapshot_cross_validation_predicts_every_row_once(snapshot_frame, snapshot_config_dict):
    cfg = config_from_dict(snapshot_config_dict)
    result = backtest(cfg, tables={"snapshot": snapshot_frame}, n_folds=4)
    pred = result.predictions
    assert len(pred) == len(snapshot_frame)
    assert sorted(pred["customer_id"]) == sorted(snapshot_frame["id"])
    assert pred["fold"].value_counts().sort_index().tolist() == [150] * 4
    # stratified: every fold has the overall churn rate within one customer
    rate = (snapshot_frame["churned"] == "Yes").mean()
    assert (result.folds["positive_rate"] - rate).abs().max() <= 1 / 150
    assert result.mode == "snapshot"
    # the rule finds the planted contract effect on the training folds
    assert set(result.rules) == {"churn rate by static__contract (riskiest: monthly)"}
    assert result.metrics["roc_auc"] > 0.7
    np.testing.assert_allclose(pred["value"], snapshot_frame.set_index("id").loc[
        pred["customer_id"], "charges"].to_numpy() * 12)


def test_too_few_training_cutoffs_is_a_config_error(event_tables):
    raw = event_config_dict()
    raw["labels"]["cutoffs"] = {"start": "2024-06-01", "every": "MS"}
    # cutoffs 2024-06-01 .. 2024-12-01; at 2024-09-01 only June and July have ended horizons
    with pytest.raises(ConfigError, match=r"test cutoff 2024-09-01: only 2 earlier cutoff\(s\)"):
        backtest(config_from_dict(raw), tables=event_tables, n_folds=4)
    with pytest.raises(ConfigError, match="only 7 cutoffs"):
        backtest(config_from_dict(raw), tables=event_tables, n_folds=8)


def _snapshot_result(snapshot_frame, snapshot_config_dict):
    cfg = config_from_dict(snapshot_config_dict)
    return backtest(cfg, tables={"snapshot": snapshot_frame}, n_folds=3)


def test_plain_lightgbm_is_fitted_on_each_folds_training_rows_of_the_raw_columns(
        snapshot_frame, snapshot_config_dict):
    """Refitting the fixed-settings LGBMClassifier on a fold's training rows of the raw table
    reproduces the backtest's predictions of that fold exactly: same folds, same columns."""
    result = _snapshot_result(snapshot_frame, snapshot_config_dict)
    pred = result.predictions
    raw = raw_columns(snapshot_frame, drop=["id", "churned"])
    assert list(raw.columns) == ["contract", "tenure", "charges"]
    y = (snapshot_frame["churned"] == "Yes").to_numpy()
    for fold in (1, 3):
        part = pred[pred["fold"] == fold]
        test = snapshot_frame["id"].isin(part["customer_id"]).to_numpy()
        model = plain_lightgbm(random_state=0, n_jobs=1).fit(raw[~test], y[~test])
        expected = pd.Series(model.predict_proba(raw[test])[:, 1],
                             index=snapshot_frame.loc[test, "id"])
        np.testing.assert_allclose(part["lightgbm"].to_numpy(),
                                   expected.loc[part["customer_id"]].to_numpy(), rtol=1e-12)
    assert result.folds["lightgbm_roc_auc"].notna().all()


def test_plain_lightgbm_takes_categorical_levels_from_the_training_rows_only():
    """A level seen only in the test rows is missing to the model: it cannot have been
    given a split, whatever the test rows' labels are."""
    rng = np.random.default_rng(0)
    n = 400
    X = pd.DataFrame({"plan": pd.Categorical(rng.choice(["a", "b", "c"], n)),
                      "x": rng.normal(size=n)})
    y = (X["plan"] == "a").to_numpy() ^ (rng.random(n) < 0.1)
    test = X.iloc[:50].copy()
    test["plan"] = pd.Categorical(["new"] * 25 + ["a"] * 25)
    as_missing = test.copy()
    as_missing["plan"] = pd.Categorical([None] * 25 + ["a"] * 25)
    _, p_new = fit_plain_lightgbm(X, y, test, random_state=0, n_jobs=1)
    _, p_missing = fit_plain_lightgbm(X, y, as_missing, random_state=0, n_jobs=1)
    np.testing.assert_array_equal(p_new, p_missing)
    # categories of the test frame (here with an extra level) do not change the fit
    assert p_new[25:].mean() > p_new[:25].mean()


def test_a_fold_whose_validation_purge_leaves_nothing_trains_on_older_cutoffs_without_leakage(
        event_tables):
    """A 120-day horizon and one test cutoff: only 05-01 .. 07-01 end their horizon by the test
    cutoff 2024-11-01, and none ends by the validation cutoff 07-01. The fold trains on
    05-01 and 06-01 (labels overlap validation, not the test) instead of being refused, and
    rewriting everything at or after the test cutoff changes none of its predictions."""
    raw = event_config_dict()
    raw["labels"].update(horizon_days=120, validation_cutoffs=1,
                         cutoffs={"start": "2024-05-01", "every": "MS"})
    cfg = config_from_dict(raw)
    result = backtest(cfg, tables=event_tables, n_folds=1)
    fold = result.folds.iloc[0]
    assert str(fold.test_cutoff.date()) == "2024-11-01"
    assert fold.train_cutoffs == ["2024-05-01", "2024-06-01", "2024-07-01"]
    assert fold.validation_cutoffs == ["2024-07-01"]
    assert not fold.inner_purge
    assert fold.last_label_end <= fold.test_cutoff
    labels = labels_from_config(load_dataset(cfg, event_tables), cfg.labels)
    older = labels["cutoff"].isin(pd.to_datetime(["2024-05-01", "2024-06-01"]))
    assert result.last_model.metrics_["n_train"] == int(older.sum())
    poisoned = backtest(cfg, tables=_poison(event_tables, fold.test_cutoff), n_folds=1)
    assert (poisoned.predictions["label"] != result.predictions["label"]).sum() > 10
    for col in ("model", "rule", "logistic", "lightgbm"):
        np.testing.assert_array_equal(poisoned.predictions[col], result.predictions[col])
    # the default purge still applies where it leaves training cutoffs
    assert bool(backtest(config_from_dict(event_config_dict()), tables=event_tables,
                         n_folds=1).folds["inner_purge"].iloc[0])


def test_raw_columns_read_missing_markers_as_read_csv_does():
    """A numeric column written with ``NA`` for missing (Cell2Cell's, read as text) stays a
    number for the plain LightGBM, as ``pandas.read_csv`` would read it."""
    frame = pd.DataFrame({"minutes": ["12.5", "NA", "7", ""], "plan": ["a", "b", "NA", "a"]})
    raw = raw_columns(frame)
    assert raw["minutes"].dtype == "float64"
    assert raw["minutes"].isna().tolist() == [False, True, False, True]
    assert raw["plan"].isna().tolist() == [False, False, True, False]
