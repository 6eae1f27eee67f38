"""``--mlflow``: train, evaluate and monitor log real MLflow runs, read back with MlflowClient.

The runs go to a SQLite tracking database in a temporary folder (MLflow's local
default since 3.7; its file store is refused by recent versions). Creating the
database takes seconds, so it is made once and copied for each test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cli_runner import cli_runner
from mlflow.tracking import MlflowClient

import churnkit as ck
from churnkit._core import builtin_config
from churnkit.cli import app
from churnkit.config import MlflowConfig, config_from_dict
from churnkit.exceptions import ConfigError
from churnkit.model import load_model

AS_OF = ["2025-06-01", "2025-07-01", "2025-12-01"]  # the last one's outcomes are still unknown


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    """An empty MLflow tracking database, made once."""
    db = tmp_path_factory.mktemp("template") / "mlflow.db"
    MlflowClient(f"sqlite:///{db}").search_experiments()  # creates the tables
    return db


@pytest.fixture
def uri(template_db, tmp_path) -> str:
    db = tmp_path / "tracking" / "mlflow.db"
    db.parent.mkdir()
    shutil.copy(template_db, db)
    return f"sqlite:///{db}"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, ck.datasets.CRM]:
    """A 600-customer sample CRM project whose config skips the capacity search."""
    crm = ck.datasets.make_crm(600, random_state=0)
    config = crm.write_project(tmp_path_factory.mktemp("project"))
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["model"]["tune"] = "off"
    data["scoring"]["explain"] = "none"
    data["mlflow"] = {"experiment": "churn-sample"}
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    return config, crm


def _run(client: MlflowClient, experiment: str):
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, [e.name for e in client.search_experiments()]
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1
    return runs[0]


def _artifacts(client: MlflowClient, run_id: str, path: str | None = None) -> set[str]:
    """The run's files and folders (``name/``) at ``path``."""
    return {a.path + "/" * a.is_dir for a in client.list_artifacts(run_id, path)}


@pytest.mark.slow
def test_train_logs_settings_validation_metrics_and_the_model_folder(project, uri, tmp_path):
    config, _ = project
    res = cli_runner().invoke(app, ["train", "--config", str(config), "--out", str(tmp_path / "model"),
                                    "--mlflow-uri", uri, "--format", "json"])
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    client = MlflowClient(uri)
    run = _run(client, "churn-sample")
    assert summary["mlflow"] == {"experiment": "churn-sample", "run_id": run.info.run_id,
                                 "tracking_uri": uri}
    assert run.info.status == "FINISHED"
    model = load_model(tmp_path / "model")
    assert run.data.params["model.tune"] == "off"
    assert run.data.params["labels.horizon_days"] == "90"
    assert run.data.params["rows"] == str(summary["rows"])
    assert run.data.params["last_cutoff"] == summary["last_cutoff"]
    for name in ("roc_auc", "pr_auc", "brier", "ece", "top_decile_lift"):
        assert run.data.metrics[f"validation.{name}"] == pytest.approx(model.metrics_[name], abs=1e-4)
    assert run.data.tags["churnkit.model_version"] == model.version_
    assert run.data.tags["churnkit.command"] == "train"
    assert run.data.tags["churnkit.version"] == ck.__version__
    assert len(run.data.tags["churnkit.config_hash"]) == 16
    assert _artifacts(client, run.info.run_id) == {"model/", "train_summary.json"}
    logged = {p.removeprefix("model/") for p in _artifacts(client, run.info.run_id, "model")}
    assert logged == {p.name for p in (tmp_path / "model").iterdir()}
    manifest = json.loads(Path(client.download_artifacts(
        run.info.run_id, "model/manifest.json", str(tmp_path))).read_text())
    assert manifest["model_version"] == model.version_
    # the files beside the database, not in the working directory
    assert run.info.artifact_uri.startswith(Path(uri.removeprefix("sqlite:///")).parent.as_uri())


@pytest.mark.slow
def test_evaluate_logs_the_metrics_of_churnkit_and_of_every_baseline(project, uri, tmp_path, monkeypatch):
    config, _ = project
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # the config names no URI: MLflow's default
    res = cli_runner().invoke(app, ["evaluate", "--config", str(config), "--cv", "1",
                                    "--format", "json", "--mlflow"])
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert "files" not in summary  # written to a temporary folder for MLflow only
    client = MlflowClient(uri)
    run = _run(client, "churn-sample")
    metrics = run.data.metrics
    for name in ("roc_auc", "pr_auc", "brier", "top_decile_lift", "ece", "lift_at_5"):
        assert metrics[f"model.{name}"] == pytest.approx(summary[name])
    baselines = {"rule", "logistic", "lightgbm"}
    assert baselines <= set(summary["baseline"])
    for base in summary["baseline"]:
        for name, value in summary["baseline"][base].items():
            assert metrics[f"baseline.{base}.{name}"] == pytest.approx(value)
    assert metrics["improvement.lightgbm.roc_auc"] == pytest.approx(
        summary["improvement"]["lightgbm"]["roc_auc"])
    assert run.data.params["test_cutoffs"] == ", ".join(summary["test_cutoffs"])
    assert run.data.params["plain_lightgbm.num_leaves"] == "31"
    assert run.data.tags["churnkit.command"] == "evaluate"
    assert _artifacts(client, run.info.run_id) == {"model_report.html", "metrics.json",
                                                   "folds.csv", "evaluate.json"}
    report = Path(client.download_artifacts(run.info.run_id, "model_report.html", str(tmp_path)))
    assert "<h1>Model report" in report.read_text(encoding="utf-8")


@pytest.mark.slow
def test_monitor_logs_one_step_per_scoring_run_and_its_status(project, uri, tmp_path):
    config, crm = project
    cfg = ck.load_config(config)
    # from Python, without a model folder: the model is logged from a temporary one
    trained = ck.train(cfg, tables=crm.tables, mlflow=MlflowConfig(tracking_uri=uri, experiment="api"))
    model = trained.model
    client = MlflowClient(uri)
    assert trained.summary["mlflow"]["run_id"] == _run(client, "api").info.run_id
    model_dir = Path(client.download_artifacts(trained.summary["mlflow"]["run_id"], "model", str(tmp_path)))
    assert load_model(model_dir).version_ == model.version_  # the logged folder loads, hashes checked
    for as_of in AS_OF:
        ck.score(cfg, model, tables=crm.tables, as_of=as_of).write(tmp_path / "runs" / as_of / "scores.csv")
    res = cli_runner().invoke(app, ["monitor", "--model", str(model_dir), "--runs",
                                    str(tmp_path / "runs"), "--config", str(config), "--out",
                                    str(tmp_path / "monitor"), "--format", "json", "--mlflow-uri", uri])
    assert res.exit_code in (0, 3), res.stderr
    summary = json.loads(res.stdout)
    run = _run(client, "churn-sample")
    assert run.data.tags["churnkit.status"] == summary["status"]
    assert run.data.tags["churnkit.exit_code"] == str(res.exit_code)
    assert run.data.params["model_version"] == model.version_
    history = client.get_metric_history(run.info.run_id, "score_psi")
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == [0, 1, 2]
    assert [m.value for m in sorted(history, key=lambda m: m.step)] == pytest.approx(
        [r["score_psi"] for r in summary["runs"]])
    assert len(client.get_metric_history(run.info.run_id, "worst_feature_psi")) == 3
    known = [(i, r["performance"]) for i, r in enumerate(summary["runs"])
             if r["performance"]["status"] == "known"]
    assert [i for i, _ in known] == [0, 1]  # the newest run's horizon has not passed
    auc = sorted(client.get_metric_history(run.info.run_id, "realised.roc_auc"), key=lambda m: m.step)
    assert [(m.step, m.value) for m in auc] == [(i, pytest.approx(p["roc_auc"])) for i, p in known]
    assert _artifacts(client, run.info.run_id) == {"monitor.html", "monitor.json", "drift.csv",
                                                   "performance.csv"}


def test_an_unusable_tracking_uri_is_one_clear_error(tmp_path):
    config = builtin_config("default.yaml")  # its tables are never read: MLflow is checked first
    res = cli_runner().invoke(app, ["train", "--config", str(config), "--out", str(tmp_path / "m"),
                                    "--mlflow-uri", "nosuchscheme://nowhere"])
    assert res.exit_code == 1
    assert "MLflow could not log to 'nosuchscheme://nowhere'" in res.stderr
    assert "sqlite:///mlflow.db" in res.stderr
    assert not (tmp_path / "m").exists()  # stopped before training


@pytest.mark.slow
def test_without_mlflow_installed_the_flag_says_how_to_install(project, tmp_path):
    config, _ = project
    code = ("import runpy, sys; sys.modules['mlflow'] = None; "  # as if it were not installed
            "runpy.run_module('churnkit', run_name='__main__')")
    r = subprocess.run([sys.executable, "-c", code, "train", "--config", str(config),
                        "--out", str(tmp_path / "m"), "--mlflow"], capture_output=True, text=True)
    assert r.returncode == 1, r.stderr
    assert "pip install 'churnkit-crm[mlflow]'" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "m").exists()
    # without the flag churnkit runs as usual
    r = subprocess.run([sys.executable, "-c", code, "--version"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.slow
def test_a_broken_mlflow_installation_stops_only_the_flag(tmp_path):
    fake = tmp_path / "site" / "mlflow"
    fake.mkdir(parents=True)  # an MLflow whose import fails, as with a protobuf it does not support
    (fake / "__init__.py").write_text("raise TypeError('Descriptors cannot be created directly.')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    cmd = [sys.executable, "-m", "churnkit", "evaluate", "--config",
           str(builtin_config("default.yaml")), "--mlflow"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert r.returncode == 1, r.stderr
    assert "installed but fails to import (TypeError: Descriptors cannot" in r.stderr
    assert "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "churnkit", "--version"], capture_output=True, text=True,
                       env=env)
    assert r.returncode == 0, r.stderr


def test_uplift_training_is_not_logged_and_says_so(tmp_path):
    res = cli_runner().invoke(app, ["train", "--config", str(builtin_config("default.yaml")),
                                    "--out", str(tmp_path / "m"), "--uplift", "--mlflow"])
    assert res.exit_code == 2
    assert "Leave out --mlflow with --uplift" in res.stderr


@pytest.mark.parametrize(("section", "match"), [
    ({"tracking_uri": " "}, r"mlflow\.tracking_uri: .*must not be blank"),
    ({"experiment": ""}, r"mlflow\.experiment: .*must not be blank"),
    ({"uri": "sqlite:///x.db"}, r"mlflow\.uri"),
])
def test_the_mlflow_section_is_validated(section, match):
    data = ck.load_config(builtin_config("default.yaml")).model_dump(exclude={"base_dir"})
    data["mlflow"] = section
    with pytest.raises(ConfigError, match=match):
        config_from_dict(data)
