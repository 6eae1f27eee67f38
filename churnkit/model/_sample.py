"""Training rows within a budget: every churner, a weighted sample of the others.

A year of monthly cutoffs over a million customers makes about ten million
training rows (customer x cutoff), most of them customers who stay. Churners
carry most of the information, so :func:`sample_training_rows` keeps all of
them and, per training cutoff, a random share of the non-churners, each kept
non-churner weighted by the inverse of its cutoff's sampling rate. The weighted
rows then have the churn rate of the full frame at every cutoff, so LightGBM
learns probabilities on the original scale. The validation cutoffs are never
sampled: early stopping, the calibration and the reported metrics see every row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["non_churner_rate", "sample_training_rows", "sampling_rates"]


def sample_training_rows(
    labels: pd.DataFrame, *, max_rows: int | None, validation_cutoffs: int, random_state: int = 0,
    rate: float | None = None, first_validation: Any = None, churner_rate: float = 1.0,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """At most ``max_rows`` training rows: the churners, a weighted sample of non-churners.

    Parameters
    ----------
    labels : DataFrame
        ``customer_id, cutoff, label``: one row per customer and cutoff.
    max_rows : int or None
        Budget of rows at the training cutoffs (all but the newest
        ``validation_cutoffs``). ``None``, or a frame within the budget, keeps every row.
    validation_cutoffs : int
        The newest cutoffs, kept whole (they validate and calibrate the model).
    random_state : int, default 0
        Seed of the sample: the same labels and seed give the same rows.
    rate, first_validation, churner_rate : optional
        For one partition of a larger frame (the Dask engine): the shares of
        non-churners and of churners to keep, worked out over the whole frame by
        :func:`sampling_rates` (``max_rows`` is then ignored), and the first validation
        cutoff of the whole frame.

    Returns
    -------
    rows : DataFrame
        ``labels`` itself when nothing is sampled; otherwise the kept rows in their
        original order (index kept) with a ``weight`` column: 1 for validation rows and
        unsampled churners, ``n / k`` for a row kept as one of ``k`` out of the ``n``
        rows of its class at its cutoff; and a ``refit_weight`` column, the weights of
        the rows when the model is grown again on every cutoff (``model.refit``): the
        training rows' own, and the validation cutoffs' non-churners sampled at the
        same rate (0: left out of the refit), so that the refit is no larger than the
        training part and weighs every cutoff alike.
    info : dict
        ``max_training_rows``, ``rows_available``, ``rows_used``, ``sampled`` and, when
        sampled, ``training_rows_available``, ``training_rows_used``, ``churners_kept``,
        ``non_churner_rate`` and ``churner_rate`` (the shares of each class kept at the
        training cutoffs).

    Examples
    --------
    >>> import pandas as pd
    >>> labels = pd.DataFrame({
    ...     "customer_id": list(range(10)) * 3,
    ...     "cutoff": pd.to_datetime(["2024-01-01"] * 10 + ["2024-02-01"] * 10 + ["2024-03-01"] * 10),
    ...     "label": ([True] + [False] * 9) * 3})
    >>> rows, info = sample_training_rows(labels, max_rows=10, validation_cutoffs=1)
    >>> info["rows_used"], int(rows["label"].sum()), info["churners_kept"]
    (20, 3, 2)
    >>> rows.groupby("cutoff")["weight"].sum().tolist()  # every cutoff keeps its row count
    [10.0, 10.0, 10.0]
    >>> int((rows["refit_weight"] > 0).sum()), rows.groupby("cutoff")["refit_weight"].sum().tolist()
    (15, [10.0, 10.0, 10.0])
    """
    n = len(labels)
    info: dict[str, Any] = {"max_training_rows": max_rows, "rows_available": n}
    cut = labels["cutoff"].to_numpy(dtype="datetime64[ns]")
    unique = np.unique(cut)
    first_valid: Any
    if first_validation is not None:
        first_valid = np.datetime64(pd.Timestamp(first_validation), "ns")
    else:
        first_valid = unique[-validation_cutoffs] if 0 < validation_cutoffs < len(unique) else None
    training = cut < first_valid if first_valid is not None else np.ones(n, dtype=bool)
    n_train = int(training.sum())
    y = labels["label"].to_numpy(dtype=bool)
    churners = int((y & training).sum())
    if rate is None:
        if max_rows is None or n_train <= max_rows:
            return labels, {**info, "rows_used": n, "sampled": False}
        churner_rate, rate = sampling_rates(n_train, churners, max_rows)
    elif rate >= 1 and churner_rate >= 1:
        return labels, {**info, "rows_used": n, "sampled": False}
    rng = np.random.default_rng(random_state)
    weight = np.zeros(n)
    weight[~training] = 1.0  # the validation rows, whole
    refit = np.zeros(n)  # the refit samples them like the training rows
    for c in unique:
        at = cut == c
        target = weight if first_valid is None or c < first_valid else refit
        for cls, share in ((True, churner_rate), (False, rate)):
            pool = np.flatnonzero(at & (y == cls))
            if not len(pool):
                continue
            if share >= 1:
                target[pool] = 1.0
                continue
            k = max(1, round(share * len(pool)))
            target[rng.choice(pool, size=k, replace=False)] = len(pool) / k
    refit[training] = weight[training]
    keep = weight > 0
    rows = labels.loc[keep].assign(weight=weight[keep], refit_weight=refit[keep])
    used = int(keep.sum())
    info.update(rows_used=used, sampled=True, training_rows_available=n_train,
                training_rows_used=int((keep & training).sum()),
                churners_kept=int((keep & training & y).sum()),
                non_churner_rate=round(rate, 6), churner_rate=round(churner_rate, 6))
    return rows, info


def sampling_rates(rows: int, churners: int, max_rows: int | None) -> tuple[float, float]:
    """Shares of churners and of non-churners kept so that ``rows`` fit in ``max_rows``.

    Every churner is kept while they fill at most half the budget, and the
    non-churners fill the rest; beyond that each class fills half the budget
    (a class smaller than its half is kept whole). 1 means no sampling.

    Examples
    --------
    >>> sampling_rates(1000, 100, 550), sampling_rates(1000, 100, None)
    ((1.0, 0.5), (1.0, 1.0))
    >>> sampling_rates(10_000, 4_000, 2_000)  # churners beyond half the budget: 1,000 each
    (0.25, 0.16666666666666666)
    """
    others = rows - churners
    if max_rows is None or rows <= max_rows:
        return 1.0, 1.0
    half = max(int(max_rows) // 2, 1)
    if churners <= half:
        return 1.0, (min(others, max(int(max_rows) - churners, 1)) / others if others else 1.0)
    return half / churners, (min(others, half) / others if others else 1.0)


def non_churner_rate(rows: int, churners: int, max_rows: int | None) -> float:
    """Share of non-churners kept so that ``rows`` training rows fit in ``max_rows``.

    The second of :func:`sampling_rates`.

    Examples
    --------
    >>> non_churner_rate(1000, 100, 550), non_churner_rate(1000, 100, None)
    (0.5, 1.0)
    """
    return sampling_rates(rows, churners, max_rows)[1]
