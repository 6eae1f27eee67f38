"""Exact TreeSHAP values for LightGBM boosters, fast.

:class:`TreeExplainer` reads a trained booster once (from
``Booster.dump_model()``), precomputes per-leaf pattern tables and then
explains rows with compiled, multi-threaded kernels.  The values are the same
path-dependent TreeSHAP values as LightGBM's ``predict(X, pred_contrib=True)``
(raw score space, last column = expected value), to floating-point rounding,
at a fraction of the cost.  On long paths (some 25 features or more) they are
closer to the exact values than LightGBM's own, whose recursion loses digits
there.

How it works
------------
The contribution of a leaf to each feature on its path depends only on which
of the path's ``D`` splits the row follows: a ``D``-bit pattern.  Likewise a
subtree below a path of ``D`` splits, with ``k`` splits of its own, contributes
amounts that depend on ``D + k`` bits.  When the model is read, each tree is
covered with such subtrees (at most 10 bits) and single leaves, and each gets
a table of its contributions for every pattern (features that occur several
times on a path are merged as in TreeSHAP: zero fractions multiply, and the
row "follows" the feature only if it follows every split on it).  Explaining
a row then costs, per tree, one decision per split and one table look-up per
(table, feature) -- on a 31-leaf, depth-8 tree about 50 look-ups.

Leaves deeper than ``max_table_depth`` are computed on the fly instead, by
Linear TreeSHAP (Yu et al., 2022) over the part of the tree that leads to them:
each Shapley weight is an integral of a polynomial, taken exactly by
Gauss-Legendre quadrature, and the products and sums it needs are shared along
the tree, so the cost grows with the number of edges, not with leaves times
path length.  Memory stays bounded for any depth; if the tables would exceed
``max_table_mb``, the depth limit is lowered until they fit.
:mod:`churnkit.model._treeshap_forest` has the details.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import lightgbm as lgb
import numba
import numpy as np
import pandas as pd

from churnkit.exceptions import ConfigError, ModelError, NotFittedError, SchemaError
from churnkit.model import _treeshap_forest as _k
from churnkit.model._treeshap_booster import Forest, parse_booster

__all__ = ["TreeExplainer", "UnsupportedModelError"]

#: Rows converted to float64 at a time for non-float64 input (bounds memory).
_CHUNK_ROWS = 65_536
#: Largest number of pattern bits of a table covering a whole subtree.
_MERGE_BITS = 10
#: Rows per block: each tree is applied to a block of rows at a time.
_BLOCK_ROWS = 512
#: Largest supported ``max_table_depth`` (a table has ``2**depth`` rows).
_MAX_TABLE_DEPTH = 20


class UnsupportedModelError(ModelError, ValueError):
    """The booster is of a kind :class:`TreeExplainer` cannot explain (e.g. multiclass)."""


def _as_booster(model: Any) -> lgb.Booster:
    """Return the :class:`lightgbm.Booster` inside ``model``."""
    if isinstance(model, lgb.Booster):
        return model
    if isinstance(model, lgb.LGBMModel):
        booster: lgb.Booster | None = getattr(model, "_Booster", None)
        if booster is None:
            raise NotFittedError(
                f"This {type(model).__name__} is not fitted yet. Call 'fit' before explaining it."
            )
        return booster
    raise TypeError(
        "The 'model' parameter of TreeExplainer must be a lightgbm.Booster or a fitted "
        f"lightgbm.LGBMModel (LGBMClassifier, LGBMRegressor...). Got {type(model).__name__} "
        "instead."
    )


class TreeExplainer:
    """Exact, fast TreeSHAP explanations of a single-output LightGBM model.

    Parameters
    ----------
    model : lightgbm.Booster or lightgbm.LGBMModel
        A trained booster, or a fitted scikit-learn wrapper (its ``booster_``
        is used).  Binary, regression and other single-output objectives are
        supported; multiclass models and linear trees are not.
    n_jobs : int or None, default=None
        Threads used by :meth:`shap_values`.  ``None`` uses every thread numba
        was started with.  Results do not depend on it: each row is computed
        by one thread in a fixed order, so values are bitwise reproducible.
    max_table_depth : int, default=12
        Leaves whose path has at most this many splits are served from
        precomputed pattern tables (``2**depth`` entries per path feature);
        deeper leaves are computed on the fly by Linear TreeSHAP over the
        edges that lead to them (slower per leaf, no extra memory).  Between
        0 (never use tables) and 20.
    max_table_mb : float, default=256.0
        Memory budget of the tables.  If the tables would exceed it, the
        effective depth limit (``table_depth_``) is lowered until they fit.

    Attributes
    ----------
    n_features_in_ : int
        Number of features the model was trained on.
    feature_names_in_ : list of str
        The booster's feature names.
    n_trees_ : int
        Number of trees explained (``best_iteration`` if the booster has one).
    table_depth_ : int
        Effective depth limit of the pattern tables after the memory budget.
    table_nbytes_ : int
        Memory used by the pattern tables.

    See Also
    --------
    lightgbm.Booster.predict : ``pred_contrib=True`` gives the same values.

    Notes
    -----
    Values are in raw score space (log-odds for ``binary``), like
    ``pred_contrib``: each row sums to ``predict(X, raw_score=True)``.  Inputs
    are converted exactly as LightGBM converts them for prediction: pandas
    ``category`` columns are coded with the categories seen in training
    (unseen categories become missing), non-float numpy arrays are cast to
    float32 first.

    The explainer pickles without its tables (they are rebuilt on first use),
    so it is cheap to ship to worker processes.

    Examples
    --------
    >>> import lightgbm as lgb
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 4))
    >>> y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int)
    >>> booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 20)
    >>> explainer = TreeExplainer(booster)
    >>> phi = explainer.shap_values(X[:3])
    >>> phi.shape
    (3, 5)
    >>> bool(np.allclose(phi, booster.predict(X[:3], pred_contrib=True), atol=1e-9))
    True
    """

    def __init__(
        self,
        model: Any,
        *,
        n_jobs: int | None = None,
        max_table_depth: int = 12,
        max_table_mb: float = 256.0,
    ) -> None:
        booster = _as_booster(model)
        if n_jobs is not None and (
            isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs < 1
        ):
            raise ConfigError(
                "The 'n_jobs' parameter of TreeExplainer must be a positive int or None. "
                f"Got {n_jobs!r} instead."
            )
        if (
            isinstance(max_table_depth, bool)
            or not isinstance(max_table_depth, int | np.integer)
            or not 0 <= max_table_depth <= _MAX_TABLE_DEPTH
        ):
            raise ConfigError(
                "The 'max_table_depth' parameter of TreeExplainer must be an int in "
                f"[0, {_MAX_TABLE_DEPTH}]. Got {max_table_depth!r} instead."
            )
        if not isinstance(max_table_mb, int | float) or not max_table_mb >= 0:
            raise ConfigError(
                "The 'max_table_mb' parameter of TreeExplainer must be a number >= 0. "
                f"Got {max_table_mb!r} instead."
            )
        self.n_jobs = None if n_jobs is None else int(n_jobs)
        self.max_table_depth = int(max_table_depth)
        self.max_table_mb = float(max_table_mb)

        dump = booster.dump_model()
        try:
            self._forest: Forest = parse_booster(
                dump,
                max_table_depth=self.max_table_depth,
                merge_bits=_MERGE_BITS,
                max_table_bytes=int(self.max_table_mb * 2**20),
            )
        except NotImplementedError as exc:
            raise UnsupportedModelError(str(exc)) from exc
        self.n_features_in_: int = self._forest.n_features
        self.feature_names_in_: list[str] = list(dump.get("feature_names", []))
        self.n_trees_: int = self._forest.n_trees
        self.table_depth_: int = self._forest.table_depth
        self.table_nbytes_: int = self._forest.table_size * 8
        cats = booster.pandas_categorical
        self._pandas_categorical: list[list[Any]] | None = None if cats is None else [list(c) for c in cats]
        self._lock = threading.Lock()
        self._table: np.ndarray | None = None
        self._ensure_table()

    # ------------------------------------------------------------------ state
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_table"] = None  # rebuilt on first use: cheaper than shipping it
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _ensure_table(self) -> np.ndarray:
        """Build the pattern tables if they are not built yet, and return them."""
        table = self._table
        if table is None:
            with self._lock:
                if self._table is None:
                    f = self._forest
                    new = np.zeros(f.table_size, dtype=np.float64)
                    if f.table_units.size:
                        with _numba_threads(self.n_jobs):
                            _k.build_tables(
                                f.table_units,
                                f.units,
                                f.unit_leaves,
                                f.leaves,
                                f.leaf_value,
                                f.uf_zero,
                                f.uf_slot,
                                f.path_left,
                                f.path_uidx,
                                f.path_sbit,
                                f.path_raw,
                                f.quad_t,
                                f.quad_c,
                                new,
                            )
                    self._table = new
                table = self._table
        return table

    # -------------------------------------------------------------- public API
    @property
    def expected_value(self) -> float:
        """Mean raw score over the training data: the last column of :meth:`shap_values`."""
        return self._forest.expected_value

    def shap_values(self, X: Any) -> np.ndarray:
        """Compute the SHAP value of every feature for every row of ``X``.

        Parameters
        ----------
        X : array-like or pandas.DataFrame of shape (n_rows, n_features)
            Rows to explain, with the model's features in training order.

        Returns
        -------
        numpy.ndarray of shape (n_rows, n_features + 1)
            SHAP values in raw score space; the last column is
            :attr:`expected_value`.  Identical to LightGBM's
            ``predict(X, pred_contrib=True)`` up to rounding.
        """
        return self._run(X, None)

    def grouped_shap_values(self, X: Any, groups: Sequence[Sequence[int] | np.ndarray]) -> np.ndarray:
        """Compute the summed SHAP values of groups of features.

        The sums are formed inside the kernel, so the full
        ``(n_rows, n_features)`` matrix is never materialised.

        Parameters
        ----------
        X : array-like or pandas.DataFrame of shape (n_rows, n_features)
            Rows to explain.
        groups : sequence of sequences of int
            Feature indices (0-based, training order) of each group.  Groups
            may overlap and need not cover every feature.

        Returns
        -------
        numpy.ndarray of shape (n_rows, len(groups) + 1)
            Column ``g`` is the sum of the SHAP values of ``groups[g]``'s
            features; the last column is :attr:`expected_value`.
        """
        ptr, idx = self._check_groups(groups)
        return self._run(X, (ptr, idx))

    def player_shap_values(self, X: Any, players: Any, n_players: int | None = None) -> np.ndarray:
        """Compute Shapley values with groups of features as the players.

        Each feature belongs to one player, which may differ from row to row.
        The game is TreeSHAP's path-dependent one with the player in place of
        the feature: a coalition follows the row at every split on its
        players' features and averages over the others by training cover. A
        player's value is therefore not the sum of its features' SHAP values:
        the interactions between features of one player are credited to it
        whole, not shared with the other players in proportion to how many
        features each has. With one player per feature the values are
        :meth:`shap_values`; with one player in all they are the raw score
        minus :attr:`expected_value`. Values are exact, rows still sum to the
        raw score.

        Parameters
        ----------
        X : array-like or pandas.DataFrame of shape (n_rows, n_features)
            Rows to explain.
        players : array-like of int, shape (n_features,) or (n_rows, n_features)
            The player (0-based) of each feature, for all rows or row by row.
        n_players : int, optional
            Number of players; default ``players.max() + 1``.

        Returns
        -------
        numpy.ndarray of shape (n_rows, n_players + 1)
            One column per player; the last column is :attr:`expected_value`.

        Examples
        --------
        >>> import lightgbm as lgb
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(500, 3))
        >>> y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(int)
        >>> booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 20)
        >>> explainer = TreeExplainer(booster)
        >>> both = explainer.player_shap_values(X[:3], [0, 0, 1])
        >>> bool(np.allclose(both.sum(axis=1), booster.predict(X[:3], raw_score=True)))
        True
        >>> own = explainer.player_shap_values(X[:3], [0, 1, 2])
        >>> bool(np.allclose(own, explainer.shap_values(X[:3]), atol=1e-12))
        True
        """
        f = self._forest
        n_rows = _n_rows(X, f.n_features)
        given = np.asarray(players)
        arr = np.broadcast_to(given, (n_rows, given.size)) if given.ndim == 1 else given
        if arr.shape != (n_rows, f.n_features) or (
            arr.size and not np.issubdtype(arr.dtype, np.integer)
        ):
            raise ConfigError(
                "The 'players' parameter of player_shap_values must be integer player ids of "
                f"shape ({f.n_features},) or ({n_rows}, {f.n_features}). Got "
                f"{getattr(players, 'dtype', type(players).__name__)} of shape {arr.shape}."
            )
        top = int(given.max()) + 1 if given.size else 0
        n_players = top if n_players is None else int(n_players)
        if given.size and (int(given.min()) < 0 or top > n_players):
            raise ConfigError(
                f"The 'players' of player_shap_values must be in [0, {n_players - 1}]. Got "
                f"values from {int(given.min())} to {top - 1}."
            )
        out = np.empty((n_rows, n_players + 1), dtype=np.float64)
        if n_rows == 0:
            return out
        player = np.ascontiguousarray(arr, dtype=np.int64)
        with _numba_threads(self.n_jobs):
            for start, chunk in _float64_chunks(X, f.n_features, self._pandas_categorical):
                n = chunk.shape[0]
                _k.explain_players(
                    chunk,
                    player[start : start + n],
                    out[start : start + n],
                    f.nodes,
                    f.thresholds,
                    f.cat_bits,
                    f.trees,
                    f.leaves,
                    f.leaf_value,
                    f.uf_feature,
                    f.uf_zero,
                    f.path_node,
                    f.path_left,
                    f.path_uidx,
                    f.quad_t,
                    f.quad_c,
                    f.expected_value,
                    f.max_internal,
                    f.max_uf,
                )
        return out

    # --------------------------------------------------------------- helpers
    def _check_groups(self, groups: Sequence[Sequence[int] | np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(groups, str | bytes | np.ndarray) or not isinstance(groups, Sequence):
            raise ConfigError(
                "The 'groups' parameter of grouped_shap_values must be a list of arrays of "
                f"feature indices. Got {type(groups).__name__} instead."
            )
        n_feat = self.n_features_in_
        ptr = [0]
        members: list[np.ndarray] = []
        for g, group in enumerate(groups):
            arr = np.asarray(group)
            if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
                raise ConfigError(
                    f"groups[{g}] must be a 1-D sequence of integer feature indices. Got {group!r} instead."
                )
            arr = arr.astype(np.int64)
            bad = arr[(arr < 0) | (arr >= n_feat)]
            if bad.size:
                raise ConfigError(
                    f"groups[{g}] has feature index {int(bad[0])}, but the model has {n_feat} "
                    f"features. Use indices in [0, {n_feat - 1}]."
                )
            uniq, counts = np.unique(arr, return_counts=True)
            if (counts > 1).any():
                raise ConfigError(
                    f"groups[{g}] lists feature index {int(uniq[counts > 1][0])} more than once. "
                    "List each feature once per group."
                )
            members.append(arr)
            ptr.append(ptr[-1] + arr.size)
        idx = np.concatenate(members) if members else np.zeros(0, dtype=np.int64)
        return np.asarray(ptr, dtype=np.int64), idx.astype(np.int64)

    def _run(self, X: Any, groups: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
        f = self._forest
        table = self._ensure_table()
        n_rows = _n_rows(X, f.n_features)
        if groups is None:
            ptr = np.zeros(1, dtype=np.int64)
            idx = np.zeros(0, dtype=np.int64)
            n_out = f.n_features + 1
        else:
            ptr, idx = groups
            n_out = ptr.size
        out = np.empty((n_rows, n_out), dtype=np.float64)
        if n_rows == 0:
            return out
        with _numba_threads(self.n_jobs):
            n_threads = numba.get_num_threads()
            for start, chunk in _float64_chunks(X, f.n_features, self._pandas_categorical):
                n = chunk.shape[0]
                block = int(min(_BLOCK_ROWS, max(8, -(-n // (4 * n_threads)))))
                _k.explain_rows(
                    chunk,
                    out[start : start + n],
                    f.nodes,
                    f.thresholds,
                    f.cat_bits,
                    f.trees,
                    f.units,
                    f.unit_feature,
                    table,
                    f.leaf_value,
                    f.regions,
                    f.edges,
                    f.edge_const,
                    f.expected_value,
                    ptr,
                    idx,
                    groups is not None,
                    block,
                    f.max_internal,
                    f.max_leaves,
                    f.max_level,
                    f.max_nq,
                )
        return out


class _numba_threads:  # noqa: N801 - used like a function
    """Context manager setting numba's thread count, restoring it afterwards."""

    def __init__(self, n_threads: int | None) -> None:
        self.n = n_threads

    def __enter__(self) -> None:
        self.previous = numba.get_num_threads()
        # numba.config creates its settings at run time (config.reload()), out of mypy's sight
        most: int = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
        n = most if self.n is None else self.n
        numba.set_num_threads(max(1, min(n, most)))

    def __exit__(self, *exc: object) -> None:
        numba.set_num_threads(self.previous)


# --------------------------------------------------------------------- input
def _n_rows(X: Any, n_features: int) -> int:
    """Validate the shape of ``X`` and return its number of rows."""
    if isinstance(X, pd.DataFrame):
        shape = X.shape
    else:
        if not hasattr(X, "shape") or not hasattr(X, "dtype"):
            X = np.asarray(X)
        shape = X.shape
    if len(shape) != 2:
        raise SchemaError(
            f"X must be 2-D (n_rows, {n_features}); got an array of shape {shape}. "
            "Reshape a single row with X.reshape(1, -1)."
        )
    if shape[1] != n_features:
        raise SchemaError(
            f"X has {shape[1]} column(s) but the model was trained on {n_features} features. "
            "Pass the training columns, in training order."
        )
    return int(shape[0])


def _float64_chunks(
    X: Any, n_features: int, pandas_categorical: list[list[Any]] | None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first_row, block)`` float64 C-contiguous blocks of ``X`` as LightGBM sees it."""
    if isinstance(X, pd.DataFrame):
        frame = _encode_categories(X, pandas_categorical)
        for start in range(0, frame.shape[0], _CHUNK_ROWS):
            rows = frame.iloc[start : start + _CHUNK_ROWS]
            yield (
                start,
                np.ascontiguousarray(rows.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64),
            )
        return
    arr = X if isinstance(X, np.ndarray) else np.asarray(X)
    if arr.dtype == np.float64 and arr.flags.c_contiguous:
        yield 0, arr
        return
    for start in range(0, arr.shape[0], _CHUNK_ROWS):
        part = arr[start : start + _CHUNK_ROWS]
        if part.dtype not in (np.float32, np.float64):
            # LightGBM predicts on float32 copies of non-float arrays.
            try:
                part = part.astype(np.float32)
            except (TypeError, ValueError) as exc:
                raise SchemaError(
                    f"X has dtype {arr.dtype}, which cannot be converted to numbers ({exc}). "
                    "Encode text columns as numbers or pandas categories first."
                ) from exc
        yield start, np.ascontiguousarray(part, dtype=np.float64)


def _encode_categories(X: pd.DataFrame, pandas_categorical: list[list[Any]] | None) -> pd.DataFrame:
    """Replace category columns by their training codes (unseen -> NaN), as LightGBM does."""
    bad = [
        f"{col} ({dtype})"
        for col, dtype in X.dtypes.items()
        if not isinstance(dtype, pd.CategoricalDtype)
        and not (
            issubclass(dtype.type, np.integer | np.floating | np.bool_)
            and not issubclass(dtype.type, np.timedelta64)
        )
    ]
    if bad:
        shown = ", ".join(bad[:5])
        raise SchemaError(
            f"X has {len(bad)} column(s) that are neither numeric, boolean nor category: {shown}. "
            "Convert them to numbers or to the pandas 'category' dtype used in training."
        )
    cat_cols = [c for c, dtype in X.dtypes.items() if isinstance(dtype, pd.CategoricalDtype)]
    if not cat_cols:
        return X
    if pandas_categorical is not None and len(cat_cols) != len(pandas_categorical):
        raise SchemaError(
            f"X has {len(cat_cols)} category column(s) {cat_cols[:5]} but the model was trained "
            f"with {len(pandas_categorical)}. Give X the same category columns as in training."
        )
    frame = X.copy(deep=False)
    for i, col in enumerate(cat_cols):
        series = frame[col]
        if pandas_categorical is not None and list(series.cat.categories) != list(pandas_categorical[i]):
            series = series.cat.set_categories(pandas_categorical[i])
        codes = series.cat.codes.to_numpy().astype(np.float64)
        codes[codes < 0] = np.nan
        frame[col] = codes
    return frame
