"""Model capacity chosen inside the training rows: a small search with a time budget.

:func:`search_capacity` tries a fixed list of LightGBM settings (:data:`CANDIDATES`:
tree size, minimum leaf size, learning rate, feature and row subsampling), each
with early stopping on an inner validation split of the rows it is given, and
keeps the one with the best inner validation ROC-AUC. The number of trees is
never capped while validation still improves (:func:`train_until_stale`).

The rows it is given are the model's own training part: the validation rows of
:class:`~churnkit.model.ChurnModel` (and, in a backtest, the test fold and
everything at or after its cutoff) never reach the search. The inner split is out
of time for event data (the newest training cutoff validates, older cutoffs
whose horizon reaches it purged when some remain) and a stratified hold-out for
snapshots.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from churnkit.model._rows import horizon_ends_by

__all__ = ["CANDIDATES", "MIN_TREES", "final_rate", "inner_split", "search_capacity",
           "train_until_stale"]

CANDIDATES: tuple[dict[str, Any], ...] = (
    {"num_leaves": 7, "min_child_samples": 80, "learning_rate": 0.05,
     "colsample_bytree": 0.8, "subsample": 0.8},
    {"num_leaves": 31, "min_child_samples": 20, "learning_rate": 0.03,
     "colsample_bytree": 0.8, "subsample": 0.8},
    {"num_leaves": 15, "min_child_samples": 50, "learning_rate": 0.05,
     "colsample_bytree": 0.5, "subsample": 0.8},
    {"num_leaves": 4, "min_child_samples": 100, "learning_rate": 0.05,
     "colsample_bytree": 0.8, "subsample": 0.8},
    {"num_leaves": 63, "min_child_samples": 40, "learning_rate": 0.02,
     "colsample_bytree": 0.5, "subsample": 0.7},
    {"num_leaves": 15, "min_child_samples": 20, "learning_rate": 0.03,
     "colsample_bytree": 0.3, "subsample": 0.8},
    {"num_leaves": 7, "min_child_samples": 200, "learning_rate": 0.05,
     "colsample_bytree": 0.5, "subsample": 0.7},
    {"num_leaves": 31, "min_child_samples": 100, "learning_rate": 0.03,
     "colsample_bytree": 0.8, "subsample": 0.7},
)
"""Settings tried in this order (the first is always tried, the rest while the budget lasts)."""
_INNER_SHARE = 0.25
MIN_TREES = 100
"""The fewest trees a candidate of the search is counted at before it runs."""
_SPEED = 2.0e7
"""Work per second and thread (rows x features x trees, scaled by the subsampling) of a
LightGBM fit on a 2-core reference machine. The budget is counted in this work, not on
the clock, so that the search, and the model, are the same however busy the machine is."""


def _work(rounds_x_rows: float, features: int, sampled: float) -> float:
    """Seconds of LightGBM fitting at the reference speed, on the 2 cores it is counted for.

    ``rounds_x_rows``: boosting rounds times training rows; each costs ``features x
    sampled`` (the column and row subsampling).
    """
    return rounds_x_rows * features * sampled / (2 * _SPEED)


def lgb_params(settings: dict[str, Any], *, random_state: int, n_jobs: int, reg_lambda: float = 1.0,
               max_depth: int = -1) -> dict[str, Any]:
    """LightGBM training parameters from churnkit's names (``num_leaves``, ``subsample``...)."""
    return {
        "objective": "binary", "learning_rate": settings["learning_rate"],
        "num_leaves": settings["num_leaves"], "max_depth": max_depth,
        "min_data_in_leaf": settings["min_child_samples"],
        "bagging_fraction": settings["subsample"],
        "bagging_freq": 1 if settings["subsample"] < 1 else 0,
        "feature_fraction": settings["colsample_bytree"], "lambda_l2": reg_lambda,
        "seed": random_state, "num_threads": n_jobs, "deterministic": True, "force_col_wise": True,
        "verbosity": -1, "metric": "binary_logloss",
    }


def train_until_stale(params: dict[str, Any], train_set: lgb.Dataset, valid_set: lgb.Dataset, *,
                      rounds: int, patience: int, max_rounds: int = 16_000) -> lgb.Booster:
    """Boost with early stopping; where validation still improves at ``rounds``, go on.

    When the best iteration is within ``patience`` rounds of the cap (validation was
    still improving), training restarts with twice the cap, up to ``max_rounds``
    trees, so a tree cap never stops a model that is still learning.
    ``booster.best_iteration`` is the best number of trees.
    """
    callbacks: list[Callable[..., Any]] = [lgb.early_stopping(patience, verbose=False)]
    while True:
        booster = lgb.train(params, train_set, num_boost_round=rounds, valid_sets=[valid_set],
                            callbacks=callbacks)
        best = int(booster.best_iteration or rounds)
        booster.best_iteration = best
        if rounds - best >= patience or rounds >= max_rounds:
            return booster
        rounds = min(2 * rounds, max_rounds)


def final_rate(rate: float, final: float, *, trees: int, patience: int, train_rows: int,
               all_rows: int, features: int, sampled: float, budget_seconds: float) -> float:
    """Learning rate of the final fit: as slow as ``final``, as far as the budget allows.

    A slower rate ranks a little better but needs proportionally more trees. The
    work of the final fit at the chosen ``rate`` is estimated from the search's
    number of ``trees`` (or the tree cap): the validation fit grows ``trees +
    patience`` rounds on ``train_rows``, the refit ``1.25 trees`` on ``all_rows``
    (0 without refit), each round costing ``features x sampled`` (the column and row
    subsampling) per row, counted at the reference speed of the search. Small
    training sets get ``final``; large ones a rate between ``final`` and ``rate``
    whose work fits ``budget_seconds``; never faster than ``rate``.

    Examples
    --------
    >>> small = dict(trees=200, patience=50, features=40, sampled=0.64, budget_seconds=20)
    >>> final_rate(0.05, 0.02, train_rows=5_000, all_rows=6_000, **small)
    0.02
    >>> final_rate(0.05, 0.02, train_rows=5_000_000, all_rows=6_000_000, **small)
    0.05
    """
    if final >= rate:
        return float(rate)
    work = _work((trees + patience) * train_rows + 1.25 * trees * all_rows, features, sampled)
    return float(min(rate, max(final, round(rate * work / budget_seconds, 4))))


def inner_split(y: np.ndarray, cutoffs: pd.Series | None, horizon_days: int | None, *,
                random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """Inner training and validation positions of the rows given to the search.

    Event data with two or more cutoffs: the newest cutoff validates; older
    cutoffs train, those whose horizon reaches it purged when some remain.
    Otherwise a stratified 25 % hold-out.
    """
    idx = np.arange(len(y))
    if cutoffs is not None:
        cut = pd.to_datetime(pd.Series(cutoffs)).to_numpy()
        unique = np.unique(cut)
        if len(unique) >= 2:
            last = unique[-1]
            valid = cut == last
            train = ~valid
            if horizon_days is not None:
                purged = train & horizon_ends_by(cut, last, horizon_days)
                if len(np.unique(y[purged])) == 2:
                    train = purged
            if len(np.unique(y[train])) == 2 and len(np.unique(y[valid])) == 2:
                return idx[train], idx[valid]
    stratify = y if np.bincount(y.astype(int)).min() >= 2 else None
    tr, va = train_test_split(idx, test_size=_INNER_SHARE, random_state=random_state, stratify=stratify)
    return np.sort(tr), np.sort(va)


def search_capacity(
    X: pd.DataFrame, y: np.ndarray, *, cutoffs: pd.Series | None = None,
    horizon_days: int | None = None, budget_seconds: float = 20.0, patience: int = 50,
    random_state: int = 0, n_jobs: int = 2, reg_lambda: float = 1.0, weight: np.ndarray | None = None,
) -> dict[str, Any]:
    """Pick LightGBM settings on an inner split of ``X`` within a time budget.

    Parameters
    ----------
    X, y : DataFrame, array of bool
        The rows the search may see (the model's training part only).
    cutoffs : Series, optional
        Each row's cutoff (event data): the inner split is then out of time.
    horizon_days : int, optional
        Label horizon, for the inner purge.
    budget_seconds : float, default 20
        Candidates are tried in :data:`CANDIDATES` order until their work, counted at
        the fixed speed of a 2-core reference machine, exceeds this many seconds (the
        first one always runs). Counting work instead of reading the clock keeps the
        choice deterministic under any machine load; ``seconds`` reports the clock.
        When the budget cannot hold two candidates of :data:`MIN_TREES` trees on these
        rows, there is nothing to compare: no candidate runs, the first one's settings
        are returned with ``skipped=True`` and ``trees=None``.
    patience, random_state, n_jobs, reg_lambda, weight
        Early-stopping rounds, random_state, threads, L2 penalty, row weights.

    Returns
    -------
    dict
        ``settings`` (the chosen ``num_leaves, min_child_samples, learning_rate,
        colsample_bytree, subsample``), ``trees`` (its best number of trees on the inner
        split), ``inner_roc_auc``, ``tried``, ``seconds`` (clock), ``budget_seconds_used``
        (counted work), ``inner_train_rows``,
        ``inner_valid_rows`` and, for event data, ``inner_cutoffs`` (the newest inner
        training cutoff and the inner validation cutoff).
    """
    start = time.perf_counter()
    y = np.asarray(y, dtype=bool)
    tr, va = inner_split(y, cutoffs, horizon_days, random_state=random_state)
    first = CANDIDATES[0]
    least = 2 * _work((MIN_TREES + patience) * len(tr), X.shape[1],
                      first["colsample_bytree"] * first["subsample"])  # two candidates
    if least > budget_seconds:
        return {"settings": dict(first), "trees": None, "skipped": True, "tried": 0,
                "seconds": round(time.perf_counter() - start, 2), "budget_seconds_used": 0.0,
                "inner_train_rows": len(tr), "inner_valid_rows": len(va)}
    w_tr = weight[tr] if weight is not None else None
    binning = {"feature_pre_filter": False}  # the candidates differ in minimum leaf size
    train_set = lgb.Dataset(X.iloc[tr], y[tr].astype(int), weight=w_tr, params=binning)
    valid_set = lgb.Dataset(X.iloc[va], y[va].astype(int), reference=train_set, params=binning)
    best: tuple[float, int, dict[str, Any]] | None = None
    tried = 0
    spent = 0.0
    for settings in CANDIDATES:
        if tried and spent > budget_seconds:
            break
        params = lgb_params(settings, random_state=random_state, n_jobs=n_jobs, reg_lambda=reg_lambda)
        booster = train_until_stale(params, train_set, valid_set, rounds=1000, patience=patience)
        trees = int(booster.best_iteration)
        grown = trees + patience
        spent += _work(grown * len(tr), X.shape[1],  # two cores, whatever n_jobs is
                       settings["colsample_bytree"] * settings["subsample"])
        p = booster.predict(X.iloc[va], num_iteration=trees, num_threads=n_jobs)
        auc = float(roc_auc_score(y[va], p))
        tried += 1
        if best is None or auc > best[0] + 1e-6:
            best = (auc, trees, settings)
    assert best is not None  # the first candidate always runs
    out: dict[str, Any] = {
        "settings": dict(best[2]), "trees": best[1], "inner_roc_auc": round(best[0], 4),
        "tried": tried, "seconds": round(time.perf_counter() - start, 2),
        "budget_seconds_used": round(spent, 2),
        "inner_train_rows": len(tr), "inner_valid_rows": len(va),
    }
    if cutoffs is not None:
        cut = pd.to_datetime(pd.Series(cutoffs)).reset_index(drop=True)
        out["inner_cutoffs"] = {"last_train": str(cut.iloc[tr].max().date()),
                                "valid": str(cut.iloc[va].max().date())}
    return out
