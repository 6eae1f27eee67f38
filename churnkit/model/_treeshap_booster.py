"""A LightGBM booster dump read into the flat arrays of the TreeSHAP kernels.

:func:`parse_booster` lays the trees out as the matrices whose columns
:mod:`churnkit.model._treeshap_forest` names, groups their nodes into the
units whose pattern tables the kernels build, and lays out the deep regions
(the edges leading to leaves too deep for tables) with their precomputed
factors and weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from churnkit.model._treeshap_forest import (
    EDGE_COLS,
    L_N_PATH,
    L_N_UF,
    L_PATH_OFF,
    L_UF_OFF,
    N_CAT_LEN,
    N_CAT_START,
    N_FEAT,
    N_KIND,
    N_LEFT,
    N_MODE,
    N_NAN_LEFT,
    N_RIGHT,
    N_ZERO_LEFT,
    NODE_COLS,
    T_N_INTERNAL,
    U_TABLE_OFF,
    UNIT_COLS,
)

__all__ = ["Forest", "parse_booster"]


@dataclass
class Forest:
    """A single-output LightGBM model as flat arrays for the kernels.

    Internal nodes are numbered in pre-order within each tree, so a subtree is
    a contiguous range; a child is referred to by its *slot*: its internal
    number, or ``n_internal + leaf number`` for a leaf (leaves are numbered in
    the same walk).  Per leaf, the distinct path features (``uf_*``, ordered
    by last occurrence, zero fractions multiplied, as in LightGBM's TreeSHAP)
    and the path splits (``path_*``) are stored in CSR form, like the
    features and leaves of each unit.  ``regions`` gives each tree's run of
    ``edges`` (its deep region, see :func:`_regions`) and the number of
    quadrature nodes it uses; ``edge_const`` holds six runs of that length
    per edge.  ``quad_t`` / ``quad_c`` are the Gauss-Legendre rules (see
    :func:`quadrature`).
    """

    n_features: int
    n_trees: int
    expected_value: float
    nodes: np.ndarray
    thresholds: np.ndarray
    cat_bits: np.ndarray
    trees: np.ndarray
    units: np.ndarray
    unit_feature: np.ndarray
    unit_leaves: np.ndarray
    leaves: np.ndarray
    leaf_value: np.ndarray
    uf_feature: np.ndarray
    uf_zero: np.ndarray
    uf_slot: np.ndarray
    path_node: np.ndarray
    path_left: np.ndarray
    path_uidx: np.ndarray
    path_sbit: np.ndarray
    path_raw: np.ndarray
    quad_t: np.ndarray
    quad_c: np.ndarray
    regions: np.ndarray
    edges: np.ndarray
    edge_const: np.ndarray
    max_level: int
    max_nq: int
    table_units: np.ndarray
    table_size: int
    table_depth: int
    max_internal: int
    max_leaves: int
    max_uf: int


_Ref = tuple[bool, int]  # (is leaf, local id) of a node


@dataclass
class _Tree:
    node_off: int
    leaf_off: int
    children: list[tuple[_Ref, _Ref]]  # left and right child of each internal node
    depth: list[int]
    size: list[int]  # internal nodes in the subtree
    first_leaf: list[int]


def _is_leaf(node: dict[str, Any]) -> bool:
    return "split_index" not in node


def parse_booster(
    dump: dict[str, Any], *, max_table_depth: int, merge_bits: int, max_table_bytes: int
) -> Forest:
    """Flatten ``Booster.dump_model()`` output into a :class:`Forest`.

    Raises
    ------
    NotImplementedError
        For multiclass models and linear trees.
    """
    n_out = max(int(dump.get("num_class", 1)), int(dump.get("num_tree_per_iteration", 1)))
    if n_out > 1:
        raise NotImplementedError(
            f"The model has {n_out} outputs ({dump.get('objective')!r}); only single-output "
            "models (binary, regression...) can be explained. Train one binary model per "
            "class, or use booster.predict(X, pred_contrib=True)."
        )
    tree_info = dump.get("tree_info", [])
    node_rows: list[list[int]] = []
    thresholds: list[float] = []
    cat_bits: list[int] = []
    leaf_value: list[float] = []
    leaf_paths: list[list[tuple[int, bool, int, float]]] = []
    trees: list[_Tree] = []
    expected_value = 0.0
    for info in tree_info:
        root = info["tree_structure"]
        tree = _Tree(len(node_rows), len(leaf_value), [], [], [], [])
        trees.append(tree)
        leaf_items: list[tuple[int, float]] = []  # (LightGBM leaf_index, leaf_count)
        stack: list[tuple[dict[str, Any], int, bool, tuple[Any, ...]]] = [(root, -1, True, ())]
        while stack:  # pre-order walk: (node, parent, is left child, path so far)
            node, parent, is_left, path = stack.pop()
            if _is_leaf(node):
                if "leaf_coeff" in node:
                    raise NotImplementedError(
                        "The model uses linear trees (linear_tree=True), which TreeSHAP does "
                        "not cover. Train with linear_tree=False."
                    )
                ref = (True, len(leaf_items))
                leaf_items.append((int(node.get("leaf_index", 0)), float(node.get("leaf_count", 0))))
                leaf_value.append(float(node["leaf_value"]))
                leaf_paths.append(list(path))
            else:
                nid = len(tree.children)
                ref = (False, nid)
                tree.children.append((ref, ref))
                tree.depth.append(len(path))
                row, thr = _node_row(node, cat_bits)
                node_rows.append(row)
                thresholds.append(thr)
                count = float(node["internal_count"])
                feat = row[N_FEAT]
                for child, go_left in ((node["right_child"], False), (node["left_child"], True)):
                    c = float(child["leaf_count"] if _is_leaf(child) else child["internal_count"])
                    stack.append((child, nid, go_left, (*path, (nid, go_left, feat, c / count))))
            if parent >= 0:
                left, right = tree.children[parent]
                tree.children[parent] = (ref, right) if is_left else (left, ref)
        n_int = len(tree.children)
        tree.size = [1] * n_int
        tree.first_leaf = [0] * n_int
        for nid in range(n_int - 1, -1, -1):
            (l_leaf, l_id), (r_leaf, r_id) = tree.children[nid]
            tree.size[nid] += (0 if l_leaf else tree.size[l_id]) + (0 if r_leaf else tree.size[r_id])
            tree.first_leaf[nid] = l_id if l_leaf else tree.first_leaf[l_id]
            row = node_rows[tree.node_off + nid]
            row[N_LEFT] = n_int + l_id if l_leaf else l_id
            row[N_RIGHT] = n_int + r_id if r_leaf else r_id
        # LightGBM's Tree::ExpectedValue: leaf_count / root count * value, in leaf_index order.
        if n_int == 0:
            expected_value += leaf_value[-1]
        else:
            total = float(root["internal_count"])
            pairs = sorted(zip(leaf_items, leaf_value[tree.leaf_off :], strict=True))
            tree_ev = 0.0
            for (_, cnt), v in pairs:
                tree_ev += (cnt / total) * v
            expected_value += tree_ev

    leaves, uf_feature, uf_zero, path_node, path_left, path_uidx = _leaf_arrays(leaf_paths)
    n_trees = len(trees)
    depth = max_table_depth
    while True:
        layout = _layout(trees, node_rows, leaves, uf_feature, path_node, depth, min(merge_bits, depth))
        if layout["table_size"] * 8 <= max_table_bytes or depth == 0:
            break
        depth -= 1
    nodes = np.asarray(node_rows, dtype=np.int64).reshape(-1, NODE_COLS)
    nodes[:, N_MODE:] = layout.pop("node_extra")
    max_uf = int(leaves[:, L_N_UF].max()) if len(leaves) else 0
    quad_t, quad_c = quadrature((max_uf + 1) // 2)
    tree_arr = layout.pop("trees")
    deep = leaves[:, L_N_PATH] > depth
    region = _regions(trees, leaf_paths, leaves[:, L_N_UF], deep, leaf_value, quad_t, quad_c)
    return Forest(
        n_features=int(dump["max_feature_idx"]) + 1,
        n_trees=n_trees,
        expected_value=float(expected_value),
        nodes=nodes,
        thresholds=np.asarray(thresholds, dtype=np.float64),
        cat_bits=np.asarray(cat_bits, dtype=np.int64),
        trees=tree_arr,
        leaves=leaves,
        leaf_value=np.asarray(leaf_value, dtype=np.float64),
        uf_feature=uf_feature,
        uf_zero=uf_zero,
        path_node=path_node,
        path_left=path_left,
        path_uidx=path_uidx,
        table_depth=depth,
        max_internal=int(tree_arr[:, T_N_INTERNAL].max()) if n_trees else 0,
        max_leaves=int(tree_arr[:, T_N_INTERNAL].max()) + 1 if n_trees else 0,
        max_uf=max_uf,
        quad_t=quad_t,
        quad_c=quad_c,
        **region,
        **layout,
    )


def quadrature(max_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1] for 1 to ``max_nodes`` nodes.

    The rule with ``q`` nodes starts at ``q * (q - 1) // 2`` in both arrays and
    integrates polynomials of degree up to ``2 q - 1`` exactly: ``q = ceil(d / 2)``
    nodes serve a leaf with ``d`` distinct path features.
    """
    ts: list[np.ndarray] = []
    cs: list[np.ndarray] = []
    for q in range(1, max_nodes + 1):
        x, c = np.polynomial.legendre.leggauss(q)
        ts.append((x + 1.0) / 2.0)
        cs.append(c / 2.0)
    if not ts:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(ts), np.concatenate(cs)


def _regions(
    trees: list[_Tree],
    leaf_paths: list[list[tuple[int, bool, int, float]]],
    n_uf: np.ndarray,
    deep: np.ndarray,
    leaf_value: list[float],
    quad_t: np.ndarray,
    quad_c: np.ndarray,
) -> dict[str, Any]:
    """Lay out the *deep region* of each tree: the edges on the paths of its deep leaves.

    ``explain_rows`` walks these edges in pre-order, carrying for each of the
    tree's ``nq`` quadrature nodes the product of the path factors
    ``z (1 - t) + o t`` down and the sums of the deep leaves' values times
    those products up (Linear TreeSHAP).  Per edge it needs three factor
    ratios and three attribution weights, chosen by the row's state: the
    feature was already not followed higher up (A), is not followed at this
    split (B), or is followed so far (C).  A feature's first split on the path
    counts as "followed so far" before it.  The weights are differences of
    ``(o - z) / (z (1 - t) + o t)`` between this and the previous split on the
    feature (times the quadrature weight), so that along each leaf's path they
    add up to its final merged factor's.  The factor ratios of an edge into
    a leaf come multiplied by the leaf's value.
    """
    regions = np.zeros((len(trees), 3), dtype=np.int64)
    rows: list[tuple[int, int, int, int, int, int, int]] = []
    consts: list[np.ndarray] = []
    n_const = 0
    max_level = 0
    max_nq = 0
    for t, tree in enumerate(trees):
        n_leaves = len(tree.children) + 1
        found: dict[tuple[int, ...], tuple[int, bool, int, int, int, float, float | None, float, int]] = {}
        nq = 0
        for gl in range(tree.leaf_off, tree.leaf_off + n_leaves):
            if not deep[gl]:
                continue
            path = leaf_paths[gl]
            nq = max(nq, (int(n_uf[gl]) + 1) // 2)
            max_level = max(max_level, len(path))
            key: tuple[int, ...] = ()
            zero: dict[int, float] = {}
            level: dict[int, int] = {}
            for k, (nid, go_left, feat, ratio) in enumerate(path):
                key = (*key, 0 if go_left else 1)  # lexicographic order = pre-order, left first
                zp = zero.get(feat)
                zc = ratio if zp is None else ratio * zp
                if key not in found:
                    leaf = gl if k == len(path) - 1 else -1
                    found[key] = (nid, go_left, feat, k + 1, level.get(feat, 0), ratio, zp, zc, leaf)
                zero[feat] = zc
                level[feat] = k + 1
        regions[t] = (len(rows), len(found), nq)
        max_nq = max(max_nq, nq)
        if not found:
            continue
        tq = quad_t[nq * (nq - 1) // 2 : nq * (nq + 1) // 2]
        cq = quad_c[nq * (nq - 1) // 2 : nq * (nq + 1) // 2]
        for key in sorted(found):
            nid, go_left, feat, lvl, prev, ratio, zp, zc, leaf = found[key]
            rows.append((nid, int(go_left), feat, lvl, prev, leaf, n_const))
            con = np.zeros((6, nq))
            fc0 = zc * (1.0 - tq)  # the merged factor at this split, not followed / followed
            fc1 = fc0 + tq
            k_out = -1.0 / (1.0 - tq)  # (o - z) / f when not followed: z cancels
            k_in = (1.0 - zc) / fc1
            if zp is None:
                con[1], con[2] = fc0, fc1
                con[4], con[5] = cq * k_out, cq * k_in
            else:
                fp1 = zp * (1.0 - tq) + tq
                con[0] = ratio
                con[1], con[2] = fc0 / fp1, fc1 / fp1
                kp = (1.0 - zp) / fp1
                con[4], con[5] = cq * (k_out - kp), cq * (k_in - kp)
            if leaf >= 0:
                con[:3] *= leaf_value[leaf]
            consts.append(con.ravel())
            n_const += con.size
    return {
        "regions": regions,
        "edges": np.asarray(rows, dtype=np.int64).reshape(-1, EDGE_COLS),
        "edge_const": np.concatenate(consts) if consts else np.zeros(0),
        "max_level": max_level,
        "max_nq": max_nq,
    }


def _node_row(node: dict[str, Any], cat_bits: list[int]) -> tuple[list[int], float]:
    """Encode one split as a row of the node matrix (children set later) and its threshold."""
    row = [0] * NODE_COLS
    row[N_FEAT] = int(node["split_feature"])
    if node["decision_type"] == "==":
        cats = [int(c) for c in str(node["threshold"]).split("||") if c != ""]
        words = [0] * (max(cats) // 32 + 1 if cats else 0)
        for c in cats:
            if c >= 0:
                words[c // 32] |= 1 << (c % 32)
        row[N_KIND] = 1
        row[N_CAT_START] = len(cat_bits)
        row[N_CAT_LEN] = len(words)
        cat_bits.extend(words)
        return row, 0.0
    if node["decision_type"] != "<=":
        raise NotImplementedError(f"Unknown split decision_type {node['decision_type']!r}.")
    thr = float(node["threshold"])
    # The JSON dump clips infinite thresholds to +-1e300 (Common::AvoidInf); the
    # model itself compares with +-inf (e.g. "everything but NaN goes left").
    if abs(thr) >= 1e300:
        thr = float(np.copysign(np.inf, thr))
    missing = node.get("missing_type", "None")
    default_left = bool(node.get("default_left", True))
    # Tree::NumericalDecision: NaN is 0 unless missing_type is NaN; "Zero" sends 0 (and so NaN)
    # the default way; "NaN" sends NaN the default way.
    row[N_ZERO_LEFT] = int(default_left if missing == "Zero" else thr >= 0.0)
    row[N_NAN_LEFT] = int(default_left if missing in ("Zero", "NaN") else thr >= 0.0)
    return row, thr


def _leaf_arrays(
    leaf_paths: list[list[tuple[int, bool, int, float]]],
) -> tuple[np.ndarray, ...]:
    """Per-leaf distinct path features and path splits, in CSR form."""
    leaves = np.zeros((len(leaf_paths), 4), dtype=np.int64)
    uf_feature: list[int] = []
    uf_zero: list[float] = []
    path_node: list[int] = []
    path_left: list[int] = []
    path_uidx: list[int] = []
    for k, path in enumerate(leaf_paths):
        order: list[int] = []  # distinct features by last occurrence, as TreeSHAP's unwinding
        zero: dict[int, float] = {}
        for _, _, feat, ratio in path:
            if feat in zero:
                order.remove(feat)
                zero[feat] = ratio * zero[feat]
            else:
                zero[feat] = ratio
            order.append(feat)
        pos = {feat: i for i, feat in enumerate(order)}
        leaves[k] = (len(uf_feature), len(order), len(path_node), len(path))
        uf_feature.extend(order)
        uf_zero.extend(zero[f] for f in order)
        for nid, go_left, feat, _ in path:
            path_node.append(nid)
            path_left.append(int(go_left))
            path_uidx.append(pos[feat])
    return (
        leaves,
        np.asarray(uf_feature, dtype=np.int64),
        np.asarray(uf_zero, dtype=np.float64),
        np.asarray(path_node, dtype=np.int64),
        np.asarray(path_left, dtype=np.uint8),
        np.asarray(path_uidx, dtype=np.int64),
    )


def _layout(
    trees: list[_Tree],
    node_rows: list[list[int]],
    leaves: np.ndarray,
    uf_feature: np.ndarray,
    path_node: np.ndarray,
    table_depth: int,
    merge_bits: int,
) -> dict[str, Any]:
    """Cover each tree with units and lay out their tables."""
    node_extra = np.zeros((len(node_rows), NODE_COLS - N_MODE), dtype=np.int64)
    tree_rows: list[tuple[int, int, int, int]] = []
    units: list[list[int]] = []
    unit_feature: list[int] = []
    unit_leaves: list[int] = []
    uf_slot = np.zeros(len(uf_feature), dtype=np.int64)
    path_sbit = np.zeros(len(path_node), dtype=np.int64)
    path_raw = np.zeros(len(path_node), dtype=np.uint8)
    table_size = 0

    def add_unit(slot: int, bits: int, members: list[int], tabled: bool) -> None:
        nonlocal table_size
        feats: dict[int, int] = {}
        for gl in members:
            fo, d = leaves[gl, L_UF_OFF], leaves[gl, L_N_UF]
            for j in range(fo, fo + d):
                uf_slot[j] = feats.setdefault(int(uf_feature[j]), len(feats))
        offset = table_size if tabled else -1
        units.append([slot, bits, len(unit_feature), len(feats), offset, len(unit_leaves), len(members)])
        table_size += (1 << bits) * len(feats) if tabled else 0
        unit_feature.extend(feats)
        unit_leaves.extend(members)

    for tree in trees:
        n_int = len(tree.children)
        unit_off = len(units)
        stack: list[tuple[bool, int]] = [(False, 0)] if n_int else []
        while stack:
            is_leaf, i = stack.pop()
            if is_leaf:
                gl = tree.leaf_off + i
                po, n_path = leaves[gl, L_PATH_OFF], leaves[gl, L_N_PATH]
                path_sbit[po : po + n_path] = np.arange(n_path)
                add_unit(n_int + i, int(n_path), [gl], bool(n_path <= table_depth))
                continue
            g = tree.node_off + i
            bits = tree.depth[i] + tree.size[i]
            if bits > merge_bits:  # propagate path patterns to the children
                node_extra[g, :] = (0, 0, tree.depth[i])
                stack.extend([tree.children[i][1], tree.children[i][0]])
                continue
            for j in range(tree.size[i]):  # subtree = pre-order range [i, i + size)
                node_extra[g + j, :] = (1, i, tree.depth[i] + j)
            first = tree.leaf_off + tree.first_leaf[i]
            members = list(range(first, first + tree.size[i] + 1))  # leaves are contiguous too
            for gl in members:
                po, n_path = leaves[gl, L_PATH_OFF], leaves[gl, L_N_PATH]
                for k in range(po, po + n_path):
                    if k - po < tree.depth[i]:
                        path_sbit[k] = k - po
                    else:
                        path_sbit[k] = tree.depth[i] + int(path_node[k]) - i
                        path_raw[k] = 1
            add_unit(i, bits, members, True)
        tree_rows.append((tree.node_off, n_int, unit_off, len(units) - unit_off))
    unit_arr = np.asarray(units, dtype=np.int64).reshape(-1, UNIT_COLS)
    return {
        "node_extra": node_extra,
        "trees": np.asarray(tree_rows, dtype=np.int64).reshape(-1, 4),
        "units": unit_arr,
        "unit_feature": np.asarray(unit_feature, dtype=np.int64),
        "unit_leaves": np.asarray(unit_leaves, dtype=np.int64),
        "uf_slot": uf_slot,
        "path_sbit": path_sbit,
        "path_raw": path_raw,
        "table_units": np.flatnonzero(unit_arr[:, U_TABLE_OFF] >= 0).astype(np.int64),
        "table_size": table_size,
    }
