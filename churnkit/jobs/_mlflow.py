"""Optional MLflow logging of the train, evaluate and monitor jobs (``--mlflow``).

Each job, asked to, logs one MLflow run: its parameters, its metrics, tags
(command, churnkit version, model version, config hash) and its files. The
parameters and metrics are built from the job's summary by plain functions
(:func:`train_record`, :func:`evaluate_record`, :func:`monitor_record`);
:func:`log_run` writes them through an ``MlflowClient``, so no global MLflow
state (tracking URI, active run) is touched. MLflow comes with the extra
``churnkit-crm[mlflow]``; without it, asking for logging is a clear error.
"""

from __future__ import annotations

import functools
import json
import math
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from churnkit._core import __version__, cap_text
from churnkit.config import Config, MlflowConfig
from churnkit.exceptions import ConfigError
from churnkit.monitoring import SCORE, MonitorResult
from churnkit.scoring import config_hash

__all__ = [
    "INSTALL",
    "MlflowRecord",
    "Tracker",
    "evaluate_record",
    "log_evaluate",
    "log_monitor",
    "log_run",
    "log_train",
    "monitor_record",
    "train_record",
    "tracker",
]

INSTALL = "pip install 'churnkit-crm[mlflow]'"
"""The command that installs MLflow for ``--mlflow``."""

_MAX_PARAM = 500  # characters of a parameter value every MLflow version stores
_BATCH = 100  # parameters per log_batch call (MLflow's limit); metrics go 1000 at a time


@dataclass
class MlflowRecord:
    """What one MLflow run holds, before it is logged.

    Attributes
    ----------
    params : dict of str to str
        Parameters (values cut to 500 characters).
    metrics : dict of str to float
        Metrics logged at step 0.
    steps : list of (int, int or None, dict of str to float)
        Metrics per step: ``(step, timestamp in ms or None, {name: value})``.
    tags : dict of str to str
        Tags of the run.
    files : dict of str to Path
        Files and folders to upload, keyed by their path in the run (a file whose
        name differs from the key's last part goes into the folder the key names).
    """

    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    steps: list[tuple[int, int | None, dict[str, float]]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class Tracker:
    """An MLflow experiment that runs are logged to (see :func:`tracker`)."""

    client: Any
    experiment_id: str
    experiment: str
    tracking_uri: str


@functools.cache
def _api() -> SimpleNamespace:
    """MLflow's client API, imported when logging is first asked for (not with churnkit).

    Importing MLflow takes over a second; every churnkit command would pay it.
    """
    try:
        import mlflow
        from mlflow.entities import Metric, Param
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise ConfigError(f"--mlflow needs MLflow, which is not installed. Install it with: "
                          f"{INSTALL}") from exc
    except Exception as exc:  # e.g. a protobuf that this MLflow does not work with
        raise ConfigError(
            f"--mlflow needs MLflow, which is installed but fails to import "
            f"({type(exc).__name__}: {cap_text(str(exc), 300)}). Reinstall it with its "
            f"dependencies: {INSTALL} --force-reinstall") from exc
    return SimpleNamespace(get_tracking_uri=mlflow.get_tracking_uri, Client=MlflowClient,
                           Metric=Metric, Param=Param, errors=(MlflowException,))


def tracker(setting: bool | MlflowConfig, *, config: Config | None = None,
            name: str | None = None) -> Tracker | None:
    """The MLflow experiment to log to, or None when logging is off.

    Called when a job starts, so that a missing MLflow or a tracking URI that
    does not answer stops it before the work rather than after.

    Parameters
    ----------
    setting : bool or MlflowConfig
        False: no logging; True: the settings of ``config.mlflow`` (the defaults
        without a config); an :class:`~churnkit.config.MlflowConfig`: these settings.
    config : Config, optional
        The job's configuration.
    name : str, optional
        The experiment when the settings name none; default the config's ``name``.

    Returns
    -------
    Tracker or None

    Raises
    ------
    ConfigError
        When MLflow is not installed, or the tracking URI cannot be used.

    Examples
    --------
    >>> tracker(False) is None
    True
    """
    if setting is False:
        return None
    api = _api()
    settings = setting if isinstance(setting, MlflowConfig) else (
        config.mlflow if config is not None else MlflowConfig())
    experiment = settings.experiment or name or (config.name if config is not None else "churnkit")
    uri = settings.tracking_uri or api.get_tracking_uri()
    with _mlflow_errors(uri):
        client = api.Client(tracking_uri=uri)
        found = client.get_experiment_by_name(experiment)
        if found is not None:
            return Tracker(client, found.experiment_id, experiment, uri)
        try:
            experiment_id = client.create_experiment(experiment,
                                                     artifact_location=_artifacts_beside(uri))
        except api.errors:  # created meanwhile by another process
            found = client.get_experiment_by_name(experiment)
            if found is None:
                raise
            experiment_id = found.experiment_id
    return Tracker(client, experiment_id, experiment, uri)


def _artifacts_beside(uri: str) -> str | None:
    """``mlruns/`` beside a local SQLite database (MLflow's default is the working directory)."""
    if not uri.startswith("sqlite:///"):
        return None
    db = Path(uri.removeprefix("sqlite:///").split("?")[0])
    if str(db) in ("", ":memory:"):
        return None
    db.parent.mkdir(parents=True, exist_ok=True)
    return (db.parent.resolve() / "mlruns").as_uri()


@contextmanager
def _mlflow_errors(uri: str) -> Iterator[None]:
    """Turn MLflow's errors into a :class:`ConfigError` naming the tracking URI and the fix."""
    try:
        yield
    except _api().errors as exc:
        raise ConfigError(
            f"MLflow could not log to {uri!r}: {cap_text(str(exc), 400)} "
            "Set mlflow.tracking_uri in the configuration, --mlflow-uri or MLFLOW_TRACKING_URI "
            "to a tracking server (http://host:5000) or a database (sqlite:///mlflow.db)."
        ) from exc


def log_run(target: Tracker, record: MlflowRecord, *, run_name: str) -> str:
    """Log ``record`` as one finished run of ``target``'s experiment.

    Parameters
    ----------
    target : Tracker
        From :func:`tracker`.
    record : MlflowRecord
        Parameters, metrics, tags and files.
    run_name : str
        The run's name in the MLflow UI.

    Returns
    -------
    str
        The MLflow run id.
    """
    client = target.client
    with _mlflow_errors(target.tracking_uri):
        run = client.create_run(target.experiment_id, run_name=run_name,
                                tags=dict(record.tags))
        run_id = run.info.run_id
        status = "FAILED"
        try:
            now = int(pd.Timestamp.now(tz="UTC").timestamp() * 1000)
            api = _api()
            params = [api.Param(k, v) for k, v in record.params.items()]
            metrics = [api.Metric(k, v, now, 0) for k, v in record.metrics.items()]
            metrics += [api.Metric(k, v, now if ts is None else ts, step)
                        for step, ts, values in record.steps for k, v in values.items()]
            for chunk in _chunks(params, _BATCH):
                client.log_batch(run_id, params=chunk)
            for chunk in _chunks(metrics, 1000):
                client.log_batch(run_id, metrics=chunk)
            for path, local in record.files.items():
                if local.is_dir():
                    client.log_artifacts(run_id, str(local), artifact_path=path)
                else:  # MLflow keeps the file's own name, in the folder given
                    folder = path.rpartition("/")[0] if path.endswith(local.name) else path
                    client.log_artifact(run_id, str(local), artifact_path=folder or None)
            status = "FINISHED"
        finally:
            client.set_terminated(run_id, status=status)
    return run_id


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ------------------------------------------------------------------ what each job logs
def _param(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return text if len(text) <= _MAX_PARAM else text[:_MAX_PARAM - 1] + "…"


def _flat(mapping: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flat(value, f"{name}.")
        else:
            yield name, value


def _number(value: Any) -> float | None:
    """A finite number (not a bool) as float, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _numbers(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    return {k: n for k, v in _flat(mapping, prefix) if (n := _number(v)) is not None}


def _config_params(config: Config) -> dict[str, str]:
    """The settings that shape a model: the labels, features and model sections."""
    dumped = config.model_dump(mode="json", include={"labels", "features", "model"})
    return {k: _param(v) for k, v in _flat(dumped) if v is not None}


def _tags(command: str, config: Config | None, **more: Any) -> dict[str, str]:
    tags = {"churnkit.command": command, "churnkit.version": __version__}
    if config is not None:
        tags |= {"churnkit.config_name": config.name, "churnkit.config_hash": config_hash(config)}
    return tags | {f"churnkit.{k}": str(v) for k, v in more.items() if v is not None}


def _summary_file(folder: Path, name: str, summary: Mapping[str, Any]) -> Path:
    path = folder / name
    path.write_text(json.dumps(summary, indent=1, default=str) + "\n", encoding="utf-8")
    return path


def train_record(summary: Mapping[str, Any], config: Config, *, model_dir: Path | None,
                 folder: Path) -> MlflowRecord:
    """What a training run logs.

    Parameters: the ``labels``, ``features`` and ``model`` sections of the
    configuration and the training window (rows, customers, cutoffs, sampling,
    the settings chosen by the capacity search); metrics: the validation figures
    as ``validation.<name>``; tags: the model version and the config hash;
    files: the model folder under ``model/`` and ``train_summary.json``
    (written to ``folder``).

    Examples
    --------
    >>> import tempfile
    >>> from churnkit import load_config
    >>> from churnkit._core import builtin_config
    >>> summary = {"rows": 10, "first_cutoff": "2024-07-01", "model_version": "abc",
    ...            "validation": {"roc_auc": 0.81, "n": 770.0}}
    >>> record = train_record(summary, load_config(builtin_config("default.yaml")),
    ...                       model_dir=None, folder=Path(tempfile.mkdtemp()))
    >>> record.metrics, record.params["rows"], record.params["model.num_leaves"]
    ({'validation.roc_auc': 0.81, 'validation.n': 770.0}, '10', '7')
    >>> record.tags["churnkit.model_version"], sorted(record.files)
    ('abc', ['train_summary.json'])
    """
    rest = {k: v for k, v in summary.items()
            if k not in ("validation", "model_version", "churnkit_version", "mlflow")}
    params = _config_params(config) | {k: _param(v) for k, v in _flat(rest) if v is not None}
    files = {"train_summary.json": _summary_file(folder, "train_summary.json", summary)}
    if model_dir is not None:
        files["model"] = Path(model_dir)
    return MlflowRecord(
        params=params, metrics=_numbers(summary.get("validation", {}), "validation."),
        tags=_tags("train", config, model_version=summary.get("model_version")), files=files)


_EVALUATE_PARAMS = ("mode", "folds", "test_cutoffs", "rules", "btyd")
_EVALUATE_FILES = ("report", "metrics", "folds")  # predictions.csv (a row per test row) stays out


def evaluate_record(summary: Mapping[str, Any], config: Config, *, files: Mapping[str, Path],
                    folder: Path) -> MlflowRecord:
    """What a backtest logs.

    Metrics: churnkit's as ``model.<name>`` (fold means and spreads included),
    each baseline's as ``baseline.<baseline>.<name>`` and churnkit's gain over
    each as ``improvement.<baseline>.<name>``; parameters: the configuration's
    ``labels``, ``features`` and ``model`` sections, the mode, folds, test
    cutoffs, the rule baseline and the plain LightGBM's settings; files:
    ``model_report.html``, ``metrics.json`` and ``folds.csv`` of ``files`` (not
    the predictions) and ``evaluate.json``, the summary (written to ``folder``).

    Examples
    --------
    >>> import tempfile
    >>> from churnkit import load_config
    >>> from churnkit._core import builtin_config
    >>> summary = {"mode": "events", "roc_auc": 0.8, "folds": 2.0,
    ...            "baseline": {"lightgbm": {"roc_auc": 0.79}},
    ...            "improvement": {"lightgbm": {"roc_auc": 0.01}}}
    >>> record = evaluate_record(summary, load_config(builtin_config("default.yaml")),
    ...                          files={}, folder=Path(tempfile.mkdtemp()))
    >>> record.metrics
    {'model.roc_auc': 0.8, 'baseline.lightgbm.roc_auc': 0.79, 'improvement.lightgbm.roc_auc': 0.01}
    >>> record.params["mode"], record.params["folds"], sorted(record.files)
    ('events', '2', ['evaluate.json'])
    """
    own = {k: v for k, v in summary.items()
           if k not in _EVALUATE_PARAMS and not isinstance(v, Mapping)}
    metrics = (_numbers(own, "model.") | _numbers(summary.get("baseline", {}), "baseline.")
               | _numbers(summary.get("improvement", {}), "improvement."))
    params = _config_params(config) | {
        k: _param(int(v) if k == "folds" else v) for k, v in summary.items()
        if k in _EVALUATE_PARAMS and v is not None}
    settings = summary.get("plain_lightgbm", {}).get("settings", {})
    params |= {k: _param(v) for k, v in _flat(settings, "plain_lightgbm.")}
    logged = {Path(files[k]).name: Path(files[k]) for k in _EVALUATE_FILES if k in files}
    logged["evaluate.json"] = _summary_file(folder, "evaluate.json", summary)
    return MlflowRecord(params=params, metrics=metrics, tags=_tags("evaluate", config),
                        files=logged)


def monitor_record(result: MonitorResult, *, files: Mapping[str, Path]) -> MlflowRecord:
    """What a monitoring run logs.

    Metrics per scoring run, oldest first, with ``step`` = the run's index and
    the timestamp = its ``as_of`` date: ``score_psi``, ``worst_feature_psi``
    (both against the training data) and, for runs whose outcomes are known,
    ``realised.roc_auc``, ``realised.pr_auc``, ``realised.top_decile_lift`` and
    ``realised.ece``; ``runs`` and ``act_runs`` (runs whose status is 'act').
    Parameters: the model version, the thresholds, the first and last
    ``as_of``. Tags: the status, the exit code of ``churnkit monitor``, whether
    a retraining is advised. Files: ``files`` (``monitor.html``, ``monitor.json``...).
    """
    s = result.summary
    drift = result.drift
    if not drift.empty:
        drift = drift[(drift["against"] == "training") & (drift["feature"] != SCORE)]
    worst = drift.groupby("run_id")["psi"].max() if not drift.empty else pd.Series(dtype=float)
    steps: list[tuple[int, int | None, dict[str, float]]] = []
    for i, run in enumerate(s["runs"]):
        perf = run["performance"]
        values = {"score_psi": run["score_psi"], "worst_feature_psi": worst.get(run["run_id"])}
        if perf.get("status") == "known":
            values |= {f"realised.{k}": perf.get(k)
                       for k in ("roc_auc", "pr_auc", "top_decile_lift", "ece")}
        when = int(pd.Timestamp(run["as_of"], tz="UTC").timestamp() * 1000)
        steps.append((i, when, {k: n for k, v in values.items() if (n := _number(v)) is not None}))
    runs = s["runs"]
    params = {f"monitor.{k}": _param(v) for k, v in s.get("settings", {}).items()}
    params |= {"model_version": str(s["model_version"]), "runs": str(len(runs))}
    if runs:
        params |= {"first_as_of": str(runs[0]["as_of"]), "last_as_of": str(runs[-1]["as_of"])}
    return MlflowRecord(
        params=params,
        metrics={"runs": float(len(runs)),
                 "act_runs": float(sum(r["status"] == "act" for r in runs))},
        steps=steps,
        tags=_tags("monitor", None, model_version=s["model_version"], status=s["status"],
                   exit_code=result.exit_code, retrain_advised=s["retrain"]["advised"]),
        files={Path(p).name: Path(p) for p in files.values()})


# ------------------------------------------------------------------ what the jobs call
def _logged(target: Tracker, run_id: str) -> dict[str, str]:
    return {"experiment": target.experiment, "run_id": run_id, "tracking_uri": target.tracking_uri}


def log_train(target: Tracker, summary: Mapping[str, Any], config: Config, *,
              model_dir: str | Path | None, save: Callable[[Path], Path]) -> dict[str, str]:
    """Log a training run; without ``model_dir`` the model is saved by ``save`` to a temporary folder.

    Returns ``experiment``, ``run_id`` and ``tracking_uri``, for the job's summary.
    """
    with tempfile.TemporaryDirectory(prefix="churnkit-mlflow-") as tmp:
        folder = Path(tmp)
        model = Path(model_dir) if model_dir is not None else save(folder / "model")
        record = train_record(summary, config, model_dir=model, folder=folder)
        return _logged(target, log_run(target, record, run_name=f"train {config.name}"))


def log_evaluate(target: Tracker, summary: Mapping[str, Any], config: Config, *,
                 write: Callable[[Path], Mapping[str, Path]]) -> dict[str, str]:
    """Log a backtest; without ``summary["files"]`` they are written by ``write`` to a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="churnkit-mlflow-") as tmp:
        folder = Path(tmp)
        files = ({k: Path(v) for k, v in summary["files"].items()} if "files" in summary
                 else write(folder / "evaluate"))
        record = evaluate_record(summary, config, files=files, folder=folder)
        return _logged(target, log_run(target, record, run_name=f"evaluate {config.name}"))


def log_monitor(target: Tracker, result: MonitorResult) -> dict[str, str]:
    """Log a monitoring run; without ``result.summary["files"]`` they are written to a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="churnkit-mlflow-") as tmp:
        written = result.summary.get("files")
        files = ({k: Path(v) for k, v in written.items()} if written is not None
                 else result.write(Path(tmp) / "monitor"))
        record = monitor_record(result, files=files)
        name = f"monitor {result.summary['model_version']}"
        return _logged(target, log_run(target, record, run_name=name))
