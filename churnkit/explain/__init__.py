"""Explanations: exact TreeSHAP contributions grouped into worded reasons, and plots."""

from churnkit.explain._customer import (
    CustomerExplanation,
    customer_features,
    explain_customer,
    explanations_long,
    feature_reasons,
    write_customer_explanation,
)
from churnkit.explain._plots import plot_beeswarm, plot_global_reasons, plot_waterfall
from churnkit.explain._reasons import (
    EXPECTED_COLUMN,
    GlobalImportance,
    ReasonConfig,
    ReasonGroup,
    ReasonPattern,
    ReasonTemplate,
    global_importance,
    group_contributions,
    load_reasons,
    top_reasons,
)
from churnkit.explain._values import format_value
from churnkit.explain._wording import humanize_feature
from churnkit.model import TreeExplainer, UnsupportedModelError

__all__ = [
    "EXPECTED_COLUMN",
    "CustomerExplanation",
    "GlobalImportance",
    "ReasonConfig",
    "ReasonGroup",
    "ReasonPattern",
    "ReasonTemplate",
    "TreeExplainer",
    "UnsupportedModelError",
    "customer_features",
    "explain_customer",
    "explanations_long",
    "feature_reasons",
    "format_value",
    "global_importance",
    "group_contributions",
    "humanize_feature",
    "load_reasons",
    "plot_beeswarm",
    "plot_global_reasons",
    "plot_waterfall",
    "top_reasons",
    "write_customer_explanation",
]
