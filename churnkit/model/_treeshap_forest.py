"""Flat model arrays and compiled kernels behind :class:`churnkit.explain.TreeExplainer`.

:func:`churnkit.model._treeshap_booster.parse_booster` turns
``Booster.dump_model()`` into flat arrays (a ``Forest``); the numba functions
below consume them.

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
with ``2**bits`` entries per feature, and explaining a row costs, per tree, one
decision per split and, per unit, one look-up per feature of the unit.  On a
31-leaf, depth-8 tree this is about a third of the look-ups of per-leaf tables,
with half the memory.

Leaves deeper than the table limit are computed on the fly for each row with
the classic polynomial-time TreeSHAP recursion (``_pattern_phi``: the same
extend / unwound-sum arithmetic as LightGBM's ``Tree::TreeSHAP``), so memory
stays bounded whatever the depth.

Each row is accumulated by one thread, in a fixed order (trees, then units,
then features), so results are bitwise reproducible whatever the number of
threads or the block size.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from churnkit._core import cached_njit

__all__ = ["KZERO", "build_tables", "explain_players", "explain_rows"]

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


@cached_njit(fastmath=False)
def _pattern_phi(
    z: np.ndarray, o: np.ndarray, d: int, pw: np.ndarray, phi: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Write ``w_j * (o_j - z_j)`` of each of ``d`` distinct path features into ``phi``.

    ``z[1:d+1]`` are the zero fractions (cover ratios), ``o[1:d+1]`` the one
    fractions (0 or 1); ``z[0] = o[0] = 1`` is the root element.  ``pw`` is
    scratch of length ``d + 1``.
    """
    pw[0] = 1.0
    for u in range(1, d + 1):
        zf = z[u]
        of = o[u]
        pw[u] = 0.0
        for i in range(u - 1, -1, -1):
            pw[i + 1] += of * pw[i] * (i + 1) / (u + 1)
            pw[i] = zf * pw[i] * (u - i) / (u + 1)
    for p in range(1, d + 1):
        of = o[p]
        zf = z[p]
        nxt = pw[d]
        total = 0.0
        for i in range(d - 1, -1, -1):
            if of != 0.0:
                tmp = nxt * (d + 1) / ((i + 1) * of)
                total += tmp
                nxt = pw[i] - tmp * zf * ((d - i) / (d + 1))
            else:
                total += (pw[i] / zf) / ((d - i) / (d + 1))
        phi[p - 1] = total * (of - zf)


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
    table: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Fill the (zeroed) pattern tables of the units listed in ``table_units``.

    A unit's table is feature-major: one run of ``2**bits`` values per unit
    feature.  Entry ``M`` of run ``s`` is the summed contribution (leaf values
    included) of the unit's leaves to feature ``s`` for the bit pattern ``M``.
    For each path split of a leaf, ``path_sbit`` is its bit in ``M`` and
    ``path_raw`` says whether that bit means "goes left" (splits inside the
    unit) or "follows the path" (splits above it).
    """
    for q in prange(table_units.shape[0]):
        u = table_units[q]
        n_pat = np.int64(1) << units[u, U_BITS]
        off = units[u, U_TABLE_OFF]
        for e in range(units[u, U_LEAF_OFF], units[u, U_LEAF_OFF] + units[u, U_N_LEAVES]):
            gl = unit_leaves[e]
            fo = leaves[gl, L_UF_OFF]
            d = leaves[gl, L_N_UF]
            po = leaves[gl, L_PATH_OFF]
            n_path = leaves[gl, L_N_PATH]
            v = leaf_value[gl]
            z = np.ones(d + 1)
            o = np.ones(d + 1)
            pw = np.zeros(d + 1)
            phi = np.zeros(d)
            for j in range(d):
                z[j + 1] = uf_zero[fo + j]
            unique = np.empty((1 << d) * d)
            for p in range(1 << d):
                for j in range(d):
                    o[j + 1] = float((p >> j) & 1)
                _pattern_phi(z, o, d, pw, phi)
                for j in range(d):
                    unique[p * d + j] = phi[j] * v
            full = (1 << d) - 1
            for m in range(n_pat):
                p = full
                for k in range(po, po + n_path):
                    bit = (m >> path_sbit[k]) & 1
                    follows = bit != 0 if path_raw[k] == 0 else bit == path_left[k]
                    if not follows:
                        p &= ~(1 << path_uidx[k])
                for j in range(d):
                    table[off + uf_slot[fo + j] * n_pat + m] += unique[p * d + j]


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
    unit_leaves: np.ndarray,
    leaves: np.ndarray,
    leaf_value: np.ndarray,
    uf_feature: np.ndarray,
    uf_zero: np.ndarray,
    path_node: np.ndarray,
    path_left: np.ndarray,
    path_uidx: np.ndarray,
    table: np.ndarray,
    expected_value: float,
    group_ptr: np.ndarray,
    group_idx: np.ndarray,
    grouped: bool,
    block_size: int,
    max_internal: int,
    max_leaves: int,
    max_uf: int,
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
        z = np.ones(max_uf + 1)
        o = np.ones(max_uf + 1)
        pw = np.zeros(max_uf + 1)
        phi = np.zeros(max_uf)
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
                        x = xs[rr]
                        left = False
                        if x > -1.0 and x < 2147483648.0:  # else NaN / negative / huge: right
                            iv = np.int64(x) if x >= 0.0 else np.int64(0)  # C++ truncation
                            w = iv >> 5
                            if w < n_words:
                                left = ((cat_bits[start + w] >> (iv & 31)) & 1) != 0
                        d_n[rr] = np.int32(left)
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
                if toff >= 0:
                    m_u = masks[units[u, U_SLOT]]
                    n_pat = np.int64(1) << units[u, U_BITS]
                    fo = units[u, U_FEAT_OFF]
                    for j in range(units[u, U_N_FEAT]):
                        a = acc[unit_feature[fo + j]]
                        tab = table[toff + j * n_pat : toff + (j + 1) * n_pat]
                        for rr in range(nb):
                            a[rr] += tab[m_u[rr]]
                else:  # one deep leaf, on the fly
                    gl = unit_leaves[units[u, U_LEAF_OFF]]
                    fo = leaves[gl, L_UF_OFF]
                    d = leaves[gl, L_N_UF]
                    po = leaves[gl, L_PATH_OFF]
                    v = leaf_value[gl]
                    for rr in range(nb):
                        for j in range(d):
                            z[j + 1] = uf_zero[fo + j]
                            o[j + 1] = 1.0
                        for k in range(po, po + leaves[gl, L_N_PATH]):
                            if dec[path_node[k], rr] != path_left[k]:
                                o[path_uidx[k] + 1] = 0.0
                        _pattern_phi(z, o, d, pw, phi)
                        for j in range(d):
                            acc[uf_feature[fo + j], rr] += phi[j] * v
        # 3) write the block out.
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
    one with ``_pattern_phi`` (no tables: the players change from row to row).
    ``out`` has one column per player plus the expected value.
    """
    n_rows = X.shape[0]
    n_players = out.shape[1] - 1
    for r in prange(n_rows):
        dec = np.zeros(max_internal + 1, dtype=np.int32)
        of = np.ones(max_uf + 1)
        z = np.ones(max_uf + 1)
        o = np.ones(max_uf + 1)
        pw = np.zeros(max_uf + 1)
        phi = np.zeros(max_uf)
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
                    left = False
                    if x > -1.0 and x < 2147483648.0:  # else NaN / negative / huge: right
                        iv = np.int64(x) if x >= 0.0 else np.int64(0)  # C++ truncation
                        w = iv >> 5
                        if w < n_words:
                            left = ((cat_bits[start + w] >> (iv & 31)) & 1) != 0
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
                        z[at + 1] *= uf_zero[fo + j]
                        o[at + 1] *= of[j]
                    else:
                        pl[q] = p
                        z[q + 1] = uf_zero[fo + j]
                        o[q + 1] = of[j]
                        q += 1
                _pattern_phi(z, o, q, pw, phi)
                v = leaf_value[lf]
                for i in range(q):
                    acc[pl[i]] += phi[i] * v
            l0 += n_int + 1
        for p in range(n_players):
            out[r, p] = acc[p]
        out[r, n_players] = expected_value
