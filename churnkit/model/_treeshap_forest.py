"""Flat model arrays and compiled kernels behind :class:`churnkit.explain.TreeExplainer`.

:func:`churnkit.model._treeshap_booster.parse_booster` turns
``Booster.dump_model()`` into flat arrays (a ``Forest``); the numba functions
below consume them.

The Shapley weight as an integral
---------------------------------
For a leaf of value ``v`` whose path has ``d`` distinct features, with zero
fractions ``z_i`` (share of the training rows that took the path's branch,
multiplied over a feature's splits) and one fractions ``o_i`` (1 if the row
follows every split on feature ``i``, else 0), path-dependent TreeSHAP gives
feature ``j``::

    v (o_j - z_j) sum_{S in P - j} |S|! (d - |S| - 1)! / d!  prod_{i in S} o_i  prod_{i not in S, i != j} z_i

and since ``|S|! (d - 1 - |S|)! / d!`` is ``int_0^1 t^|S| (1 - t)^(d - 1 - |S|) dt``,
the sum is ``int_0^1 prod_{i != j} (z_i (1 - t) + o_i t) dt``: a polynomial of
degree ``d - 1``, integrated exactly by Gauss-Legendre quadrature with
``ceil(d / 2)`` nodes (Yu et al., "Linear TreeSHAP", 2022).  The kernels only
multiply and add: no division by a zero fraction, which may be 0.

Pattern tables
--------------
A leaf reached through ``D`` splits adds to each distinct feature on its path
an amount that depends only on which of those splits the row follows: a
``D``-bit pattern.  So does a whole subtree: if the path to node ``n`` has
``D`` splits and the subtree below ``n`` has ``k`` more, the subtree's total
contribution to each feature it involves depends only on ``D + k`` bits (the
row follows each path split or not, goes left at each subtree split or not).
The trees are therefore covered by *units*: maximal subtrees with at most
``merge_bits`` such bits, and single leaves elsewhere.  Each unit gets a table
of ``2**bits`` patterns, each with one entry per feature of the unit
(pattern-major, so that a row's look-ups in a unit share cache lines), and
explaining a row costs, per tree, one decision per split and, per unit, one
look-up per feature of the unit.  ``_leaf_weights`` fills the tables, leaf by
leaf, with the quadrature above run across the leaf's ``2**d`` patterns.

Deep regions
------------
Leaves deeper than the table limit are computed on the fly, by Linear TreeSHAP
over the tree's *deep region* (the edges on their paths, ``_deep_region``):
one pass down the region carries the product of the path factors at each
quadrature node, one pass up sums the leaves below each edge, and each edge
then credits its feature -- a cost per edge rather than per leaf and path
feature, with the rows of a block innermost so that the loops vectorise.
Memory stays bounded whatever the depth.

Each row is accumulated by one thread, in a fixed order (trees; then units,
features, deep-region edges), so results are bitwise reproducible whatever the
number of threads or the block size.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from churnkit._core import cached_njit

__all__ = ["KZERO", "build_tables", "explain_players", "explain_rows"]

#: Rows (or bit patterns) handled at once by ``_leaf_weights``: its scratch stays in L1.
_SUB_ROWS = 64

#: LightGBM's ``kZeroThreshold`` (the float ``1e-35f``, widened to double).
KZERO = float(np.float32(1e-35))

# Columns of the int64 node matrix (one row per internal node, pre-order per tree).
N_FEAT, N_KIND, N_LEFT, N_RIGHT, N_CAT_START, N_CAT_LEN, N_ZERO_LEFT, N_NAN_LEFT = range(8)
N_MODE, N_TARGET, N_POS = 8, 9, 10  # mode 0: propagate path masks; 1: OR into unit TARGET
NODE_COLS = 11
# Columns of the int64 tree matrix.
T_NODE_OFF, T_N_INTERNAL, T_UNIT_OFF, T_N_UNITS = range(4)
# Columns of the int64 unit matrix.
U_SLOT, U_BITS, U_FEAT_OFF, U_N_FEAT, U_TABLE_OFF, U_LEAF_OFF, U_N_LEAVES = range(7)
UNIT_COLS = 7
# Columns of the int64 leaf matrix.
L_UF_OFF, L_N_UF, L_PATH_OFF, L_N_PATH = range(4)
# Columns of the int64 region matrix (one row per tree) and edge matrix (deep regions).
R_EDGE_OFF, R_N_EDGES, R_NQ = range(3)
E_NODE, E_LEFT, E_FEAT, E_LEVEL, E_PREV, E_LEAF, E_CONST = range(7)
EDGE_COLS = 7


@cached_njit(fastmath=False, inline="always")
def _category_left(x: float, cat_bits: np.ndarray, start: int, n_words: int) -> bool:
    """Whether value ``x`` goes left at a categorical split, as LightGBM decides.

    NaN, negative and huge values go right; the value is truncated as C++ does and
    looked up in the split's bitset of ``n_words`` 32-bit words from ``start``.
    """
    if x > -1.0 and x < 2147483648.0:
        iv = np.int64(x) if x >= 0.0 else np.int64(0)
        w = iv >> 5
        if w < n_words:
            return ((cat_bits[start + w] >> (iv & 31)) & 1) != 0
    return False


@cached_njit(fastmath=False)
def _leaf_weights(
    zq: np.ndarray,
    quad_t: np.ndarray,
    quad_c: np.ndarray,
    o: np.ndarray,
    d: int,
    n: int,
    w: np.ndarray,
    pre: np.ndarray,
    suf: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Write the Shapley weights of ``d`` path features for ``n`` columns into ``w[:d, :n]``.

    ``w[j, r] = sum_q quad_c[q] * prod_{i != j} (zq[i, q] + o[i, r] * quad_t[q])``:
    Gauss-Legendre quadrature of ``int_0^1 prod_{i != j} (z_i (1 - t) + o_i t) dt``,
    exact for ``len(quad_t) >= d / 2`` nodes.  ``zq[i, q] = z_i * (1 - quad_t[q])``.
    Columns are rows (or bit patterns) and run innermost, so the loops vectorise;
    prefix and suffix products avoid any division.  ``pre`` and ``suf`` are
    scratch of at least ``(d + 1, n)`` and ``n``.
    """
    for j in range(d):
        for r in range(n):
            w[j, r] = 0.0
    for q in range(quad_t.shape[0]):
        t = quad_t[q]
        c = quad_c[q]
        for r in range(n):
            pre[0, r] = c
        for i in range(d):
            a = zq[i, q]
            p_in = pre[i]
            p_out = pre[i + 1]
            o_i = o[i]
            for r in range(n):
                p_out[r] = p_in[r] * (a + o_i[r] * t)
        for r in range(n):
            suf[r] = 1.0
        for j in range(d - 1, -1, -1):
            a = zq[j, q]
            p_j = pre[j]
            o_j = o[j]
            w_j = w[j]
            for r in range(n):
                w_j[r] += p_j[r] * suf[r]
                suf[r] *= a + o_j[r] * t


@cached_njit(parallel=True, fastmath=False)
def build_tables(
    table_units: np.ndarray,
    units: np.ndarray,
    unit_leaves: np.ndarray,
    leaves: np.ndarray,
    leaf_value: np.ndarray,
    uf_zero: np.ndarray,
    uf_slot: np.ndarray,
    path_left: np.ndarray,
    path_uidx: np.ndarray,
    path_sbit: np.ndarray,
    path_raw: np.ndarray,
    quad_t: np.ndarray,
    quad_c: np.ndarray,
    table: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Fill the (zeroed) pattern tables of the units listed in ``table_units``.

    A unit's table is pattern-major: one run of ``n_feat`` values per bit
    pattern.  Entry ``s`` of run ``M`` is the summed contribution (leaf values
    included) of the unit's leaves to the unit's feature ``s`` for the bit
    pattern ``M``.
    For each path split of a leaf, ``path_sbit`` is its bit in ``M`` and
    ``path_raw`` says whether that bit means "goes left" (splits inside the
    unit) or "follows the path" (splits above it).  Each leaf's contributions
    for its ``2**d`` patterns of distinct features are computed by
    ``_leaf_weights`` with the patterns in place of rows.
    """
    for q in prange(table_units.shape[0]):
        u = table_units[q]
        n_pat = np.int64(1) << units[u, U_BITS]
        n_uf = units[u, U_N_FEAT]
        off = units[u, U_TABLE_OFF]
        for e in range(units[u, U_LEAF_OFF], units[u, U_LEAF_OFF] + units[u, U_N_LEAVES]):
            gl = unit_leaves[e]
            fo = leaves[gl, L_UF_OFF]
            d = leaves[gl, L_N_UF]
            po = leaves[gl, L_PATH_OFF]
            n_path = leaves[gl, L_N_PATH]
            v = leaf_value[gl]
            n_uniq = np.int64(1) << d
            unique = np.empty(n_uniq * d)
            if d > 0:
                nq = (d + 1) // 2
                qt = quad_t[nq * (nq - 1) // 2 : nq * (nq + 1) // 2]
                qc = quad_c[nq * (nq - 1) // 2 : nq * (nq + 1) // 2]
                zq = np.empty((d, nq))
                for j in range(d):
                    for k in range(nq):
                        zq[j, k] = uf_zero[fo + j] * (1.0 - qt[k])
                sub = min(n_uniq, _SUB_ROWS)
                o = np.empty((d, sub))
                w = np.empty((d, sub))
                pre = np.empty((d + 1, sub))
                suf = np.empty(sub)
                for p0 in range(0, n_uniq, sub):
                    for j in range(d):
                        for r in range(sub):
                            o[j, r] = float(((p0 + r) >> j) & 1)
                    _leaf_weights(zq, qt, qc, o, d, sub, w, pre, suf)
                    for r in range(sub):
                        for j in range(d):
                            unique[(p0 + r) * d + j] = (o[j, r] - uf_zero[fo + j]) * w[j, r] * v
            full = (1 << d) - 1
            for m in range(n_pat):
                p = full
                for k in range(po, po + n_path):
                    bit = (m >> path_sbit[k]) & 1
                    follows = bit != 0 if path_raw[k] == 0 else bit == path_left[k]
                    if not follows:
                        p &= ~(1 << path_uidx[k])
                for j in range(d):
                    table[off + m * n_uf + uf_slot[fo + j]] += unique[p * d + j]


@cached_njit(fastmath=False)
def _close_edge(
    acc: np.ndarray,
    s0: int,
    n: int,
    edges: np.ndarray,
    edge_const: np.ndarray,
    e: int,
    nq: int,
    hsum: np.ndarray,
    state: np.ndarray,
    tmp: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Attribute the deep leaves below edge ``e`` to its feature; pass their sum up."""
    lvl = edges[e, E_LEVEL]
    co = edges[e, E_CONST]
    s_c = state[lvl]
    s_p = state[edges[e, E_PREV]]
    for r in range(n):
        tmp[r] = 0.0
    for q in range(nq):
        k_a = edge_const[co + 3 * nq + q]
        k_b = edge_const[co + 4 * nq + q]
        k_c = edge_const[co + 5 * nq + q]
        h = hsum[lvl, q]
        if lvl > 1:
            up = hsum[lvl - 1, q]
            for r in range(n):
                tmp[r] += h[r] * (k_c if s_c[r] != 0.0 else (k_b if s_p[r] != 0.0 else k_a))
                up[r] += h[r]
        else:
            for r in range(n):
                tmp[r] += h[r] * (k_c if s_c[r] != 0.0 else (k_b if s_p[r] != 0.0 else k_a))
    a = acc[edges[e, E_FEAT]]
    for r in range(n):
        a[s0 + r] += tmp[r]


@cached_njit(fastmath=False)
def _deep_region(
    dec: np.ndarray,
    acc: np.ndarray,
    s0: int,
    n: int,
    edges: np.ndarray,
    edge_const: np.ndarray,
    e0: int,
    n_edges: int,
    nq: int,
    leaf_value: np.ndarray,
    prod: np.ndarray,
    hsum: np.ndarray,
    state: np.ndarray,
    stack: np.ndarray,
    tmp: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Add the deep leaves' SHAP values of rows ``s0 .. s0 + n`` of the block to ``acc``.

    Linear TreeSHAP (Yu et al., 2022) over the tree's deep region: the edges on
    the paths of its deep leaves, in pre-order.  For each of ``nq``
    Gauss-Legendre nodes ``t``, ``prod[level]`` is the product of the merged
    path factors ``z (1 - t) + o t`` down to the current edge, ``state[level]``
    whether the row follows the edge's feature so far, and ``hsum[level]`` the
    sum of ``leaf value * prod`` over the deep leaves below.  Closing an edge
    adds ``sum_q hsum * weight`` to its feature, the weights (precomputed,
    quadrature weight included) telescoping along each path to
    ``(o - z) / f`` of the leaf's merged factor of the feature: exactly the
    quadrature of ``v (o_j - z_j) int_0^1 prod_{i != j} f_i(t) dt``.
    """
    for q in range(nq):
        for r in range(n):
            prod[0, q, r] = 1.0
    for r in range(n):
        state[0, r] = 1.0  # "followed so far" before a feature's first split
    top = 0
    for e in range(e0, e0 + n_edges):
        lvl = edges[e, E_LEVEL]
        while top >= lvl:
            _close_edge(acc, s0, n, edges, edge_const, stack[top], nq, hsum, state, tmp)
            top -= 1
        d_e = dec[edges[e, E_NODE]]
        want = np.int32(edges[e, E_LEFT])
        s_p = state[edges[e, E_PREV]]
        s_c = state[lvl]
        for r in range(n):
            s_c[r] = s_p[r] if d_e[s0 + r] == want else 0.0
        co = edges[e, E_CONST]
        leaf = edges[e, E_LEAF] >= 0
        # a leaf's factors come multiplied by its value: straight into hsum
        into = hsum if leaf else prod
        for q in range(nq):
            f_a = edge_const[co + q]
            f_b = edge_const[co + nq + q]
            f_c = edge_const[co + 2 * nq + q]
            p_in = prod[lvl - 1, q]
            p_out = into[lvl, q]
            for r in range(n):
                p_out[r] = p_in[r] * (f_c if s_c[r] != 0.0 else (f_b if s_p[r] != 0.0 else f_a))
        if leaf:
            _close_edge(acc, s0, n, edges, edge_const, e, nq, hsum, state, tmp)
        else:
            for q in range(nq):
                h = hsum[lvl, q]
                for r in range(n):
                    h[r] = 0.0
            top = lvl
            stack[lvl] = e
    while top >= 1:
        _close_edge(acc, s0, n, edges, edge_const, stack[top], nq, hsum, state, tmp)
        top -= 1


@cached_njit(parallel=True, fastmath=False)
def explain_rows(
    X: np.ndarray,
    out: np.ndarray,
    nodes: np.ndarray,
    thresholds: np.ndarray,
    cat_bits: np.ndarray,
    trees: np.ndarray,
    units: np.ndarray,
    unit_feature: np.ndarray,
    table: np.ndarray,
    leaf_value: np.ndarray,
    regions: np.ndarray,
    edges: np.ndarray,
    edge_const: np.ndarray,
    expected_value: float,
    group_ptr: np.ndarray,
    group_idx: np.ndarray,
    grouped: bool,
    block_size: int,
    max_internal: int,
    max_leaves: int,
    max_level: int,
    max_nq: int,
) -> None:  # pragma: no cover - compiled
    """Write the SHAP values of every row of ``X`` into ``out``.

    Rows are processed in blocks; within a block each tree is applied to all
    rows at once, so decisions and table look-ups run across rows and
    vectorise.  Without grouping ``out`` has ``n_features + 1`` columns; with
    grouping one column per group (sum of its members, CSR ``group_ptr`` /
    ``group_idx``) plus one.  The last column is the expected value.
    """
    n_rows = X.shape[0]
    n_feat = X.shape[1]
    n_blocks = (n_rows + block_size - 1) // block_size
    for b in prange(n_blocks):
        r0 = b * block_size
        nb = min(n_rows, r0 + block_size) - r0
        xt = np.empty((n_feat, nb))  # feature-major copy of the block
        for rr in range(nb):
            for f in range(n_feat):
                xt[f, rr] = X[r0 + rr, f]
        acc = np.zeros((n_feat, nb))
        masks = np.zeros((max_internal + max_leaves, nb), dtype=np.int32)
        dec = np.zeros((max_internal + 1, nb), dtype=np.int32)
        row_of = np.empty(nb, dtype=np.int64)
        prod = np.empty((max_level + 1, max_nq, _SUB_ROWS))
        hsum = np.empty((max_level + 1, max_nq, _SUB_ROWS))
        state = np.empty((max_level + 1, _SUB_ROWS))
        stack = np.empty(max_level + 1, dtype=np.int64)
        tmp = np.empty(_SUB_ROWS)
        for t in range(trees.shape[0]):
            noff = trees[t, T_NODE_OFF]
            n_int = trees[t, T_N_INTERNAL]
            if n_int == 0:
                continue
            # 1) decisions (1 = left) and bit patterns, split by split.
            masks[0, :nb] = 0
            for n in range(n_int):
                g = noff + n
                xs = xt[nodes[g, N_FEAT]]
                d_n = dec[n]
                if nodes[g, N_KIND] == 0:
                    thr = thresholds[g]
                    nan_left = nodes[g, N_NAN_LEFT] != 0
                    zero_left = nodes[g, N_ZERO_LEFT] != 0
                    for rr in range(nb):
                        x = xs[rr]
                        left = x <= thr
                        left = zero_left if abs(x) <= KZERO else left
                        left = nan_left if x != x else left
                        d_n[rr] = np.int32(left)
                else:
                    start = nodes[g, N_CAT_START]
                    n_words = nodes[g, N_CAT_LEN]
                    for rr in range(nb):
                        d_n[rr] = np.int32(_category_left(xs[rr], cat_bits, start, n_words))
                pos = nodes[g, N_POS]
                bit = np.int32(1 << pos) if pos < 31 else np.int32(0)
                if nodes[g, N_MODE] == 0:
                    m_in = masks[n]
                    m_left = masks[nodes[g, N_LEFT]]
                    m_right = masks[nodes[g, N_RIGHT]]
                    for rr in range(nb):
                        li = d_n[rr]
                        m_left[rr] = m_in[rr] | (bit & -li)
                        m_right[rr] = m_in[rr] | (bit & (li - 1))
                else:
                    m_t = masks[nodes[g, N_TARGET]]
                    for rr in range(nb):
                        m_t[rr] |= bit & -d_n[rr]
            # 2) every unit adds its share to its features.
            for u in range(trees[t, T_UNIT_OFF], trees[t, T_UNIT_OFF] + trees[t, T_N_UNITS]):
                toff = units[u, U_TABLE_OFF]
                if toff >= 0:  # deep leaves (no table) are done in 3)
                    m_u = masks[units[u, U_SLOT]]
                    n_uf = units[u, U_N_FEAT]
                    fo = units[u, U_FEAT_OFF]
                    tab = table[toff : toff + (np.int64(1) << units[u, U_BITS]) * n_uf]
                    for rr in range(nb):
                        row_of[rr] = m_u[rr] * n_uf
                    for j in range(n_uf):
                        a = acc[unit_feature[fo + j]]
                        for rr in range(nb):
                            a[rr] += tab[row_of[rr] + j]
            # 3) the deep leaves, by the tree's deep region.
            if regions[t, R_N_EDGES] > 0:
                for s0 in range(0, nb, _SUB_ROWS):
                    _deep_region(
                        dec, acc, s0, min(_SUB_ROWS, nb - s0), edges, edge_const,
                        regions[t, R_EDGE_OFF], regions[t, R_N_EDGES], regions[t, R_NQ],
                        leaf_value, prod, hsum, state, stack, tmp,
                    )
        # 4) write the block out.
        n_groups = group_ptr.shape[0] - 1
        for rr in range(nb):
            r = r0 + rr
            if grouped:
                for gi in range(n_groups):
                    s = 0.0
                    for k in range(group_ptr[gi], group_ptr[gi + 1]):
                        s += acc[group_idx[k], rr]
                    out[r, gi] = s
                out[r, n_groups] = expected_value
            else:
                for f in range(n_feat):
                    out[r, f] = acc[f, rr]
                out[r, n_feat] = expected_value


@cached_njit(parallel=True, fastmath=False)
def explain_players(
    X: np.ndarray,
    player: np.ndarray,
    out: np.ndarray,
    nodes: np.ndarray,
    thresholds: np.ndarray,
    cat_bits: np.ndarray,
    trees: np.ndarray,
    leaves: np.ndarray,
    leaf_value: np.ndarray,
    uf_feature: np.ndarray,
    uf_zero: np.ndarray,
    path_node: np.ndarray,
    path_left: np.ndarray,
    path_uidx: np.ndarray,
    quad_t: np.ndarray,
    quad_c: np.ndarray,
    expected_value: float,
    max_internal: int,
    max_uf: int,
) -> None:  # pragma: no cover - compiled
    """Write the Shapley values of *players* (groups of features) of every row into ``out``.

    ``player[r, f]`` is the player of feature ``f`` in row ``r``. The game is
    TreeSHAP's path-dependent one with players in place of features: on each
    leaf's path, the splits on the features of one player count as one path
    element (zero fractions multiply, the row follows it only if it follows
    every such split), exactly as TreeSHAP merges repeated features. With one
    player per feature the values are TreeSHAP's. Leaves are computed one by
    one with ``_leaf_weights`` (no tables: the players change from row to row).
    ``out`` has one column per player plus the expected value.
    """
    n_rows = X.shape[0]
    n_players = out.shape[1] - 1
    for r in prange(n_rows):
        dec = np.zeros(max_internal + 1, dtype=np.int32)
        of = np.ones(max_uf + 1)
        z = np.ones(max_uf + 1)
        o = np.ones((max_uf, 1))
        wt = np.zeros((max_uf, 1))
        pre = np.zeros((max_uf + 1, 1))
        suf = np.zeros(1)
        zq = np.zeros((max_uf, (max_uf + 1) // 2))
        pl = np.zeros(max_uf, dtype=np.int64)
        acc = np.zeros(n_players)
        l0 = 0
        for t in range(trees.shape[0]):
            noff = trees[t, T_NODE_OFF]
            n_int = trees[t, T_N_INTERNAL]
            for n in range(n_int):
                g = noff + n
                x = X[r, nodes[g, N_FEAT]]
                if nodes[g, N_KIND] == 0:
                    left = x <= thresholds[g]
                    left = (nodes[g, N_ZERO_LEFT] != 0) if abs(x) <= KZERO else left
                    left = (nodes[g, N_NAN_LEFT] != 0) if x != x else left
                else:
                    start = nodes[g, N_CAT_START]
                    n_words = nodes[g, N_CAT_LEN]
                    left = _category_left(x, cat_bits, start, n_words)
                dec[n] = np.int32(left)
            for lf in range(l0, l0 + n_int + 1):  # a tree of n splits has n + 1 leaves
                fo = leaves[lf, L_UF_OFF]
                d = leaves[lf, L_N_UF]
                if d == 0:
                    continue
                for j in range(d):
                    of[j] = 1.0
                po = leaves[lf, L_PATH_OFF]
                for k in range(po, po + leaves[lf, L_N_PATH]):
                    if dec[path_node[k]] != path_left[k]:
                        of[path_uidx[k]] = 0.0
                q = 0  # distinct players on the path
                for j in range(d):
                    p = player[r, uf_feature[fo + j]]
                    at = -1
                    for i in range(q):
                        if pl[i] == p:
                            at = i
                    if at >= 0:
                        z[at] *= uf_zero[fo + j]
                        o[at, 0] *= of[j]
                    else:
                        pl[q] = p
                        z[q] = uf_zero[fo + j]
                        o[q, 0] = of[j]
                        q += 1
                nq = (q + 1) // 2
                qt = quad_t[nq * (nq - 1) // 2 : nq * (nq + 1) // 2]
                qc = quad_c[nq * (nq - 1) // 2 : nq * (nq + 1) // 2]
                for i in range(q):
                    for k in range(nq):
                        zq[i, k] = z[i] * (1.0 - qt[k])
                _leaf_weights(zq, qt, qc, o, q, 1, wt, pre, suf)
                v = leaf_value[lf]
                for i in range(q):
                    acc[pl[i]] += (o[i, 0] - z[i]) * wt[i, 0] * v
            l0 += n_int + 1
        for p in range(n_players):
            out[r, p] = acc[p]
        out[r, n_players] = expected_value
