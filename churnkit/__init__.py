"""churnkit: predict which customers will leave, explain why, and say what to do.

The pipeline follows the sub-packages: ``data`` → ``labels`` → ``features`` →
``model`` → ``explain`` → ``actions`` → ``report``, plus ``retention`` analytics
and ``evaluate``; ``scoring`` holds the engines (local, chunked, Dask) and
``jobs`` the one-call jobs the command line runs (:func:`train`, :func:`score`…).

Examples
--------
>>> import churnkit as ck
>>> crm = ck.datasets.make_crm(n_customers=300, random_state=0)
>>> sorted(crm.event_tables)
['contacts', 'feedback', 'transactions', 'usage']
>>> callable(ck.retention.crr) and callable(ck.evaluate.backtest)
True
"""

import os as _os

# Passive OpenMP waiting: idle LightGBM and numba threads sleep instead of spinning. On a
# shared machine spinning threads made the same job take from 1x to 8x its quiet time.
# It must be set before either library loads its OpenMP runtime; a value the user set wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import sys as _sys  # noqa: E402

from churnkit._core.threads import available_cores as _available_cores  # noqa: E402

# numba's thread pool follows the CPU affinity but not a cgroup CPU quota (containers):
# size it to the cores this process may use, unless the user set it or numba already runs.
if "numba" not in _sys.modules:
    _os.environ.setdefault("NUMBA_NUM_THREADS", str(_available_cores()))

from churnkit import (  # noqa: E402 -- after the OpenMP setting above
    actions,
    data,
    datasets,
    evaluate,
    explain,
    features,
    jobs,
    labels,
    model,
    monitoring,
    report,
    retention,
    scoring,
)
from churnkit._core import __version__
from churnkit.config import Config, load_config
from churnkit.data import Dataset, load_dataset
from churnkit.exceptions import (
    ChurnkitError,
    ConfigError,
    LabelError,
    ModelError,
    NotFittedError,
    SchemaError,
)
from churnkit.features import (
    DerivedFeatures,
    EventFeatures,
    FeatureSet,
    StaticFeatures,
    TextFeatures,
    build_features,
)
from churnkit.jobs import TrainResult, monitor, score, train
from churnkit.labels import make_cutoffs, make_labels
from churnkit.model import ChurnModel, load_model, save_model
from churnkit.scoring import ScoreResult

__all__ = [
    "ChurnModel",
    "ChurnkitError",
    "Config",
    "ConfigError",
    "LabelError",
    "Dataset",
    "DerivedFeatures",
    "EventFeatures",
    "FeatureSet",
    "ModelError",
    "NotFittedError",
    "SchemaError",
    "ScoreResult",
    "StaticFeatures",
    "TextFeatures",
    "TrainResult",
    "__version__",
    "actions",
    "build_features",
    "data",
    "datasets",
    "evaluate",
    "explain",
    "features",
    "jobs",
    "labels",
    "load_config",
    "load_dataset",
    "load_model",
    "save_model",
    "make_cutoffs",
    "make_labels",
    "model",
    "monitor",
    "monitoring",
    "report",
    "retention",
    "score",
    "scoring",
    "train",
]
