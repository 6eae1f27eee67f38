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
- :func:`monitor`: drift and realised performance of past scoring runs
- :func:`demo`: all of it on the built-in sample CRM
"""

from churnkit.jobs._demo import demo
from churnkit.jobs._evaluate import comparison_rows, evaluate
from churnkit.jobs._explain import explain
from churnkit.jobs._monitor import monitor
from churnkit.jobs._report import read_scores, report
from churnkit.jobs._retention import retention
from churnkit.jobs._score import score
from churnkit.jobs._train import TrainResult, train
from churnkit.scoring import ScoreResult

__all__ = [
    "ScoreResult",
    "TrainResult",
    "comparison_rows",
    "demo",
    "evaluate",
    "explain",
    "monitor",
    "read_scores",
    "report",
    "retention",
    "score",
    "train",
]
