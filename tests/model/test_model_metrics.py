"""One definition of each score metric, shared by training and evaluation."""

import numpy as np
import pytest

from churnkit.evaluate import evaluation_metrics
from churnkit.model import classification_metrics


@pytest.mark.parametrize("order", ["churners_first", "churners_last", "shuffled"])
def test_top_decile_lift_is_tie_aware_and_the_same_in_training_and_evaluation(order):
    """20 tied scores, 10 churners: the top decile is a random draw, so the lift is 1."""
    y = np.r_[np.ones(10, bool), np.zeros(10, bool)]
    if order == "churners_last":
        y = y[::-1]
    elif order == "shuffled":
        y = np.random.default_rng(0).permutation(y)
    p = np.full(20, 0.4)
    assert classification_metrics(y, p)["top_decile_lift"] == pytest.approx(1.0)
    assert evaluation_metrics(y, p)["top_decile_lift"] == pytest.approx(1.0)


def test_evaluation_metrics_extend_the_model_metrics_with_the_same_values():
    rng = np.random.default_rng(3)
    y = rng.random(500) < 0.2
    p = np.clip(0.2 + 0.3 * y + rng.normal(0, 0.2, 500), 0, 1)
    model = classification_metrics(y, p)
    evaluation = evaluation_metrics(y, p)
    assert set(model) < set(evaluation)
    assert {k: evaluation[k] for k in model} == model
