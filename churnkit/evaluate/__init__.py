"""Evaluation: backtests against baselines, metrics, profit, and the model report.

:func:`backtest` evaluates a configuration out of time (event mode) or by
stratified K-fold (snapshot mode), with a one-feature rule and a logistic
regression fitted on the same folds; :func:`write_model_report` renders the
result as a self-contained HTML page; :func:`run_evaluation` does both for a
configuration file (the ``churnkit evaluate`` command).
"""

from churnkit.evaluate._backtest import HEADLINE, EvaluationResult, backtest
from churnkit.evaluate._baselines import RuleBaseline, logistic_baseline
from churnkit.evaluate._metrics import (
    TOP_SHARES,
    calibration_table,
    cumulative_gains,
    evaluation_metrics,
    lift_at,
)
from churnkit.evaluate._plots import (
    plot_calibration,
    plot_gains,
    plot_importance,
    plot_pr,
    plot_profit,
    plot_roc,
)
from churnkit.evaluate._profit import best_profit, expected_max_profit, profit_curve
from churnkit.evaluate._report import global_importance_table, write_model_report
from churnkit.evaluate._run import comparison_rows, run_evaluation

__all__ = [
    "HEADLINE",
    "TOP_SHARES",
    "EvaluationResult",
    "RuleBaseline",
    "backtest",
    "best_profit",
    "calibration_table",
    "comparison_rows",
    "cumulative_gains",
    "evaluation_metrics",
    "expected_max_profit",
    "global_importance_table",
    "lift_at",
    "logistic_baseline",
    "plot_calibration",
    "plot_gains",
    "plot_importance",
    "plot_pr",
    "plot_profit",
    "plot_roc",
    "profit_curve",
    "run_evaluation",
    "write_model_report",
]
