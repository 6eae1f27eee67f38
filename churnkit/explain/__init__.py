"""Explanations: exact TreeSHAP contributions grouped into worded reasons, and plots."""

from churnkit.explain._plots import plot_beeswarm, plot_global_reasons, plot_waterfall
from churnkit.explain._reasons import (
    EXPECTED_COLUMN,
    GlobalImportance,
    ReasonConfig,
    ReasonGroup,
    ReasonTemplate,
    explanations_long,
    global_importance,
    group_contributions,
    humanize_feature,
    load_reasons,
    top_reasons,
)
from churnkit.explain._treeshap import TreeExplainer, UnsupportedModelError

__all__ = [
    "EXPECTED_COLUMN",
    "GlobalImportance",
    "ReasonConfig",
    "ReasonGroup",
    "ReasonTemplate",
    "TreeExplainer",
    "UnsupportedModelError",
    "explanations_long",
    "global_importance",
    "group_contributions",
    "humanize_feature",
    "load_reasons",
    "plot_beeswarm",
    "plot_global_reasons",
    "plot_waterfall",
    "top_reasons",
]
