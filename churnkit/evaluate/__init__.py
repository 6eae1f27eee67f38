"""Evaluation: backtests against baselines, metrics, profit, and the model report.

:func:`backtest` evaluates a configuration out of time (event mode) or by
stratified K-fold (snapshot mode), with a one-feature rule, a logistic
regression, a plain LightGBM and (inactivity labels) a Pareto/NBD model fitted on
the same folds; :func:`write_model_report` renders the result as a self-contained
HTML page; :func:`churnkit.jobs.evaluate` does both for a configuration file (the
``churnkit evaluate`` command).
"""

from churnkit.evaluate import _plots
from churnkit.evaluate._backtest import (
    BASELINES,
    HEADLINE,
    OPTIONAL_BASELINES,
    EvaluationResult,
    backtest,
    baselines_of,
)
from churnkit.evaluate._baselines import (
    PLAIN_LIGHTGBM,
    RuleBaseline,
    btyd_table,
    fit_btyd_baseline,
    logistic_baseline,
    plain_lightgbm,
    raw_columns,
)
from churnkit.evaluate._metrics import evaluation_metrics
from churnkit.evaluate._plots import *  # noqa: F403 -- the plot_* functions of _plots.__all__
from churnkit.evaluate._profit import best_profit, expected_max_profit, profit_curve
from churnkit.evaluate._report import global_importance_table, write_model_report
from churnkit.model import TOP_SHARES, calibration_table, cumulative_gains, lift_at

__all__ = [
    "BASELINES",
    "HEADLINE",
    "OPTIONAL_BASELINES",
    "PLAIN_LIGHTGBM",
    "TOP_SHARES",
    "EvaluationResult",
    "RuleBaseline",
    "backtest",
    "baselines_of",
    "best_profit",
    "calibration_table",
    "cumulative_gains",
    "evaluation_metrics",
    "expected_max_profit",
    "fit_btyd_baseline",
    "btyd_table",
    "global_importance_table",
    "lift_at",
    "logistic_baseline",
    "plain_lightgbm",
    "profit_curve",
    "raw_columns",
    "write_model_report",
]
__all__ += _plots.__all__
