"""Retention analytics: retention and churn rates, net revenue retention, cohorts, value and CLV.

Two ways of telling who is a customer:

- **contractual** (:func:`crr`): a customers table with signup and end dates
  (NaT end date = still a customer);
- **non-contractual** (:func:`activity_crr`): an event table; a customer is
  active in a calendar period when it has an event in it.

Both return one tidy table per period (and segment) with ``S``, ``N``, ``lost``,
``E``, ``crr = (E - N) / S * 100`` and ``churn_rate = lost / S``, from which
:func:`churn_rate` (optionally annualised) and :func:`net_revenue_retention`
select. :func:`customer_clv_table` values each customer from its purchases (Pareto/NBD
purchases × Gamma-Gamma spend) and :func:`clv_by_segment` sums and averages that per
segment. :func:`retention_report` writes all of it as CSV files and a self-contained
HTML page.
"""

from churnkit.retention._activity import activity_crr, customer_activity
from churnkit.retention._clv import clv_by_segment, customer_clv_table
from churnkit.retention._cohorts import activity_cohort_matrix, cohort_matrix
from churnkit.retention._plots import plot_clv_distribution, plot_cohorts, plot_crr, plot_value
from churnkit.retention._rates import annualise, churn_rate, crr, net_revenue_retention
from churnkit.retention._report import retention_report
from churnkit.retention._value import customer_lifetime_value, value_by_segment

__all__ = [
    "activity_cohort_matrix",
    "activity_crr",
    "annualise",
    "churn_rate",
    "clv_by_segment",
    "cohort_matrix",
    "crr",
    "customer_activity",
    "customer_clv_table",
    "customer_lifetime_value",
    "net_revenue_retention",
    "plot_clv_distribution",
    "plot_cohorts",
    "plot_crr",
    "plot_value",
    "retention_report",
    "value_by_segment",
]
