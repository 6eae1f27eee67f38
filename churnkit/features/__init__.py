"""Point-in-time features: only data strictly before each cutoff is used."""

from churnkit.features._btyd import BTYDFeatures
from churnkit.features._build import (
    FeatureSet,
    btyd_tables,
    build_features,
    feature_set,
    transform_in_blocks,
)
from churnkit.features._derived import DerivedFeatures
from churnkit.features._events import NUMERIC_AGGS, EventFeatures
from churnkit.features._state import feature_set_from_state, feature_set_state
from churnkit.features._static import StaticFeatures
from churnkit.features._text import TextFeatures

__all__ = [
    "BTYDFeatures",
    "NUMERIC_AGGS",
    "DerivedFeatures",
    "EventFeatures",
    "FeatureSet",
    "feature_set",
    "StaticFeatures",
    "TextFeatures",
    "btyd_tables",
    "build_features",
    "feature_set_from_state",
    "feature_set_state",
    "transform_in_blocks",
]
