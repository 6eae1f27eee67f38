"""Tests of churnkit.model._treeshap.TreeExplainer against LightGBM's pred_contrib."""

from __future__ import annotations

import pickle
import warnings
from math import comb
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from churnkit.exceptions import ConfigError, ModelError, NotFittedError, SchemaError
from churnkit.model import TreeExplainer, UnsupportedModelError
from churnkit.model._treeshap_forest import (
    E_NODE,
    L_N_PATH,
    L_N_UF,
    N_KIND,
    R_N_EDGES,
    T_NODE_OFF,
    U_TABLE_OFF,
)

ATOL = 1e-12


def _train(X: Any, y: np.ndarray, rounds: int = 20, **params: Any) -> lgb.Booster:
    base = {"objective": "binary", "verbose": -1, "num_threads": 1, "seed": 0}
    cat = params.pop("categorical_feature", "auto")
    return lgb.train({**base, **params}, lgb.Dataset(X, y, categorical_feature=cat), rounds)


def _assert_matches(booster: lgb.Booster, X: Any, **kwargs: Any) -> np.ndarray:
    phi = TreeExplainer(booster, **kwargs).shap_values(X)
    ref = booster.predict(X, pred_contrib=True)
    assert phi.shape == ref.shape
    np.testing.assert_allclose(phi, ref, rtol=0, atol=ATOL)
    raw = booster.predict(X, raw_score=True)
    np.testing.assert_allclose(phi.sum(axis=1), raw, rtol=0, atol=ATOL)
    return phi


@pytest.fixture(scope="module")
def numeric_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 6))
    X[:, 5] = rng.integers(0, 3, 800)  # many exact zeros
    y = (X[:, 0] + X[:, 1] * X[:, 2] + (X[:, 5] == 0) > 0.3).astype(int)
    X[rng.random(X.shape) < 0.08] = np.nan
    X[rng.random(X.shape) < 0.05] = 0.0
    return X, y


@pytest.fixture(scope="module")
def booster(numeric_data: tuple[np.ndarray, np.ndarray]) -> lgb.Booster:
    return _train(*numeric_data, num_leaves=15)


def _edge_rows(booster: lgb.Booster, n_features: int, seed: int = 1) -> np.ndarray:
    """Rows on and around every threshold, plus NaN, +-0, tiny and infinite values."""
    rng = np.random.default_rng(seed)
    thresholds: dict[int, list[float]] = {}
    stack = [info["tree_structure"] for info in booster.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_index" in node:
            if node["decision_type"] == "<=":
                thresholds.setdefault(node["split_feature"], []).append(node["threshold"])
            stack += [node["left_child"], node["right_child"]]
    specials = [np.nan, 0.0, -0.0, 1e-36, -1e-36, 1e-30, np.inf, -np.inf]
    columns = []
    for f in range(n_features):
        t = np.asarray(thresholds.get(f, [0.0]))
        pool = np.concatenate([t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf), specials])
        columns.append(rng.choice(pool, 300))
    return np.column_stack(columns)


# ---------------------------------------------------------------- exactness
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"use_missing": False},
        {"zero_as_missing": True},
        {"max_depth": 3, "num_leaves": 8},
    ],
    ids=["default", "use_missing_false", "zero_as_missing", "shallow"],
)
def test_numeric_matches_pred_contrib(
    numeric_data: tuple[np.ndarray, np.ndarray], params: dict[str, Any]
) -> None:
    X, y = numeric_data
    model = _train(X, y, **params)
    _assert_matches(model, X)
    _assert_matches(model, _edge_rows(model, X.shape[1]))


def test_on_the_fly_path_matches(booster: lgb.Booster, numeric_data: Any) -> None:
    X = numeric_data[0]
    explainer = TreeExplainer(booster, max_table_depth=0)
    assert (explainer._forest.units[:, U_TABLE_OFF] < 0).all()
    np.testing.assert_allclose(
        explainer.shap_values(X), booster.predict(X, pred_contrib=True), rtol=0, atol=ATOL
    )


def test_repeated_features_on_a_path() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1000, 2))
    y = (np.sin(3 * X[:, 0]) + X[:, 1] ** 2 > 0.8).astype(int)
    model = _train(X, y, num_leaves=31, min_data_in_leaf=5)
    forest = TreeExplainer(model)._forest
    assert (
        forest.leaves[:, L_N_PATH] > forest.leaves[:, L_N_UF]
    ).any()  # paths longer than distinct features
    _assert_matches(model, X)
    _assert_matches(model, X, max_table_depth=0)


def test_deep_trees_use_fallback() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1500, 3))
    y = (rng.random(1500) < 0.5).astype(int)  # noise: leaf-wise growth makes deep trees
    model = _train(X, y, rounds=5, num_leaves=63, max_depth=-1, min_data_in_leaf=2)
    explainer = TreeExplainer(model)
    depth = explainer._forest.leaves[:, L_N_PATH].max()
    assert depth > 12
    assert (explainer._forest.units[:, U_TABLE_OFF] < 0).any()
    assert (explainer._forest.regions[:, R_N_EDGES] > 0).any()
    _assert_matches(model, X)


# ------------------------------------------------------------- deep trees
def _reference_shap(booster: lgb.Booster, X: np.ndarray) -> np.ndarray:
    """Path-dependent TreeSHAP written independently of churnkit's kernels.

    Numerical splits only.  For each leaf, the weight of feature ``j`` is ``sum_k k! (d-1-k)! / d!`` times
    the coefficient of ``x**k`` in ``prod_{i != j} (z_i + o_i x)``: sums and
    products of non-negative numbers only, so it stays accurate where
    LightGBM's extend / unwind recursion loses digits (long paths).
    """
    n_rows, n_feat = X.shape
    phi = np.zeros((n_rows, n_feat))
    for info in booster.dump_model()["tree_info"]:
        walk: list[tuple[dict[str, Any], list[tuple[int, float, np.ndarray]]]] = [(info["tree_structure"], [])]
        while walk:
            node, path = walk.pop()
            if "split_index" in node:
                assert node["decision_type"] == "<="  # numerical splits only
                left = np.array([_goes_left(node, x) for x in X])
                count = float(node["internal_count"])
                for side, follows in (("left_child", left), ("right_child", ~left)):
                    child = node[side]
                    c = float(child["leaf_count"] if "split_index" not in child else child["internal_count"])
                    walk.append((child, [*path, (node["split_feature"], c / count, follows)]))
                continue
            feats = list(dict.fromkeys(f for f, _, _ in path))
            d = len(feats)
            z = np.ones(d)
            o = np.ones((n_rows, d))
            for f, ratio, follows in path:  # a feature split several times: merged
                z[feats.index(f)] *= ratio
                o[:, feats.index(f)] *= follows
            shapley = np.array([1.0 / (d * comb(d - 1, k)) for k in range(d)])
            for j in range(d):
                coef = np.zeros((n_rows, d))  # of x**k in prod_{i != j} (z_i + o_i x)
                coef[:, 0] = 1.0
                for i in range(d):
                    if i != j:
                        coef[:, 1:] = coef[:, 1:] * z[i] + coef[:, :-1] * o[:, i : i + 1]
                        coef[:, 0] *= z[i]
                phi[:, feats[j]] += node["leaf_value"] * (o[:, j] - z[j]) * (coef @ shapley)
    return phi


def _chain_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A target that counts the leading features above -1.5: trees grow a 30-split chain."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 34))
    y = np.cumprod(X[:, :32] > -1.5, axis=1).sum(axis=1) + 0.1 * rng.normal(size=n)
    return X, y


def test_reference_matches_pred_contrib(booster: lgb.Booster, numeric_data: Any) -> None:
    X = numeric_data[0][:200]
    np.testing.assert_allclose(
        _reference_shap(booster, X), booster.predict(X, pred_contrib=True)[:, :-1], rtol=0, atol=ATOL
    )


@pytest.mark.parametrize("max_table_depth", [12, 6, 0])
def test_thirty_path_features_are_exact(max_table_depth: int) -> None:
    X, y = _chain_data(5000, 7)
    model = _train(X, y, rounds=3, objective="regression", num_leaves=48, max_depth=-1, learning_rate=0.5)
    explainer = TreeExplainer(model, max_table_depth=max_table_depth)
    assert explainer._forest.leaves[:, L_N_UF].max() >= 30
    rows = np.vstack([X[:40], _edge_rows(model, X.shape[1])[:40]])
    phi = explainer.shap_values(rows)
    np.testing.assert_allclose(phi[:, :-1], _reference_shap(model, rows), rtol=0, atol=ATOL)
    np.testing.assert_allclose(phi.sum(axis=1), model.predict(rows, raw_score=True), rtol=0, atol=ATOL)
    # LightGBM's own recursion drifts on such paths (about 1e-8 here), hence the reference
    np.testing.assert_allclose(phi, model.predict(rows, pred_contrib=True), rtol=0, atol=1e-6)


def _deep_frame(n: int, seed: int) -> pd.DataFrame:
    """Few features (so paths repeat them), NaNs, exact zeros and a 40-level category."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    X[:, 3] = rng.integers(-2, 3, n)
    X[rng.random(X.shape) < 0.1] = np.nan
    X[rng.random(X.shape) < 0.05] = 0.0
    frame = pd.DataFrame(X, columns=["a", "b", "c", "k"])
    codes = rng.integers(0, 40, n)
    frame["cat"] = pd.Categorical(np.where(rng.random(n) < 0.05, None, [f"c{i}" for i in codes]))
    return frame


@pytest.mark.parametrize(
    "params",
    [{}, {"zero_as_missing": True}, {"use_missing": False}],
    ids=["default", "zero_as_missing", "use_missing_false"],
)
def test_deep_region_matches_pred_contrib(params: dict[str, Any]) -> None:
    frame = _deep_frame(3000, 8)
    rng = np.random.default_rng(9)
    y = (rng.random(len(frame)) < 0.3 + 0.4 * (frame["cat"].cat.codes.to_numpy() % 3 == 0)).astype(int)
    model = _train(
        frame, y, rounds=6, num_leaves=63, max_depth=-1, min_data_in_leaf=3,
        min_data_per_group=3, cat_smooth=1.0, max_cat_to_onehot=2, **params,
    )
    forest = TreeExplainer(model)._forest
    assert forest.leaves[:, L_N_PATH].max() > 12  # deep leaves, computed by the deep regions
    assert (forest.leaves[:, L_N_PATH] - forest.leaves[:, L_N_UF]).max() >= 8  # repeated features
    in_regions = [
        forest.trees[t, T_NODE_OFF] + forest.edges[e, E_NODE]
        for t, (e0, n, _) in enumerate(forest.regions)
        for e in range(e0, e0 + n)
    ]
    assert (forest.nodes[in_regions, N_KIND] == 1).any()  # categorical splits in the deep regions
    test = _deep_frame(400, 10)
    for depth in (12, 4, 0):
        _assert_matches(model, test, max_table_depth=depth)
        _assert_matches(model, frame.iloc[:400], max_table_depth=depth)


def test_deep_region_is_deterministic() -> None:
    X, y = _chain_data(3000, 11)
    model = _train(X, y, rounds=3, objective="regression", num_leaves=40, max_depth=-1)
    rows = np.tile(X[:700], (2, 1))
    first = TreeExplainer(model, n_jobs=2, max_table_depth=4).shap_values(rows)
    np.testing.assert_array_equal(TreeExplainer(model, n_jobs=1, max_table_depth=4).shap_values(rows), first)
    np.testing.assert_array_equal(
        TreeExplainer(model, max_table_depth=4).shap_values(rows[3:80]), first[3:80]
    )
    np.testing.assert_array_equal(first[:700], first[700:])


def test_zero_cover_child_gives_finite_exact_values() -> None:
    """A child no training row reached (hand-edited counts): LightGBM's recursion divides by 0."""
    rng = np.random.default_rng(12)
    X = rng.normal(size=(200, 3))
    base = _train(X, rng.normal(size=200), rounds=1, objective="regression", num_leaves=4)
    text = base.model_to_string()
    tree = text[text.index("Tree=0") :]
    counts = [int(c) for c in tree.split("leaf_count=")[1].split("\n")[0].split()]
    inner = [int(c) for c in tree.split("internal_count=")[1].split("\n")[0].split()]
    left = [int(c) for c in tree.split("left_child=")[1].split("\n")[0].split()]
    right = [int(c) for c in tree.split("right_child=")[1].split("\n")[0].split()]
    parent = {child: node for node, kids in enumerate(zip(left, right, strict=True)) for child in kids}
    leaf = 1
    drop, counts[leaf] = counts[leaf], 0
    node = parent[~leaf]
    while True:  # the ancestors lose the leaf's rows too
        inner[node] -= drop
        if node not in parent:
            break
        node = parent[node]
    edited = lgb.Booster(
        model_str=text.replace(
            "leaf_count=" + tree.split("leaf_count=")[1].split("\n")[0],
            "leaf_count=" + " ".join(map(str, counts)),
        ).replace(
            "internal_count=" + tree.split("internal_count=")[1].split("\n")[0],
            "internal_count=" + " ".join(map(str, inner)),
        )
    )
    assert np.isnan(edited.predict(X, pred_contrib=True)).any()
    expected = _reference_shap(edited, X)
    for depth in (12, 0):
        explainer = TreeExplainer(edited, max_table_depth=depth)
        phi = explainer.shap_values(X)
        np.testing.assert_allclose(phi[:, :-1], expected, rtol=0, atol=ATOL)
        np.testing.assert_allclose(phi.sum(axis=1), edited.predict(X, raw_score=True), rtol=0, atol=ATOL)
        players = explainer.player_shap_values(X, [0, 1, 2])
        np.testing.assert_allclose(players, phi, rtol=0, atol=ATOL)


def test_memory_budget_lowers_table_depth(booster: lgb.Booster, numeric_data: Any) -> None:
    explainer = TreeExplainer(booster, max_table_mb=0.01)
    assert explainer.table_nbytes_ <= 0.01 * 2**20
    assert explainer.table_depth_ < TreeExplainer(booster).table_depth_
    np.testing.assert_allclose(
        explainer.shap_values(numeric_data[0]),
        booster.predict(numeric_data[0], pred_contrib=True),
        rtol=0,
        atol=ATOL,
    )


def test_single_leaf_trees(numeric_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = numeric_data
    constant = _train(X, y, rounds=1, min_data_in_leaf=10_000)
    assert constant.dump_model()["tree_info"][0]["num_leaves"] == 1
    phi = _assert_matches(constant, X)
    assert (phi[:, :-1] == 0).all()
    mixed = lgb.train(
        {"objective": "binary", "verbose": -1, "num_threads": 1}, lgb.Dataset(X, y), 10, init_model=constant
    )
    n_leaves = [t["num_leaves"] for t in mixed.dump_model()["tree_info"]]
    assert n_leaves[0] == 1
    assert min(n_leaves[1:]) > 1
    _assert_matches(mixed, X)


def _category_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    plans = [f"plan_{i}" for i in range(45)]  # > 32 categories: multi-word bitsets
    return pd.DataFrame(
        {
            "tenure": rng.normal(size=n),
            "plan": pd.Categorical(rng.choice(plans, n), categories=plans),
            "region": pd.Categorical(rng.choice(["n", "s", "e", "w"], n)),
            "spend": rng.gamma(2.0, size=n).astype(np.float32),
            "n_tickets": rng.integers(0, 5, n),
        }
    )


def test_pandas_categories_including_unseen() -> None:
    df = _category_frame(1500, 4)
    plan_code = df["plan"].cat.codes.to_numpy()
    y = ((plan_code % 3 == 0) ^ (df["region"] == "n").to_numpy() ^ (df["tenure"] > 0.5)).astype(int)
    model = _train(df, y, num_leaves=15, min_data_per_group=5, cat_smooth=1.0)
    assert any(n.get("decision_type") == "==" for n in _nodes(model))
    test = _category_frame(300, 5)
    # unseen categories and missing values at prediction time
    test["plan"] = test["plan"].cat.add_categories(["plan_new"])
    test.loc[:20, "plan"] = "plan_new"
    test.loc[21:40, "plan"] = np.nan
    test["region"] = pd.Categorical(test["region"].astype(str).replace("e", "x"))
    _assert_matches(model, test)
    # sklearn wrapper with the same frame
    clf = lgb.LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1, n_jobs=1).fit(df, y)
    np.testing.assert_allclose(
        TreeExplainer(clf).shap_values(test),
        clf.predict(test, pred_contrib=True),
        rtol=0,
        atol=ATOL,
    )


def test_integer_categorical_features_edge_values() -> None:
    rng = np.random.default_rng(6)
    X = np.column_stack([rng.integers(0, 40, 2000), rng.normal(size=2000), rng.integers(0, 6, 2000)]).astype(
        float
    )
    y = ((X[:, 0] % 4 == 1) | ((X[:, 2] == 3) & (X[:, 1] > 0))).astype(int)
    model = _train(X, y, num_leaves=15, categorical_feature=[0, 2], min_data_per_group=5)
    specials = [np.nan, -1.0, -0.5, -0.0, 0.0, 0.7, 2.9, 39.0, 64.0, 1e10, 3e9, -3e9, np.inf]
    test = X[:300].copy()
    test[:, 0] = rng.choice(np.concatenate([specials, np.arange(45.0)]), 300)
    test[:, 2] = rng.choice(np.concatenate([specials, np.arange(8.0)]), 300)
    _assert_matches(model, test)


def test_decision_rule_matches_pred_leaf(booster: lgb.Booster, numeric_data: Any) -> None:
    """The split semantics the kernels implement, checked against LightGBM's leaf indices."""
    rows = _edge_rows(booster, numeric_data[0].shape[1])
    leaves = booster.predict(rows, pred_leaf=True)
    for t, info in enumerate(booster.dump_model()["tree_info"]):
        for r, x in enumerate(rows):
            node = info["tree_structure"]
            while "split_index" in node:
                node = node["left_child"] if _goes_left(node, x) else node["right_child"]
            assert node.get("leaf_index", 0) == leaves[r, t]


def _goes_left(node: dict[str, Any], x: np.ndarray) -> bool:
    """LightGBM's numerical decision at a split of ``dump_model()``, written out."""
    v = x[node["split_feature"]]
    threshold = node["threshold"]
    if abs(threshold) >= 1e300:  # the dump writes +-inf as +-1e300
        threshold = np.copysign(np.inf, threshold)
    if np.isnan(v) and node["missing_type"] != "NaN":
        v = 0.0
    if abs(v) <= float(np.float32(1e-35)):
        v = 0.0
    if (node["missing_type"] == "Zero" and v == 0.0) or (node["missing_type"] == "NaN" and np.isnan(v)):
        return bool(node["default_left"])
    return bool(v <= threshold)


def _nodes(model: lgb.Booster) -> list[dict[str, Any]]:
    out, stack = [], [i["tree_structure"] for i in model.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        out.append(node)
        stack += [node[k] for k in ("left_child", "right_child") if k in node]
    return out


# ----------------------------------------------------------- input handling
def test_one_and_zero_rows(booster: lgb.Booster, numeric_data: Any) -> None:
    X = numeric_data[0]
    explainer = TreeExplainer(booster)
    np.testing.assert_allclose(
        explainer.shap_values(X[:1]), booster.predict(X[:1], pred_contrib=True), atol=ATOL
    )
    assert explainer.shap_values(X[:0]).shape == (0, X.shape[1] + 1)
    assert explainer.grouped_shap_values(X[:0], [[0, 1]]).shape == (0, 2)


def test_dtypes_and_layouts(booster: lgb.Booster, numeric_data: Any) -> None:
    X = np.nan_to_num(numeric_data[0][:200])
    explainer = TreeExplainer(booster)
    for variant in (
        np.asfortranarray(X),
        X.astype(np.float32),
        (X * 100).astype(np.int64),
        X[::2],
        X.tolist(),
    ):
        ref = booster.predict(np.asarray(variant), pred_contrib=True)
        np.testing.assert_allclose(explainer.shap_values(variant), ref, rtol=0, atol=ATOL)


def test_expected_value_and_local_accuracy(booster: lgb.Booster, numeric_data: Any) -> None:
    X = numeric_data[0]
    explainer = TreeExplainer(booster)
    phi = explainer.shap_values(X)
    assert explainer.expected_value == pytest.approx(phi[0, -1], abs=0)
    assert explainer.expected_value == pytest.approx(
        booster.predict(X[:1], pred_contrib=True)[0, -1], abs=1e-12
    )


def test_random_forest(numeric_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = numeric_data
    rf = _train(X, y, boosting="rf", bagging_freq=1, bagging_fraction=0.7, num_leaves=7)
    _assert_matches(rf, X)


def test_regression_objective(numeric_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = numeric_data
    _assert_matches(_train(X, y + X[:, 0], objective="regression", num_leaves=7), X)


# ----------------------------------------------------------------- shap
def test_cross_check_with_shap(booster: lgb.Booster, numeric_data: Any) -> None:
    shap = pytest.importorskip("shap")
    X = np.nan_to_num(numeric_data[0][:50])
    ours = TreeExplainer(booster).shap_values(X)
    explainer = shap.TreeExplainer(booster)
    with warnings.catch_warnings():
        # shap warns that its LightGBM binary output format changed; not our concern here
        warnings.simplefilter("ignore", UserWarning)
        theirs = explainer.shap_values(X)
        if isinstance(theirs, list):  # older shap: one array per class
            theirs = theirs[-1]
        np.testing.assert_allclose(ours[:, :-1], np.asarray(theirs), rtol=0, atol=ATOL)
        assert float(np.ravel(explainer.expected_value)[-1]) == pytest.approx(ours[0, -1], abs=ATOL)
        # shap's own TreeSHAP implementation (not LightGBM's), when it exposes it
        if getattr(explainer.model, "model_type", None) == "lightgbm":
            explainer.model.model_type = "internal"
            own = np.asarray(explainer.shap_values(X))
            np.testing.assert_allclose(ours[:, :-1], own.reshape(ours[:, :-1].shape), atol=ATOL)


# ------------------------------------------------------ grouped, pickle, determinism
def test_grouped_values_are_sums(booster: lgb.Booster, numeric_data: Any) -> None:
    X = numeric_data[0]
    explainer = TreeExplainer(booster)
    phi = explainer.shap_values(X)
    groups = [np.array([0, 1]), [2], np.array([5, 3, 4]), [], [0, 5]]
    grouped = explainer.grouped_shap_values(X, groups)
    assert grouped.shape == (X.shape[0], len(groups) + 1)
    for g, members in enumerate(groups):
        np.testing.assert_allclose(grouped[:, g], phi[:, list(members)].sum(axis=1), atol=1e-12)
    np.testing.assert_array_equal(grouped[:, -1], phi[:, -1])


def test_pickle_round_trip(booster: lgb.Booster, numeric_data: Any) -> None:
    X = numeric_data[0]
    explainer = TreeExplainer(booster)
    expected = explainer.shap_values(X)
    blob = pickle.dumps(explainer)
    assert len(blob) < explainer.table_nbytes_ or explainer.table_nbytes_ < 10_000
    clone = pickle.loads(blob)
    np.testing.assert_array_equal(clone.shap_values(X), expected)
    assert clone.expected_value == explainer.expected_value


def test_deterministic_across_runs_and_threads(booster: lgb.Booster, numeric_data: Any) -> None:
    X = np.tile(numeric_data[0], (3, 1))
    first = TreeExplainer(booster, n_jobs=2).shap_values(X)
    np.testing.assert_array_equal(TreeExplainer(booster, n_jobs=2).shap_values(X), first)
    np.testing.assert_array_equal(TreeExplainer(booster, n_jobs=1).shap_values(X), first)
    np.testing.assert_array_equal(TreeExplainer(booster).shap_values(X[1:])[:10], first[1:11])


# ----------------------------------------------------------------- errors
def test_multiclass_is_rejected(numeric_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = numeric_data
    model = _train(
        X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0), rounds=2, objective="multiclass", num_class=3
    )
    with pytest.raises(UnsupportedModelError, match="3 outputs"):
        TreeExplainer(model)
    with pytest.raises(ValueError, match="single-output"):
        TreeExplainer(model)


def test_linear_trees_are_rejected(numeric_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = numeric_data
    model = _train(np.nan_to_num(X), y, rounds=2, linear_tree=True)
    with pytest.raises(ModelError, match="linear trees"):
        TreeExplainer(model)


def test_model_errors() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        TreeExplainer(lgb.LGBMClassifier())
    with pytest.raises(TypeError, match="must be a lightgbm.Booster"):
        TreeExplainer("model.txt")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_jobs": 0}, "'n_jobs' parameter"),
        ({"n_jobs": 1.5}, "'n_jobs' parameter"),
        ({"max_table_depth": 21}, "'max_table_depth' parameter"),
        ({"max_table_mb": -1}, "'max_table_mb' parameter"),
    ],
)
def test_parameter_errors(booster: lgb.Booster, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TreeExplainer(booster, **kwargs)


def test_input_errors(booster: lgb.Booster, numeric_data: Any) -> None:
    X = numeric_data[0]
    explainer = TreeExplainer(booster)
    with pytest.raises(SchemaError, match="5 column"):
        explainer.shap_values(X[:, :5])
    with pytest.raises(SchemaError, match="2-D"):
        explainer.shap_values(X[0])
    text = pd.DataFrame(X)
    text[0] = "a"
    with pytest.raises(SchemaError, match=r"neither numeric.*: 0 \((object|str)"):
        explainer.shap_values(text)
    with pytest.raises(ConfigError, match=r"groups\[1\] has feature index 6"):
        explainer.grouped_shap_values(X, [[0], [6]])
    with pytest.raises(ConfigError, match=r"groups\[0\] lists feature index 1 more than once"):
        explainer.grouped_shap_values(X, [[1, 1]])
    with pytest.raises(ConfigError, match="list of arrays"):
        explainer.grouped_shap_values(X, np.array([0, 1]))


def test_category_columns_must_match_training() -> None:
    df = _category_frame(300, 7)
    model = _train(df, (df["tenure"] > 0).to_numpy().astype(int), rounds=2, num_leaves=4)
    explainer = TreeExplainer(model)
    wrong = df.assign(region=df["region"].cat.codes)
    with pytest.raises(SchemaError, match=r"1 category column\(s\) \['plan'\].*trained with 2"):
        explainer.shap_values(wrong)
