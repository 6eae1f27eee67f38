"""The local engine: every table in memory, one partition holding all the customers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from churnkit._core import Progress, no_progress, resolve_as_of
from churnkit.config import Config
from churnkit.data import Dataset, load_dataset
from churnkit.exceptions import ConfigError
from churnkit.scoring._result import ScoreResult
from churnkit.scoring._unit import score_partition

__all__ = ["score_local"]


def score_local(
    config: Config,
    model: Any,
    *,
    as_of: str | pd.Timestamp | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    dataset: Dataset | None = None,
    progress: Progress = no_progress,
) -> ScoreResult:
    """Load and validate every table, then score all customers as one partition.

    Parameters
    ----------
    config : Config
        The configuration.
    model : ChurnModel
        A model trained by :func:`churnkit.train`.
    as_of : str or Timestamp, optional
        Score date; default the end of the data.
    tables : mapping of str to DataFrame, optional
        In-memory tables replacing the config's files.
    dataset : Dataset, optional
        The tables already loaded and validated from this config (e.g. by the training
        run just before), instead of loading them again; ``tables`` must then be None.
    progress : callable, optional
        Called with a short description before each step.

    Returns
    -------
    ScoreResult
        With the dataset, the features and the SHAP contributions.

    Examples
    --------
    >>> import churnkit as ck
    >>> from churnkit._core import builtin_config
    >>> from churnkit.scoring import score_local
    >>> config = ck.load_config(builtin_config("default.yaml"))
    >>> crm = ck.datasets.make_crm(300, random_state=0)
    >>> model = ck.train(config, tables=crm.tables).model
    >>> result = score_local(config, model, tables=crm.tables, as_of="2025-10-01")
    >>> result.summary["engine"], str(result.scores["as_of"].iloc[0])[:10]
    ('local', '2025-10-01')
    """
    if dataset is None:
        progress("Loading and validating tables")
        dataset = load_dataset(config, tables)
    elif tables is not None:
        raise ConfigError("Give either 'tables' or an already loaded 'dataset', not both.")
    when = resolve_as_of(as_of, dataset.end, start=dataset.start)
    progress(f"Scoring and explaining {len(dataset.customers):,} customers")
    result = score_partition(config, model, dataset, as_of=when)
    result.summary.update(engine="local", partitions=1)
    return result
