"""Shapley values with groups of features as the players, against brute force and pred_contrib."""

from __future__ import annotations

import itertools
from math import factorial
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from churnkit.exceptions import ConfigError
from churnkit.model import TreeExplainer


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 5))
    X[:, 4] = rng.integers(0, 3, 600)
    y = (X[:, 0] * X[:, 1] + X[:, 2] - (X[:, 4] == 1) + 0.3 * X[:, 3] > 0).astype(int)
    X[rng.random(X.shape) < 0.08] = np.nan
    X[rng.random(X.shape) < 0.04] = 0.0
    return X, y


@pytest.fixture(scope="module")
def booster(data: tuple[np.ndarray, np.ndarray]) -> lgb.Booster:
    params = {"objective": "binary", "verbose": -1, "num_threads": 1, "seed": 0, "num_leaves": 8}
    return lgb.train(params, lgb.Dataset(*data), 12)


def _goes_left(node: dict[str, Any], x: float) -> bool:
    """LightGBM's numerical decision (no categorical splits in these models)."""
    missing, default_left = node.get("missing_type", "None"), node.get("default_left", True)
    if np.isnan(x):
        if missing == "NaN":
            return bool(default_left)
        x = 0.0
    if missing == "Zero" and abs(x) <= 1e-35:
        return bool(default_left)
    return bool(x <= node["threshold"])


def _value(node: dict[str, Any], x: np.ndarray, inside: set[int], player: np.ndarray) -> float:
    """Path-dependent expectation of a tree: follow x on the coalition's features only."""
    if "split_index" not in node:
        return float(node["leaf_value"])
    left, right = node["left_child"], node["right_child"]
    if player[node["split_feature"]] in inside:
        return _value(left if _goes_left(node, x[node["split_feature"]]) else right, x, inside, player)
    count = float(node["internal_count"])

    def cover(child: dict[str, Any]) -> float:
        return float(child["leaf_count"] if "split_index" not in child else child["internal_count"])

    return (cover(left) * _value(left, x, inside, player)
            + cover(right) * _value(right, x, inside, player)) / count


def _brute_force(booster: lgb.Booster, x: np.ndarray, player: np.ndarray) -> np.ndarray:
    """Shapley values of the players by enumerating every coalition."""
    trees = [t["tree_structure"] for t in booster.dump_model()["tree_info"]]
    n = int(player.max()) + 1

    def v(inside: set[int]) -> float:
        return sum(_value(t, x, inside, player) for t in trees)

    phi = np.zeros(n)
    for p in range(n):
        others = [q for q in range(n) if q != p]
        for size in range(n):
            weight = factorial(size) * factorial(n - size - 1) / factorial(n)
            for coalition in itertools.combinations(others, size):
                phi[p] += weight * (v({*coalition, p}) - v(set(coalition)))
    return phi


def test_groups_as_players_equal_brute_force(booster, data):
    X = data[0][:15]
    explainer = TreeExplainer(booster)
    player = np.array([0, 0, 1, 2, 1])  # the interacting features 0 and 1 in one player
    got = explainer.player_shap_values(X, player)
    assert got.shape == (len(X), 4)
    for r in range(len(X)):
        np.testing.assert_allclose(got[r, :-1], _brute_force(booster, X[r], player), atol=1e-9)
    # not the sums of the features' SHAP values: the interaction of 0 and 1 is the player's
    phi = explainer.shap_values(X)
    summed = np.column_stack([phi[:, [0, 1]].sum(1), phi[:, [2, 4]].sum(1), phi[:, 3]])
    assert not np.allclose(got[:, :-1], summed, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), booster.predict(X, raw_score=True), atol=1e-9)


def test_one_player_per_feature_is_treeshap(booster, data):
    X = data[0]
    got = TreeExplainer(booster).player_shap_values(X, np.arange(X.shape[1]))
    np.testing.assert_allclose(got, booster.predict(X, pred_contrib=True), rtol=0, atol=1e-9)
    # relabelled players: the same values in the new columns
    perm = np.array([3, 0, 4, 1, 2])
    moved = TreeExplainer(booster).player_shap_values(X, perm)
    np.testing.assert_allclose(moved[:, perm], got[:, :-1], atol=1e-12)


def test_players_row_by_row_and_one_player_for_all(booster, data):
    X = data[0][:40]
    explainer = TreeExplainer(booster, n_jobs=1)
    a, b = np.array([0, 0, 1, 2, 1]), np.array([2, 1, 1, 0, 0])
    rows = np.where(np.arange(len(X))[:, None] % 2 == 0, a, b)
    mixed = explainer.player_shap_values(pd.DataFrame(X), rows, 3)
    np.testing.assert_allclose(mixed[::2], explainer.player_shap_values(X[::2], a, 3), atol=1e-12)
    np.testing.assert_allclose(mixed[1::2], explainer.player_shap_values(X[1::2], b, 3), atol=1e-12)
    alone = explainer.player_shap_values(X, np.zeros(5, dtype=int), 2)
    raw = booster.predict(X, raw_score=True)
    np.testing.assert_allclose(alone[:, 0], raw - explainer.expected_value, atol=1e-9)
    assert (alone[:, 1] == 0).all()  # a player without features gets nothing
    assert explainer.player_shap_values(X[:0], a).shape == (0, 4)


def test_player_errors(booster, data):
    explainer = TreeExplainer(booster)
    X = data[0][:3]
    with pytest.raises(ConfigError, match="must be integer player ids of shape"):
        explainer.player_shap_values(X, [0, 1, 2])
    with pytest.raises(ConfigError, match="must be integer player ids"):
        explainer.player_shap_values(X, np.zeros(5))
    with pytest.raises(ConfigError, match=r"must be in \[0, 1\]"):
        explainer.player_shap_values(X, [0, 1, 2, 0, 1], 2)
    with pytest.raises(ConfigError, match="must be in"):
        explainer.player_shap_values(X, [0, -1, 2, 0, 1])
