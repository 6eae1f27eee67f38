"""churnkit: predict which customers will leave, explain why, and say what to do.

The pipeline follows the sub-packages: ``data`` → ``labels`` → ``features`` →
``model`` → ``explain`` → ``actions`` → ``report``, plus ``retention`` analytics.

Examples
--------
>>> import churnkit
>>> crm = churnkit.datasets.make_crm(n_customers=300, seed=0)
>>> sorted(crm.event_tables)
['contacts', 'feedback', 'transactions', 'usage']
"""

from churnkit import datasets
from churnkit.config import Config, load_config
from churnkit.data import Dataset, load_dataset
from churnkit.exceptions import ChurnkitError, ConfigError, ModelError, SchemaError
from churnkit.features import EventFeatures, FeatureSet, StaticFeatures, build_features
from churnkit.labels import make_cutoffs, make_labels
from churnkit.model import ChurnModel, load_model
from churnkit.pipeline import ScoreResult, TrainResult, score, train

__version__ = "0.1.0"

__all__ = [
    "ChurnModel",
    "ChurnkitError",
    "Config",
    "ConfigError",
    "Dataset",
    "EventFeatures",
    "FeatureSet",
    "ModelError",
    "SchemaError",
    "ScoreResult",
    "StaticFeatures",
    "TrainResult",
    "__version__",
    "build_features",
    "datasets",
    "load_config",
    "load_dataset",
    "load_model",
    "make_cutoffs",
    "make_labels",
    "score",
    "train",
]
