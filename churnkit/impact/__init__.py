"""Learning what works: random holdouts, the measured impact of retention actions, uplift.

- :func:`assign_holdout` and :func:`assignments_table`: a random control group kept out
  of the at-risk lists, and the record of who was in which group.
"""

from churnkit.impact._holdout import ASSIGNMENT_COLUMNS, assign_holdout, assignments_table

__all__ = ["ASSIGNMENT_COLUMNS", "assign_holdout", "assignments_table"]
