"""Model folders are data: exact round trips, a manifest that covers every byte, signing,
no pickle without an explicit opt-in, and saves that never leave the path without a model."""

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from cli_runner import cli_runner

import churnkit as ck
from churnkit import ChurnModel, ModelError
from churnkit._core import builtin_config
from churnkit.cli import app
from churnkit.config import config_from_dict
from churnkit.features._state import feature_set_state
from churnkit.model import _artifacts, load_manifest
from churnkit.model._state import model_state

runner = cli_runner()
KEY = "CHURNKIT_MODEL_KEY"


def _tiny(seed=0, calibration="sigmoid"):
    """A small fitted model on synthetic data (numeric and categorical features)."""
    rng = np.random.default_rng(seed)
    n = 400
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "c": pd.Categorical(rng.choice(["x", "y", "z"], n))})
    y = (X["a"] + (X["c"] == "x") + rng.normal(size=n)) > 0.7
    model = ChurnModel(n_estimators=30, min_child_samples=20, calibration=calibration,
                       random_state=seed, n_jobs=1)
    return model.fit(X, y), X


def _manifest(path):
    return json.loads((path / "manifest.json").read_text())


def _rewrite(path, manifest, *, key=None):
    """Write a manifest with a correct digest (and signature), as a careful forger would."""
    body = {k: v for k, v in manifest.items() if k not in ("digest", "signature")}
    content = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    signature = manifest.get("signature")  # kept as it was unless a key is given
    manifest = {**body, "digest": "sha256:" + hashlib.sha256(content).hexdigest()}
    if signature is not None:
        manifest["signature"] = signature
    if key is not None:
        import hmac

        manifest["signature"] = "hmac-sha256:" + hmac.new(key.encode(), content,
                                                           hashlib.sha256).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))


def _rehash(path, name):
    manifest = _manifest(path)
    manifest["files"][name] = hashlib.sha256((path / name).read_bytes()).hexdigest()
    _rewrite(path, manifest)


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic", "none"])
def test_small_model_round_trip_is_exact(tmp_path, calibration):
    model, X = _tiny(calibration=calibration)
    path = ck.save_model(model, tmp_path / "m")
    assert sorted(p.name for p in path.iterdir()) == [
        "features.json", "manifest.json", "model.json", "model.txt"]
    loaded = ck.load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    pd.testing.assert_frame_equal(loaded.explain(X), model.explain(X), check_exact=True)
    assert model_state(loaded) == model_state(model)
    assert loaded.version_ == model.version_
    assert json.loads((path / "features.json").read_text()) is None  # fitted without a feature set
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o777 & ~umask  # not the owner-only temporary mode


def _text_config():
    path = builtin_config("default.yaml")
    raw = yaml.safe_load(path.read_text())
    for table in raw["data"]["events"].values():
        table["text"] = True  # contact notes and survey comments: TF-IDF + SVD features too
    return config_from_dict(raw, base_dir=path.parent, source=str(path))


@pytest.fixture(scope="module")
def crm_model(tmp_path_factory):
    cfg = _text_config()
    crm = ck.datasets.make_crm(600, random_state=0)
    result = ck.train(cfg, tables=crm.tables)
    path = result.write(tmp_path_factory.mktemp("crm") / "model")
    return cfg, crm, result, path


@pytest.mark.slow
def test_trained_model_reloads_with_identical_scores_and_reasons(crm_model):
    cfg, crm, result, path = crm_model
    names = sorted(p.name for p in path.iterdir())
    assert names == ["features.json", "manifest.json", "model.json", "model.txt", "reasons.json",
                     "training_profile.json"]
    for name in names:
        assert not (path / name).read_bytes().startswith(b"\x80")  # no pickle anywhere
    loaded = ck.load_model(path)
    fs = loaded.feature_set_
    assert fs.texts_
    assert all(s is not None for t in fs.texts_.values() for s in t.svds_.values())
    # every transformer's fitted state, the calibration and the reasons come back unchanged
    assert feature_set_state(fs) == feature_set_state(result.model.feature_set_)
    assert model_state(loaded) == model_state(result.model)
    assert loaded.reasons_ == result.model.reasons_
    assert loaded.config_ == result.model.config_
    assert loaded.training_ == result.model.training_
    a = ck.score(cfg, result.model, tables=crm.tables).scores
    b = ck.score(cfg, loaded, tables=crm.tables).scores
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert b["reason_1"].notna().any()
    ds = ck.load_dataset(cfg, crm.tables)
    spine = pd.DataFrame({"customer_id": ds.customers["customer_id"], "cutoff": ds.end})
    X = result.model.feature_set_.transform(ds, spine)
    pd.testing.assert_frame_equal(fs.transform(ds, spine), X, check_exact=True)
    pd.testing.assert_frame_equal(loaded.explain(X), result.model.explain(X), check_exact=True)


@pytest.mark.slow
def test_edited_feature_state_is_refused_naming_file_and_key(crm_model, tmp_path):
    _, _, _, path = crm_model
    copy = tmp_path / "m"
    shutil.copytree(path, copy)
    state = json.loads((copy / "features.json").read_text())
    state["events_"]["contacts"]["windows_"] = ["30"]
    (copy / "features.json").write_text(json.dumps(state))
    _rehash(copy, "features.json")
    with pytest.raises(ModelError, match=r"features\.json: events_\.contacts\.windows_: "
                                         r"expected a list of integers"):
        ck.load_model(copy)
    state["events_"]["contacts"]["windows_"] = [30, 90, 365]
    state["events_"]["contacts"]["categories_"]["topic"].append("extra")
    (copy / "features.json").write_text(json.dumps(state))
    _rehash(copy, "features.json")
    with pytest.raises(ModelError, match=r"feature_names_out_: the saved names do not follow"):
        ck.load_model(copy)


def test_unknown_key_in_model_state_is_refused(tmp_path):
    model, _ = _tiny()
    path = ck.save_model(model, tmp_path / "m")
    state = json.loads((path / "model.json").read_text())
    state["calibration"]["extra"] = 1
    (path / "model.json").write_text(json.dumps(state))
    _rehash(path, "model.json")
    with pytest.raises(ModelError, match=r"model\.json: calibration: unknown key\(s\) \['extra'\]"):
        ck.load_model(path)


# ----------------------------------------------------------------------------- the manifest
@pytest.mark.parametrize("name", ["model.txt", "model.json", "features.json"])
def test_a_changed_byte_in_any_file_is_refused(tmp_path, name):
    model, _ = _tiny()
    path = ck.save_model(model, tmp_path / "m")
    data = bytearray((path / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (path / name).write_bytes(bytes(data))
    with pytest.raises(ModelError, match=rf"{name} failed its integrity check"):
        ck.load_model(path)


def test_a_changed_manifest_is_refused(tmp_path):
    model, _ = _tiny()
    path = ck.save_model(model, tmp_path / "m")
    text = (path / "manifest.json").read_text()
    (path / "manifest.json").write_text(text.replace('"calibration": "sigmoid"',
                                                     '"calibration": "isotonic"'))
    with pytest.raises(ModelError, match=r"manifest\.json was modified: its digest"):
        ck.load_model(path)


def test_extra_and_missing_files_are_refused(tmp_path):
    model, _ = _tiny()
    path = ck.save_model(model, tmp_path / "m")
    (path / "notes.txt").write_text("hello")
    with pytest.raises(ModelError, match=r"notes\.txt, which manifest\.json does not list"):
        ck.load_model(path)
    (path / "notes.txt").unlink()
    # a file dropped from the manifest (with a correct digest) is an extra file too
    manifest = _manifest(path)
    del manifest["files"]["features.json"]
    _rewrite(path, manifest)
    with pytest.raises(ModelError, match=r"features\.json, which manifest\.json does not list"):
        ck.load_model(path)
    path = ck.save_model(model, tmp_path / "m2")
    (path / "model.json").unlink()
    with pytest.raises(ModelError, match=r"model\.json is missing \(it is listed in manifest"):
        ck.load_model(path)


def test_manifest_naming_files_outside_the_folder_is_refused(tmp_path):
    model, _ = _tiny()
    path = ck.save_model(model, tmp_path / "m")
    (tmp_path / "outside.txt").write_text("x")
    manifest = _manifest(path)
    manifest["files"]["../outside.txt"] = hashlib.sha256(b"x").hexdigest()
    _rewrite(path, manifest)
    with pytest.raises(ModelError, match=r"lists '\.\./outside\.txt', which is not a file"):
        ck.load_model(path)


def test_signed_models(tmp_path, monkeypatch):
    model, X = _tiny()
    monkeypatch.setenv(KEY, "s3cret")
    path = ck.save_model(model, tmp_path / "signed")
    assert _manifest(path)["signature"].startswith("hmac-sha256:")
    np.testing.assert_array_equal(ck.load_model(path).predict_proba(X), model.predict_proba(X))
    monkeypatch.setenv(KEY, "another")
    with pytest.raises(ModelError, match="signed with another key than CHURNKIT_MODEL_KEY"):
        ck.load_model(path)
    monkeypatch.delenv(KEY)
    ck.load_model(path)  # no key: the signature cannot be checked, the digest still is
    unsigned = ck.save_model(model, tmp_path / "unsigned")
    assert "signature" not in _manifest(unsigned)
    monkeypatch.setenv(KEY, "s3cret")
    with pytest.raises(ModelError, match="is not signed, and CHURNKIT_MODEL_KEY is set"):
        ck.load_model(unsigned)
    # an edit with a recomputed digest passes without a key, never with it
    manifest = _manifest(path)
    manifest["model_version"] = "forged"
    _rewrite(path, manifest)
    with pytest.raises(ModelError, match="signed with another key"):
        ck.load_model(path)
    _rewrite(path, manifest, key="guess")
    with pytest.raises(ModelError, match="signed with another key"):
        ck.load_model(path)


# ----------------------------------------------------------------------------- pickles
class _RunsCode:
    """Unpickling this writes a marker file: what a malicious model.joblib would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('code ran')",))


def _legacy_folder(path, payload):
    """A folder as churnkit wrote them before: model.joblib (a pickle), model.txt, manifest."""
    path.mkdir()
    joblib.dump(payload, path / "model.joblib")
    (path / "model.txt").write_text("tree\n")
    files = {n: hashlib.sha256((path / n).read_bytes()).hexdigest()
             for n in ("model.joblib", "model.txt")}
    manifest = {"format_version": 1, "versions": {"churnkit": ck.__version__,
                                                  "lightgbm": __import__("lightgbm").__version__},
                "files": files}
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def test_planted_pickle_never_runs_without_trust_pickle(tmp_path):
    marker = tmp_path / "marker"
    legacy = _legacy_folder(tmp_path / "legacy", _RunsCode(marker))
    with pytest.raises(ModelError, match=r"model\.joblib is a pickle .* --trust-pickle"):
        ck.load_model(legacy)
    with pytest.raises(ModelError, match="trust_pickle=True"):
        ck.load_model(legacy)
    # planted into a current folder, it is an extra file and never read
    model, _ = _tiny()
    path = ck.save_model(model, tmp_path / "m")
    shutil.copy(legacy / "model.joblib", path / "model.joblib")
    with pytest.raises(ModelError, match=r"model\.joblib, which manifest\.json does not list"):
        ck.load_model(path)
    # ... also when the manifest is rewritten to list it
    manifest = _manifest(path)
    manifest["files"]["model.joblib"] = hashlib.sha256(
        (path / "model.joblib").read_bytes()).hexdigest()
    _rewrite(path, manifest)
    with pytest.raises(ModelError, match="a model folder holds"):
        ck.load_model(path)
    config = str(builtin_config("default.yaml"))
    for args in (["score", "--out", str(tmp_path / "s.csv")], ["explain", "--customer", "C1"]):
        r = runner.invoke(app, [*args, "--config", config, "--model", str(legacy)])
        assert r.exit_code == 1
        assert "--trust-pickle" in r.stderr
        assert "Traceback" not in r.stderr
    assert not marker.exists()


def test_trusted_old_pickle_model_loads_and_saves_as_data(tmp_path):
    model, X = _tiny()
    legacy = _legacy_folder(tmp_path / "legacy", model)
    loaded = ck.load_model(legacy, trust_pickle=True)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    ck.save_model(loaded, legacy)  # saved again in place: a folder of data that loads without trust
    assert not (legacy / "model.joblib").exists()
    again = ck.load_model(legacy)
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))


def test_model_in_memory_still_pickles_for_dask_workers():
    model, X = _tiny()
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict_proba(X), model.predict_proba(X))


# ----------------------------------------------------------------------------- atomic saves
class _Faults:
    """Counts the file-system steps of a save; checks the model folder around each; fails one."""

    def __init__(self, monkeypatch, path, versions, *, exchange=True, fail_at=None):
        self.path, self.versions, self.fail_at, self.calls = path, versions, fail_at, 0
        exchange_fn = _artifacts._exchange if exchange else (lambda a, b: False)
        monkeypatch.setattr(os, "replace", self._wrap(os.replace))
        monkeypatch.setattr(shutil, "rmtree", self._wrap(shutil.rmtree))
        monkeypatch.setattr(_artifacts, "_exchange", self._wrap(exchange_fn))
        monkeypatch.setattr(_artifacts, "_write", self._wrap(_artifacts._write))  # each file
        self.exchange = exchange

    def check(self):
        assert ck.load_model(self.path).version_ in self.versions
        if self.exchange:  # the folder itself is never missing
            assert (self.path / "manifest.json").is_file()

    def _wrap(self, fn):
        def step(*args, **kwargs):
            self.check()
            self.calls += 1
            if self.calls == self.fail_at:
                raise OSError(f"injected failure at step {self.calls}")
            out = fn(*args, **kwargs)
            self.check()
            return out

        return step


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_save_replaces_a_model_without_a_moment_of_no_model(tmp_path, monkeypatch, exchange):
    old, _ = _tiny(seed=0)
    new, _ = _tiny(seed=1)
    assert old.version_ != new.version_
    path = tmp_path / "models" / "m"
    ck.save_model(old, path)
    with monkeypatch.context() as mp:
        faults = _Faults(mp, path, {old.version_, new.version_}, exchange=exchange)
        ck.save_model(new, path)
        steps = faults.calls
    assert steps >= 6  # four files written, then the swap and the clean-up
    assert ck.load_model(path).version_ == new.version_
    assert sorted(p.name for p in path.parent.iterdir()) == ["m"]  # no leftovers
    for k in range(1, steps + 1):
        shutil.rmtree(path)
        ck.save_model(old, path)
        with monkeypatch.context() as mp:
            faults = _Faults(mp, path, {old.version_, new.version_}, exchange=exchange, fail_at=k)
            with pytest.raises(OSError, match=f"injected failure at step {k}"):
                ck.save_model(new, path)
            faults.check()
        assert ck.load_model(path).version_ in {old.version_, new.version_}
        ck.save_model(new, path)  # the next save completes and tidies up
        assert ck.load_model(path).version_ == new.version_
        assert sorted(p.name for p in path.parent.iterdir()) == ["m"]


_KILLED_SAVE = """
import os, sys
import churnkit as ck
from churnkit.model import _artifacts
where, exchange = sys.argv[3], sys.argv[4] == "exchange"
model = ck.load_model(sys.argv[1])
real_exchange, real_replace = _artifacts._exchange, os.replace
seen = []
def exchanged(a, b):
    if not exchange:
        return False
    out = real_exchange(a, b)
    if where == "after_swap":
        os._exit(9)
    return out
def replaced(a, b):
    seen.append(b)
    real_replace(a, b)
    if where == "between_renames" and len(seen) == 1:
        os._exit(9)
_artifacts._exchange, os.replace = exchanged, replaced
if where == "before_swap":
    _artifacts._install = lambda new, path: os._exit(9)
ck.save_model(model, sys.argv[2])
"""


@pytest.mark.parametrize(("where", "exchange"), [
    ("before_swap", "exchange"), ("after_swap", "exchange"), ("between_renames", "two-renames"),
])
@pytest.mark.slow
def test_a_save_killed_for_real_leaves_a_model_and_the_next_save_tidies_up(tmp_path, where,
                                                                            exchange):
    """os._exit runs no clean-up: what a killed save leaves, the next save removes."""
    old, _ = _tiny(seed=0)
    new, _ = _tiny(seed=1)
    path = tmp_path / "models" / "m"
    ck.save_model(old, path)
    ck.save_model(new, tmp_path / "new")
    run = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(tmp_path / "new"), str(path),
                          where, exchange], capture_output=True, text=True, timeout=120)
    assert run.returncode == 9, run.stderr
    assert ck.load_model(path).version_ in {old.version_, new.version_}
    assert sorted(p.name for p in path.parent.iterdir()) != ["m"]  # the kill left something
    ck.save_model(old, path)
    assert ck.load_model(path).version_ == old.version_
    assert sorted(p.name for p in path.parent.iterdir()) == ["m"]


def test_a_save_never_removes_the_folder_of_a_save_still_running(tmp_path):
    old, _ = _tiny(seed=0)
    path = tmp_path / "m"
    running = tmp_path / f".m.saving-{os.getpid()}-{_artifacts._host()}-abc123"
    other_host = tmp_path / ".m.saving-999999999-elsewhere-abc123"
    running.mkdir()
    other_host.mkdir()
    ck.save_model(old, path)
    assert running.is_dir()
    assert other_host.is_dir()


def test_save_refuses_to_replace_a_folder_that_is_not_a_model(tmp_path):
    model, _ = _tiny()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "customers.csv").write_text("customer_id\n1\n")
    with pytest.raises(ModelError, match="is not a churnkit model folder"):
        ck.save_model(model, tmp_path / "data")
    assert (tmp_path / "data" / "customers.csv").is_file()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelError, match="it is a file, not a folder"):
        ck.save_model(model, tmp_path / "file")
    with pytest.raises(ModelError, match="does not exist"):
        ck.load_model(tmp_path / "nowhere")
    with pytest.raises(ModelError, match="manifest.json is missing"):
        load_manifest(tmp_path / "data")
