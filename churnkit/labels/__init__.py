"""Labels: cutoff schedules and churn definitions (contractual, inactivity, column)."""

from churnkit.labels._labels import (
    active_mask,
    label_population,
    labels_from_config,
    make_cutoffs,
    make_labels,
)

__all__ = ["active_mask", "label_population", "labels_from_config", "make_cutoffs", "make_labels"]
