"""Learning what works: random holdouts, the measured impact of retention actions, uplift.

- :func:`assign_holdout`, :func:`assignments_table`: a random control group kept out of
  the at-risk lists, and the record of who was in which group;
- :func:`realised_outcomes`: assignments joined with the churn over the horizon and the
  contacts of the actions log;
- :func:`impact_table`, :func:`impact_by`, :func:`difference_interval`: treated vs control
  churn with Newcombe 95 % intervals, intent to treat and the effect per contact;
- :func:`impact_page`, :func:`plot_effects`: ``impact.html``;
- :class:`UpliftModel` (T-/X-learner on LightGBM) and its metrics :func:`qini_curve`,
  :func:`qini_coefficient`, :func:`auuc`, :func:`uplift_at_k`.
"""

from churnkit.impact._holdout import ASSIGNMENT_COLUMNS, assign_holdout, assignments_table
from churnkit.impact._measure import (
    IMPACT_COLUMNS,
    breakdown_levels,
    difference_interval,
    impact_by,
    impact_table,
    wilson_interval,
)
from churnkit.impact._outcomes import HorizonNotPassedError, action_tables, realised_outcomes
from churnkit.impact._page import impact_page, plot_effects
from churnkit.impact._uplift import UpliftModel
from churnkit.impact._uplift_metrics import auuc, qini_coefficient, qini_curve, uplift_at_k

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "IMPACT_COLUMNS",
    "HorizonNotPassedError",
    "UpliftModel",
    "action_tables",
    "assign_holdout",
    "assignments_table",
    "auuc",
    "breakdown_levels",
    "difference_interval",
    "impact_by",
    "impact_page",
    "impact_table",
    "plot_effects",
    "qini_coefficient",
    "qini_curve",
    "realised_outcomes",
    "uplift_at_k",
    "wilson_interval",
]
