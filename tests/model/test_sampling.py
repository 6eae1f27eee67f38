"""Training rows beyond the budget: all churners kept, non-churners weighted, validation whole."""

import numpy as np
import pandas as pd
import pytest

import churnkit as ck
from churnkit._core import builtin_config
from churnkit.config import config_from_dict
from churnkit.model import ChurnModel, non_churner_rate, sample_training_rows


def _labels(n_customers=2000, n_cutoffs=6, rate=0.06, seed=0):
    rng = np.random.default_rng(seed)
    cut = pd.date_range("2024-01-01", periods=n_cutoffs, freq="MS")
    return pd.DataFrame({
        "customer_id": np.tile(np.arange(n_customers), n_cutoffs),
        "cutoff": np.repeat(cut, n_customers),
        "label": rng.random(n_customers * n_cutoffs) < rate,
    })


def test_every_churner_and_every_validation_row_is_kept():
    labels = _labels()
    rows, info = sample_training_rows(labels, max_rows=3000, validation_cutoffs=2)
    assert info["sampled"]
    assert info["rows_used"] == len(rows) < len(labels)
    assert rows["label"].sum() == labels["label"].sum()
    valid = labels["cutoff"] >= labels["cutoff"].unique()[-2]
    assert rows.index[rows["cutoff"] >= labels["cutoff"].unique()[-2]].equals(labels.index[valid])
    assert (rows.loc[rows["cutoff"] >= labels["cutoff"].unique()[-2], "weight"] == 1).all()
    assert info["training_rows_used"] <= 3000 + 4  # rounding per cutoff
    assert rows.index.is_monotonic_increasing  # original order kept


def test_weights_restore_each_cutoffs_rows_and_churn_rate():
    labels = _labels()
    rows, _ = sample_training_rows(labels, max_rows=2500, validation_cutoffs=2)
    full = labels.groupby("cutoff")["label"].agg(["size", "mean"])
    weighted = rows.assign(churned=rows["weight"] * rows["label"])
    w = weighted.groupby("cutoff")[["weight", "churned"]].sum()
    w = pd.DataFrame({"size": w["weight"], "mean": w["churned"] / w["weight"]})
    np.testing.assert_allclose(w["size"], full["size"], rtol=1e-9)
    np.testing.assert_allclose(w["mean"], full["mean"], rtol=1e-9)
    assert rows.loc[~rows["label"], "weight"].max() > 3  # non-churners were sampled


def test_the_refit_samples_the_validation_cutoffs_at_the_training_rate():
    labels = _labels()
    rows, info = sample_training_rows(labels, max_rows=2500, validation_cutoffs=2)
    last2 = rows["cutoff"] >= labels["cutoff"].unique()[-2]
    train_rows = rows[~last2]
    # training rows: the refit weighs them as the fit does
    np.testing.assert_array_equal(train_rows["refit_weight"], train_rows["weight"])
    valid = rows[last2]
    assert (valid["weight"] == 1).all()  # the fit validates on every row...
    kept = valid[valid["refit_weight"] > 0]
    assert valid["label"].sum() == kept["label"].sum()  # ...the refit keeps every churner
    share = (~kept["label"]).sum() / (~valid["label"]).sum()
    assert abs(share - info["non_churner_rate"]) < 0.01  # and the training rate of the rest
    # every cutoff weighs its rows and churn rate in the refit as in the full frame
    full = labels.groupby("cutoff")["label"].agg(["size", "sum"])
    w = rows.assign(churned=rows["refit_weight"] * rows["label"]).groupby("cutoff")
    np.testing.assert_allclose(w["refit_weight"].sum(), full["size"], rtol=1e-9)
    np.testing.assert_allclose(w["churned"].sum(), full["sum"], rtol=1e-9)


@pytest.mark.slow
def test_a_refit_leaves_out_the_rows_it_weighs_zero():
    X, labels = _stationary()
    rows, _ = sample_training_rows(labels, max_rows=6000, validation_cutoffs=2)
    Xs = X.loc[rows.index].reset_index(drop=True)
    y = rows["label"].to_numpy()
    fit = {"cutoffs": rows["cutoff"].reset_index(drop=True), "horizon_days": None,
           "sample_weight": rows["weight"]}
    params = {"calibration": "none", "tune": "off", "refit": True, "n_estimators": 100,
              "n_jobs": 1}
    sampled = ChurnModel(**params).fit(Xs, y, refit_weight=rows["refit_weight"], **fit)
    whole = ChurnModel(**params).fit(Xs, y, **fit)
    assert sampled.booster_.model_to_string() != whole.booster_.model_to_string()
    # the refit on the sampled rows keeps the base rate too
    observed = labels["label"].mean()
    assert abs(sampled.predict_proba(X)[:, 1].mean() - observed) < 0.15 * observed
    with pytest.raises(ck.SchemaError, match="refit_weight"):
        ChurnModel(**params).fit(Xs, y, refit_weight=np.zeros(len(y)), **fit)


def test_churners_beyond_half_the_budget_are_sampled_too_and_weighted():
    labels = _labels(rate=0.3)  # 3,600 churners at the 4 training cutoffs
    rows, info = sample_training_rows(labels, max_rows=2000, validation_cutoffs=2)
    training = rows["cutoff"] < labels["cutoff"].unique()[-2]
    assert abs(info["training_rows_used"] - 2000) <= 8  # rounding per cutoff and class
    assert info["churner_rate"] < 1
    assert abs(rows.loc[training, "label"].sum() - 1000) <= 4  # each class fills half
    assert info["churners_kept"] == int(rows.loc[training, "label"].sum())
    # weights restore every cutoff's rows and churners, the validation ones whole
    full = labels.groupby("cutoff")["label"].agg(["size", "sum"])
    w = rows.assign(churned=rows["weight"] * rows["label"]).groupby("cutoff")
    np.testing.assert_allclose(w["weight"].sum(), full["size"], rtol=1e-9)
    np.testing.assert_allclose(w["churned"].sum(), full["sum"], rtol=1e-9)
    assert (rows.loc[~training, "weight"] == 1).all()
    assert int((~training).sum()) == int((labels["cutoff"] >= labels["cutoff"].unique()[-2]).sum())


def test_sample_is_deterministic_and_depends_on_the_seed():
    labels = _labels()
    a, _ = sample_training_rows(labels, max_rows=3000, validation_cutoffs=2, random_state=7)
    b, _ = sample_training_rows(labels, max_rows=3000, validation_cutoffs=2, random_state=7)
    c, _ = sample_training_rows(labels, max_rows=3000, validation_cutoffs=2, random_state=8)
    assert a.equals(b)
    assert not a.index.equals(c.index)


def test_within_budget_nothing_changes():
    labels = _labels(n_customers=200)
    rows, info = sample_training_rows(labels, max_rows=10_000, validation_cutoffs=2)
    assert rows is labels
    assert not info["sampled"]
    assert "weight" not in rows
    assert non_churner_rate(100, 10, None) == 1.0


def test_sample_of_training_rows_ignores_the_validation_labels():
    """No leakage: which training rows are kept does not depend on validation labels."""
    labels = _labels()
    flipped = labels.copy()
    last = flipped["cutoff"] >= flipped["cutoff"].unique()[-2]
    flipped.loc[last, "label"] = ~flipped.loc[last, "label"]
    a, _ = sample_training_rows(labels, max_rows=3000, validation_cutoffs=2)
    b, _ = sample_training_rows(flipped, max_rows=3000, validation_cutoffs=2)
    older = a["cutoff"] < labels["cutoff"].unique()[-2]
    assert a.index[older].equals(b.index[b["cutoff"] < labels["cutoff"].unique()[-2]])


def _stationary(n=8000, n_cutoffs=6, seed=0):
    """Rows whose churn probability depends on two features the same way at every cutoff."""
    rng = np.random.default_rng(seed)
    labels = _labels(n_customers=n, n_cutoffs=n_cutoffs, rate=0, seed=seed)
    X = pd.DataFrame(rng.normal(size=(len(labels), 3)).astype(np.float32), columns=["a", "b", "c"])
    logit = -3.6 + 1.0 * X["a"] - 0.7 * X["b"]
    labels["label"] = rng.random(len(labels)) < 1 / (1 + np.exp(-logit))
    return X, labels


@pytest.mark.slow
def test_weighted_sample_keeps_raw_probabilities_on_the_base_rate():
    X, labels = _stationary()
    rows, info = sample_training_rows(labels, max_rows=6000, validation_cutoffs=2)
    assert info["non_churner_rate"] < 0.2
    params = {"calibration": "none", "tune": "off", "refit": False, "n_estimators": 300, "n_jobs": 1}
    kwargs = {"cutoffs": rows["cutoff"].reset_index(drop=True), "horizon_days": None}
    Xs = X.loc[rows.index].reset_index(drop=True)
    y = rows["label"].to_numpy()
    weighted = ChurnModel(**params).fit(Xs, y, sample_weight=rows["weight"], **kwargs)
    unweighted = ChurnModel(**params).fit(Xs, y, **kwargs)
    valid = (labels["cutoff"] >= labels["cutoff"].unique()[-2]).to_numpy()  # unsampled
    observed = labels["label"].to_numpy()[valid].mean()
    p_w = weighted.predict_proba(X[valid])[:, 1].mean()
    p_u = unweighted.predict_proba(X[valid])[:, 1].mean()
    assert abs(p_w - observed) < 0.15 * observed, (p_w, observed)
    assert p_u > 2 * observed  # without the weights the sample's churn rate shows through


@pytest.mark.slow
def test_train_job_samples_and_reports_the_rows_it_used(tmp_path):
    base = ck.load_config(builtin_config("default.yaml")).model_dump(mode="json",
                                                                   exclude={"base_dir"})
    base["model"].update(max_training_rows=4000, tune="off")
    config = config_from_dict(base)
    crm = ck.datasets.make_crm(1500, random_state=0)
    result = ck.train(config, tables=crm.tables)
    sampling = result.summary["sampling"]
    labels = result.labels
    assert sampling["sampled"]
    assert sampling["rows_available"] == len(labels)
    assert sampling["churners_kept"] == int(
        labels.loc[labels["cutoff"] < labels["cutoff"].unique()[-2], "label"].sum())
    assert result.summary["rows_used"] == sampling["rows_used"] < len(labels)
    n_valid = int((labels["cutoff"] >= labels["cutoff"].unique()[-2]).sum())
    assert result.model.metrics_["n"] == n_valid  # validation rows all kept
    folder = result.write(tmp_path / "m")
    manifest = ck.load_model(folder).manifest_
    assert manifest["training"]["sampling"]["rows_used"] == sampling["rows_used"]


def test_partitions_sampled_at_the_whole_frames_rate_keep_its_totals():
    """The Dask engine samples each partition at one rate worked out over all of them."""
    labels = _labels(n_customers=3000)
    cut = labels["cutoff"].unique()
    older = labels["cutoff"] < cut[-2]
    rate = non_churner_rate(int(older.sum()), int(labels.loc[older, "label"].sum()), 4000)
    parts = [labels[labels["customer_id"] % 3 == k] for k in range(3)]
    sampled = [sample_training_rows(p, max_rows=None, validation_cutoffs=0, random_state=k,
                                    rate=rate, first_validation=cut[-2])[0]
               for k, p in enumerate(parts)]
    rows = pd.concat(sampled)
    assert rows["label"].sum() == labels["label"].sum()
    assert (rows.loc[rows["cutoff"] >= cut[-2], "weight"] == 1).all()
    assert (rows["cutoff"] >= cut[-2]).sum() == (labels["cutoff"] >= cut[-2]).sum()
    np.testing.assert_allclose(rows.groupby("cutoff")["weight"].sum(),
                               labels.groupby("cutoff").size(), rtol=1e-9)
    assert int(older.sum()) > rows.loc[rows["cutoff"] < cut[-2]].shape[0] >= 3900
