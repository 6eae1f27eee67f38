"""The score job: every active customer scored, explained and given actions, on any engine."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from churnkit._core import Progress, no_progress
from churnkit.config import Config
from churnkit.data import Dataset
from churnkit.exceptions import ConfigError
from churnkit.scoring import ScoreResult, config_hash, score_chunked, score_dask, score_local

__all__ = ["score"]

Engine = Literal["local", "chunked", "dask"]


def score(
    config: Config,
    model: Any,
    *,
    as_of: str | pd.Timestamp | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    engine: Engine = "local",
    partitions: int | None = None,
    scheduler: Any = None,
    out_dir: str | Path | None = None,
    dataset: Dataset | None = None,
    progress: Progress = no_progress,
) -> ScoreResult:
    """Score every customer active at ``as_of`` (default: the end of the data).

    Every input customer ends up either in ``scores`` or in ``rejects`` (with a
    reason): rows that failed validation, and customers no longer active. All
    engines give the same scores and the same result type.

    Parameters
    ----------
    config : Config
        The configuration.
    model : ChurnModel
        A model trained by :func:`churnkit.train`.
    as_of : str or Timestamp, optional
        Score date; only earlier events count.
    tables : mapping of str to DataFrame, optional
        In-memory tables replacing the config's files (local engine).
    engine : {"local", "chunked", "dask"}, default "local"
        ``local``: all tables in memory; ``chunked``: a chunk of customers at a
        time; ``dask``: partitions of customers on a Dask cluster.
    partitions : int, optional
        Chunks (``chunked``, default 8) or partitions (``dask``, default two per
        worker thread).
    scheduler : str or distributed.Client, optional
        Dask engine: the scheduler; default a local cluster.
    out_dir : path-like, optional
        Dask engine (required): the folder its workers write part files to.
    dataset : Dataset, optional
        Local engine: the config's tables already loaded and validated (e.g.
        ``TrainResult.dataset`` of a training run on the same data), not loaded again.
    progress : callable, optional
        Called with a short description before each step.

    Returns
    -------
    ScoreResult
        ``scores``: ``customer_id, as_of, churn_probability, risk_band,
        value_at_risk, reason_1..3, action_1..3, …, model_version``; ``rejects``;
        ``summary``.

    Examples
    --------
    >>> import churnkit as ck
    >>> from churnkit._core import builtin_config
    >>> cfg = ck.load_config(builtin_config("default.yaml"))
    >>> crm = ck.datasets.make_crm(600, random_state=0)
    >>> model = ck.train(cfg, tables=crm.tables).model
    >>> result = ck.score(cfg, model, tables=crm.tables)
    >>> result.summary["scored"] + result.summary["not_active"] == len(crm.customers)
    True
    >>> list(result.scores.columns[:4])
    ['customer_id', 'as_of', 'churn_probability', 'risk_band']
    """
    result = _score(config, model, as_of=as_of, tables=tables, engine=engine,
                    partitions=partitions, scheduler=scheduler, out_dir=out_dir, dataset=dataset,
                    progress=progress)
    # what run.json records of the run's settings (see churnkit.monitoring)
    result.run_info = {"config_name": config.name, "config_hash": config_hash(config),
                       "label": {"definition": config.labels.definition,
                                 "horizon_days": config.labels.horizon_days}}
    return result


def _score(config: Config, model: Any, *, as_of: str | pd.Timestamp | None,
           tables: Mapping[str, pd.DataFrame] | None, engine: Engine, partitions: int | None,
           scheduler: Any, out_dir: str | Path | None, dataset: Dataset | None,
           progress: Progress) -> ScoreResult:
    if engine != "local" and (tables is not None or dataset is not None):
        raise ConfigError(
            f"The {engine} engine reads the config's files; 'tables' and 'dataset' are for "
            "'local'.")
    if engine == "local":
        return score_local(config, model, as_of=as_of, tables=tables, dataset=dataset,
                           progress=progress)
    if engine == "chunked":
        return score_chunked(config, model, as_of=as_of, partitions=partitions or 8,
                             progress=progress)
    if engine == "dask":
        if out_dir is None:
            raise ConfigError("The dask engine writes part files: give out_dir (a folder).")
        return score_dask(config, model, as_of=as_of, partitions=partitions,
                          scheduler=scheduler, out_dir=out_dir, progress=progress)
    raise ConfigError(
        f"engine: {engine!r} is not a scoring engine. Use 'local', 'chunked' or 'dask'.")
