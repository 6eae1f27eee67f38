import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import churnkit as ck
from churnkit import ChurnModel, ModelError, SchemaError
from churnkit.config import config_from_dict
from churnkit.model import load_manifest

pytestmark = pytest.mark.slow  # trains on the public IBM Telco dataset


def _redigest(path, manifest):
    """Rewrite a manifest with the digest of its new content, as a careful forger would."""
    import hashlib

    body = {k: v for k, v in manifest.items() if k not in ("digest", "signature")}
    content = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    manifest["digest"] = "sha256:" + hashlib.sha256(content).hexdigest()
    path.write_text(json.dumps(manifest))


PUBLIC_CONFIGS = Path(__file__).resolve().parents[2] / "benchmarks" / "configs"


def _config(name, **model):
    path = PUBLIC_CONFIGS / name
    raw = yaml.safe_load(path.read_text())
    raw.setdefault("model", {}).update(model)
    return config_from_dict(raw, base_dir=path.parent, source=str(path))


@pytest.fixture(scope="module")
def telco():
    if not (PUBLIC_CONFIGS / "../../../shared/data/ibm_telco").exists():
        pytest.skip("public datasets folder is absent")
    cfg = _config("telco.yaml")
    return cfg, ck.train(cfg)


def test_snapshot_pipeline_on_ibm_telco(telco):
    cfg, result = telco
    m = result.model.metrics_
    assert m["roc_auc"] > 0.82, m  # published figures are about 0.84-0.85
    scored = ck.score(cfg, result.model)
    scores = scored.scores
    raw = pd.read_csv(cfg.resolve(cfg.data.snapshot.path))
    # customers who already churned are not scored; they are in the rejects
    assert len(scores) == (raw["Churn"] == "No").sum() == 7043 - scored.summary["not_active"]
    gone = scored.rejects[scored.rejects["reason"].str.contains("already churned")]
    assert set(gone["customer_id"]) == set(raw.loc[raw["Churn"] == "Yes", "customerID"])
    assert scores["customer_id"].is_unique
    assert scores["churn_probability"].between(0, 1).all()
    assert set(scores["risk_band"]) <= {"high", "medium", "low"}


def test_save_load_round_trip_gives_identical_scores(telco, tmp_path):
    cfg, result = telco
    ck.save_model(result.model, tmp_path / "m", config=result.model.config_)
    loaded = ck.load_model(tmp_path / "m")
    a = ck.score(cfg, result.model).scores
    b = ck.score(cfg, loaded).scores
    pd.testing.assert_frame_equal(a, b)
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert set(manifest["files"]) == {"model.txt", "model.json", "features.json", "reasons.json",
                                      "training_profile.json"}
    assert manifest["versions"]["churnkit"] == ck.__version__
    assert manifest["features"] == list(result.model.feature_names_in_)
    assert manifest["metrics"]["roc_auc"] == pytest.approx(result.model.metrics_["roc_auc"])
    # the native text model predicts the same raw scores
    import lightgbm as lgb

    X = result.model.feature_set_.transform(ck.load_dataset(cfg), ck.labels.labels_from_config(
        ck.load_dataset(cfg), cfg.labels)[["customer_id", "cutoff"]])
    native = lgb.Booster(model_file=str(tmp_path / "m" / "model.txt"))
    np.testing.assert_allclose(native.predict(X), result.model._raw_proba(X), rtol=1e-12)


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_tampered_artifact_is_refused(telco, tmp_path, damage):
    _, result = telco
    path = ck.save_model(result.model, tmp_path / "m")
    target = path / "model.txt"
    data = target.read_bytes()
    if damage == "flip":
        target.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    elif damage == "truncate":
        target.write_bytes(data[: len(data) // 2])
    else:
        target.unlink()
    with pytest.raises(ModelError, match="integrity check|missing"):
        ck.load_model(path)


def test_incompatible_version_is_refused(telco, tmp_path):
    _, result = telco
    path = ck.save_model(result.model, tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["versions"]["lightgbm"] = "1.0.0"
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="digest does not match"):
        load_manifest(path)
    _redigest(path / "manifest.json", manifest)
    with pytest.raises(ModelError, match="saved with LightGBM 1.0.0"):
        load_manifest(path)
    with pytest.raises(ModelError, match="manifest.json is missing"):
        ck.load_model(tmp_path)


def test_same_seed_same_scores(telco):
    cfg, result = telco
    again = ck.train(cfg)
    pd.testing.assert_frame_equal(ck.score(cfg, result.model).scores,
                                  ck.score(cfg, again.model).scores)
    assert again.model.version_ == result.model.version_


def test_explain_contributions_sum_to_the_raw_score(telco):
    cfg, result = telco
    ds = ck.load_dataset(cfg)
    spine = ck.labels.labels_from_config(ds, cfg.labels)[["customer_id", "cutoff"]].head(200)
    X = result.model.feature_set_.transform(ds, spine)
    contrib = result.model.explain(X)
    raw = result.model.booster_.predict(X, raw_score=True)
    np.testing.assert_allclose(contrib.sum(axis=1), raw, atol=1e-9)
    assert contrib.columns[-1] == "(expected)"


def test_probabilities_from_the_contributions_equal_predict_proba(telco):
    cfg, result = telco
    ds = ck.load_dataset(cfg)
    spine = ck.labels.labels_from_config(ds, cfg.labels)[["customer_id", "cutoff"]]
    X = result.model.feature_set_.transform(ds, spine)
    contrib, p = result.model.explain_proba(X)
    pd.testing.assert_frame_equal(contrib, result.model.explain(X))
    np.testing.assert_allclose(p, result.model.predict_proba(X)[:, 1], rtol=0, atol=1e-12)
    assert result.model.calibrator_ is not None  # calibration applied on both paths


def test_single_class_training_is_a_clear_error():
    X = pd.DataFrame({"a": np.arange(50.0)})
    with pytest.raises(ModelError, match="contain no churners"):
        ChurnModel().fit(X, np.zeros(50, bool))
    with pytest.raises(ModelError, match="no non-churners"):
        ChurnModel().fit(X, np.ones(50, bool))
    with pytest.raises(SchemaError, match="X has 50 rows but y has 3"):
        ChurnModel().fit(X, [True, False, True])


def test_out_of_time_split_uses_newest_cutoffs_for_validation(rng):
    n = 600
    cut = pd.Series(pd.to_datetime(rng.choice(["2024-01-01", "2024-02-01", "2024-03-01"], n)))
    X = pd.DataFrame({"x": rng.normal(size=n)})
    y = (X["x"] + rng.normal(size=n) > 0.5).to_numpy()
    model = ChurnModel(n_estimators=20, validation_cutoffs=1, min_child_samples=5)
    tr, va = model._split(y, cut)
    assert (cut.iloc[va] == pd.Timestamp("2024-03-01")).all()
    assert (cut.iloc[tr] < pd.Timestamp("2024-03-01")).all()
    model.fit(X, y, cutoffs=cut)
    assert model.metrics_["n"] == len(va)
    with pytest.raises(ModelError, match="needs more than validation_cutoffs=3"):
        ChurnModel(validation_cutoffs=3).fit(X, y, cutoffs=cut)


def test_missing_feature_at_scoring_is_named(telco):
    _, result = telco
    with pytest.raises(SchemaError, match="missing, e.g."):
        result.model.predict_proba(pd.DataFrame({"nope": [1.0]}))


def test_fast_explainer_equals_lightgbm_pred_contrib(telco):
    cfg, result = telco
    ds = ck.load_dataset(cfg)
    spine = ck.labels.labels_from_config(ds, cfg.labels)[["customer_id", "cutoff"]].head(500)
    X = result.model.feature_set_.transform(ds, spine)
    fast = result.model.explain(X)
    slow = result.model.explain(X, method="lightgbm")
    np.testing.assert_allclose(fast.to_numpy(), slow.to_numpy(), atol=1e-9)
    with pytest.raises(ValueError, match="'method' parameter of ChurnModel.explain"):
        result.model.explain(X, method="magic")


def test_the_final_fit_grows_in_smaller_steps_at_the_final_learning_rate():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(3000, 4)), columns=list("abcd"))
    y = (X["a"] + X["b"] ** 2 + rng.normal(scale=0.5, size=3000) > 1).astype(int)
    fast = ChurnModel(learning_rate=0.1, n_jobs=1).fit(X, y)
    slow = ChurnModel(learning_rate=0.1, final_learning_rate=0.02, n_jobs=1).fit(X, y)
    assert "learning_rate: 0.1]" in fast.booster_.model_to_string()
    assert "learning_rate: 0.02]" in slow.booster_.model_to_string()
    assert slow.tuning_["final_learning_rate"] == 0.02
    # five times smaller steps: several times the trees, found by early stopping, not a cap
    assert slow.booster_.num_trees() > 3 * fast.booster_.num_trees()
    assert slow.booster_.num_trees() < 5000
    # a final rate above the chosen one changes nothing
    same = ChurnModel(learning_rate=0.1, final_learning_rate=0.5, n_jobs=1).fit(X, y)
    assert same.booster_.model_to_string() == fast.booster_.model_to_string()
    with pytest.raises(ValueError, match="final_learning_rate"):
        ChurnModel(final_learning_rate=0.0).fit(X, y)


def test_the_final_rate_slows_only_as_far_as_its_budget_allows():
    from churnkit.model import final_rate

    shape = {"trees": 300, "patience": 50, "features": 100, "sampled": 0.64, "budget_seconds": 20}
    rates = [final_rate(0.05, 0.02, train_rows=n, all_rows=int(1.3 * n), **shape)
             for n in (1_000, 5_000, 10_000, 100_000, 1_000_000)]
    assert rates[0] == 0.02
    assert rates[-1] == 0.05
    assert rates == sorted(rates)
    assert 0.02 < rates[2] < 0.05
    # a refit counts too, and a budget twice as large allows a slower rate
    assert final_rate(0.05, 0.02, train_rows=10_000, all_rows=0, **shape) < rates[2]
    assert final_rate(0.05, 0.02, train_rows=10_000, all_rows=13_000,
                      **{**shape, "budget_seconds": 40}) < rates[2]
    # a final rate above the chosen one is never used
    assert final_rate(0.05, 0.1, train_rows=1_000, all_rows=0, **shape) == 0.05

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(3000, 4)), columns=list("abcd"))
    y = (X["a"] + X["b"] ** 2 + rng.normal(scale=0.5, size=3000) > 1).astype(int)
    tight = ChurnModel(learning_rate=0.1, final_learning_rate=0.02, final_budget_seconds=1e-4,
                       n_jobs=1).fit(X, y)
    assert tight.tuning_["final_learning_rate"] == 0.1
    assert "learning_rate: 0.1]" in tight.booster_.model_to_string()


def test_sample_weights_change_the_model():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(500, 3)), columns=list("abc"))
    y = rng.uniform(size=500) < 0.3
    # a fit weighting the churners ten times predicts more churn
    w = np.where(y, 10.0, 1.0)
    plain = ChurnModel(n_estimators=50, calibration="none", n_jobs=1).fit(X, y)
    heavy = ChurnModel(n_estimators=50, calibration="none", n_jobs=1).fit(X, y, sample_weight=w)
    assert heavy.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean() + 0.1
