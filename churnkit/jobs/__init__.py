"""Jobs: what the command line runs, each one call from inputs to a result.

A job assembles the stages (data → labels → features → model → explain →
actions → report, plus retention and evaluation) and never re-implements one;
the scoring engines decide only how partitions are read and where work runs.

- :func:`train` → :class:`TrainResult` (``.summary``, ``.write(folder)``)
- :func:`score` → :class:`~churnkit.scoring.ScoreResult` (``.summary``, ``.write(file)``),
  the same type for every engine
- :func:`evaluate`: a backtest against baselines, its files and model report
- :func:`explain`: one customer's score, reasons and waterfall
- :func:`report`: at-risk lists per account manager from scores
- :func:`retention`: the retention report of a configuration
- :func:`impact`: what the lists achieved, treated vs their random control groups
- :func:`train_uplift`, :func:`rank_by_uplift`: who contact saves, and lists ranked by it
- :func:`monitor`: drift and realised performance of past scoring runs
- :func:`demo`: all of it on the built-in sample CRM

:func:`train`, :func:`evaluate` and :func:`monitor` log one MLflow run each when
called with ``mlflow=True`` (the extra ``churnkit-crm[mlflow]``).
"""

from churnkit.jobs._demo import demo
from churnkit.jobs._evaluate import comparison_columns, comparison_rows, evaluate
from churnkit.jobs._explain import explain
from churnkit.jobs._impact import ImpactResult, impact, read_assignments
from churnkit.jobs._monitor import monitor
from churnkit.jobs._report import read_scores, report
from churnkit.jobs._retention import retention
from churnkit.jobs._score import score
from churnkit.jobs._train import TrainResult, train
from churnkit.jobs._uplift import (
    UpliftResult,
    load_uplift,
    rank_by_uplift,
    train_uplift,
    uplift_metrics,
    write_uplift_list,
)
from churnkit.scoring import ScoreResult

__all__ = [
    "ScoreResult",
    "ImpactResult",
    "TrainResult",
    "UpliftResult",
    "comparison_columns",
    "comparison_rows",
    "demo",
    "evaluate",
    "explain",
    "impact",
    "load_uplift",
    "rank_by_uplift",
    "read_assignments",
    "monitor",
    "read_scores",
    "report",
    "retention",
    "score",
    "train",
    "train_uplift",
    "uplift_metrics",
    "write_uplift_list",
]
