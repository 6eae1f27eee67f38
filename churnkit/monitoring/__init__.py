"""Monitoring of scoring runs: drift, realised performance and the retraining signal.

Every scoring run leaves ``run.json`` beside its scores (see
:func:`churnkit.scoring.run_record`): its rows, rejects and the counts of its
features and scores in the bins of the model's training profile. :func:`monitor`
compares each run with the training data and with the previous run
(population stability index, Jensen-Shannon distance, missing and unseen
values), ranked by the features' importance to the model, measures how the
scores of past runs came true once their horizon has passed, and says when to
retrain.
"""

from churnkit.monitoring._drift import LEVELS, drift_level, js_distance, psi
from churnkit.monitoring._monitor import SCORE, feature_importance_share, run_drift
from churnkit.monitoring._result import EXIT_ACT, MonitorResult, monitor
from churnkit.monitoring._runs import read_run_scores, read_runs

__all__ = [
    "EXIT_ACT",
    "LEVELS",
    "SCORE",
    "MonitorResult",
    "drift_level",
    "feature_importance_share",
    "js_distance",
    "monitor",
    "psi",
    "read_run_scores",
    "read_runs",
    "run_drift",
]
