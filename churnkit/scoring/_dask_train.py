"""Train the churn model on a Dask cluster with ``lightgbm.dask``.

The data are split by customer as for scoring (:mod:`churnkit.scoring._dask`).
One partition, a random sample of the customers, fixes the column types and
fits the :class:`~churnkit.features.FeatureSet` (category levels, text
models); the fitted set goes to every worker, which builds the training rows
(customer x cutoff) of its partitions. ``lightgbm.dask.DaskLGBMClassifier``
trains on them; the best number of trees is chosen on the out-of-time
validation cutoffs, as early stopping would choose it, from the validation
loss after each tree computed over all partitions; the probabilities are then
calibrated on the validation rows as :class:`~churnkit.model.ChurnModel` does.
"""

from __future__ import annotations

import dataclasses
import operator
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from churnkit._core import Progress, no_progress
from churnkit.config import Config
from churnkit.exceptions import ModelError
from churnkit.features import feature_set
from churnkit.labels import labels_from_config
from churnkit.model import (
    ChurnModel,
    attach_training_profile,
    model_from_config,
    out_of_time_split,
    sample_training_rows,
    sampling_rates,
    training_summary,
    training_window,
)
from churnkit.scoring._dask import _load_unit, read_partitioned, require_dask, scheduler_client
from churnkit.scoring._partition import (
    FAR_END,
    check_partitionable,
    data_end,
    dataset_types,
    pin_types,
    with_end,
)

__all__ = ["train_dask"]

_LABEL, _CUTOFF, _WEIGHT = "__churnkit_label", "__churnkit_cutoff", "__churnkit_weight"
_EXTRA = [_LABEL, _CUTOFF, _WEIGHT]
_MAX_TREES = 16_000
_PROFILE_ROWS = 200_000  # validation rows gathered (a seeded sample above) to profile training


def _learned_types(unit: tuple[Any, ...]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Column types a loaded partition inferred: customer attributes and event columns."""
    return dataset_types(unit[0])


def _labelled(unit: tuple[Any, ...], config: Config, end: pd.Timestamp) -> tuple[Any, pd.DataFrame]:
    dataset = dataclasses.replace(unit[0], end=end)
    return dataset, labels_from_config(dataset, config.labels)


def _label_counts(labelled: tuple[Any, pd.DataFrame]) -> pd.DataFrame:
    """Rows and churners per cutoff of one partition."""
    labels = labelled[1]
    return labels.groupby("cutoff")["label"].agg(["size", "sum"])


def _sampled(labelled: tuple[Any, pd.DataFrame], rates: tuple[float, float], first_valid: Any,
             seed: int) -> tuple[Any, pd.DataFrame]:
    """One partition's label rows sampled at the shares ``rates`` of the whole frame."""
    dataset, labels = labelled
    rows, _ = sample_training_rows(labels, max_rows=None, validation_cutoffs=0, random_state=seed,
                                   churner_rate=rates[0], rate=rates[1],
                                   first_validation=first_valid)
    return dataset, rows


def _fit_features(labelled: tuple[Any, pd.DataFrame], features: Any) -> Any:
    dataset, labels = labelled
    return feature_set(features).fit(dataset, labels[["customer_id", "cutoff"]])


def _rows(labelled: tuple[Any, pd.DataFrame], fs: Any) -> pd.DataFrame:
    """The training rows of one partition: features, label and cutoff."""
    dataset, labels = labelled
    X = fs.transform(dataset, labels[["customer_id", "cutoff"]])
    weight = labels["weight"].to_numpy(dtype=float) if "weight" in labels else np.ones(len(X))
    return X.assign(**{_LABEL: labels["label"].to_numpy(dtype=np.int64),
                       _CUTOFF: labels["cutoff"].to_numpy(), _WEIGHT: weight})


def _validation_loss(part: pd.DataFrame, booster_str: str, first_valid: Any, block: int = 64
                     ) -> np.ndarray:
    """Sum of the log loss after each tree over one partition's validation rows."""
    import lightgbm as lgb

    rows = part[part[_CUTOFF] >= first_valid]
    booster = lgb.Booster(model_str=booster_str)
    n_trees = booster.num_trees()
    out = np.zeros(n_trees)
    if not len(rows):
        return out
    y = rows[_LABEL].to_numpy(dtype=float)
    X = rows.drop(columns=_EXTRA)
    leaves = booster.trees_to_dataframe()
    leaves = leaves[leaves["left_child"].isna()]
    value = {(t, int(str(i).split("-L")[1])): v
             for t, i, v in zip(leaves["tree_index"], leaves["node_index"], leaves["value"],
                                strict=True)}
    raw = np.zeros(len(rows))
    for start in range(0, n_trees, block):
        count = min(block, n_trees - start)
        idx = booster.predict(X, pred_leaf=True, start_iteration=start, num_iteration=count)
        idx = np.asarray(idx).reshape(len(rows), count)
        for j in range(count):
            table = np.array([value.get((start + j, leaf), 0.0) for leaf in range(idx[:, j].max() + 1)])
            raw = raw + table[idx[:, j]]
            p = np.clip(expit(raw), 1e-15, 1 - 1e-15)
            out[start + j] = -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))
    return out


def _raw_valid(part: pd.DataFrame, booster_str: str, first_valid: Any) -> pd.DataFrame:
    import lightgbm as lgb

    rows = part[part[_CUTOFF] >= first_valid]
    booster = lgb.Booster(model_str=booster_str)
    p = booster.predict(rows.drop(columns=_EXTRA)) if len(rows) else np.empty(0)
    return pd.DataFrame({"p": p, "y": rows[_LABEL].to_numpy()})


def _profile_rows(part: pd.DataFrame, first_valid: Any, share: float, seed: int
                  ) -> pd.DataFrame:
    """One partition's validation rows (features only), a seeded ``share`` of them."""
    rows = part[part[_CUTOFF] >= first_valid].drop(columns=_EXTRA)
    if share < 1 and len(rows):
        keep = np.random.default_rng(seed).random(len(rows)) < share
        rows = rows[keep]
    return rows


def _best_iteration(loss: np.ndarray, patience: int) -> int:
    """The tree count early stopping picks: best loss until ``patience`` trees without a gain."""
    best, best_at = np.inf, 0
    for i, value in enumerate(loss):
        if value < best:
            best, best_at = value, i
        elif i - best_at >= patience:
            break
    return best_at + 1


def train_dask(
    config: Config,
    *,
    scheduler: Any = None,
    partitions: int | None = None,
    csv_blocksize: Any = None,
    progress: Progress = no_progress,
) -> tuple[ChurnModel, dict[str, Any]]:
    """Label the customers, build features per partition and train with ``lightgbm.dask``.

    Parameters
    ----------
    config : Config
        The configuration (event mode; no lookups, joins or customers from events).
    scheduler, partitions, csv_blocksize
        As for :func:`score_dask`.
    progress : callable, optional
        Called with a short description before each step.

    Returns
    -------
    model : ChurnModel
        A model that :func:`churnkit.score`, :func:`score_dask` and ``ChurnModel.save``
        accept (``churnkit.train(config, engine="dask")`` wraps it in a ``TrainResult``).
    summary : dict
        As the local engine's, plus ``engine`` and ``partitions``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import churnkit as ck
    >>> folder = Path(tempfile.mkdtemp())
    >>> config = ck.load_config(ck.datasets.make_crm(300, random_state=0).write_project(folder))
    >>> from distributed import Client
    >>> from churnkit.scoring import train_dask
    >>> with Client(processes=False, n_workers=1, threads_per_worker=2,
    ...             dashboard_address=None) as client:
    ...     model, summary = train_dask(config, scheduler=client, partitions=2)
    Finding random open ports for workers
    >>> summary["engine"], summary["partitions"], summary["rows"] == ck.train(config).summary["rows"]
    ('dask', 2, True)
    """
    require_dask("Dask training engine")
    import dask
    import dask.dataframe as dd
    import lightgbm as lgb
    from lightgbm.dask import DaskLGBMClassifier

    check_partitionable(config, "Dask")
    if config.labels.definition == "column":
        raise ModelError("train_dask trains on event data; snapshot labels need the local engine.")
    load = with_end(config, config.data.end or FAR_END)
    with scheduler_client(scheduler) as client:
        n = partitions or 2 * (sum(client.nthreads().values()) or 1)
        progress(f"Splitting the tables into {n} partitions of customers")
        formats: dict[str, dict[str, Any]] = {}
        pieces, _ = read_partitioned(client, config, n, csv_blocksize=csv_blocksize,
                                     formats=formats)
        # the first partition (a random sample of customers) fixes the column types
        used = [k for k in range(n) if pieces[k]]
        first = client.submit(_load_unit, load, pieces[used[0]], formats, pure=False)
        attributes, columns = client.submit(_learned_types, first).result()
        load = pin_types(load, attributes, columns)
        units = [first] + [client.submit(_load_unit, load, pieces[k], formats, pure=False)
                           for k in used[1:]]
        stamps = client.gather([client.submit(operator.itemgetter(1), u) for u in units])
        end = data_end(config, stamps)
        progress("Labelling customers at each cutoff")
        labelled = [client.submit(_labelled, u, config, end, pure=False) for u in units]
        del units, first
        m = config.model
        k = config.labels.validation_cutoffs
        counts = pd.concat(client.gather([client.submit(_label_counts, lab) for lab in labelled]))
        counts = counts.groupby(level=0).sum().sort_index()
        cutoffs = counts.index.to_numpy(dtype="datetime64[ns]")
        # the one out-of-time split of every training path, on the distinct cutoffs
        in_train, in_valid = out_of_time_split(
            cutoffs, validation_cutoffs=k, horizon_days=config.labels.horizon_days)
        first_valid = cutoffs[in_valid][0]
        older = counts.index < pd.Timestamp(first_valid)
        n_rows = int(counts["size"].sum())
        overall = float(counts["sum"].sum() / n_rows)
        churner_rate, rate = sampling_rates(int(counts.loc[older, "size"].sum()),
                                            int(counts.loc[older, "sum"].sum()),
                                            m.max_training_rows)
        sampled = rate < 1 or churner_rate < 1
        if sampled:
            progress(f"Sampling {rate:.1%} of the non-churners and {churner_rate:.1%} of the "
                     "churners at the training cutoffs")
            labelled = [client.submit(_sampled, lab, (churner_rate, rate), first_valid,
                                      m.random_state + i, pure=False)
                        for i, lab in enumerate(labelled)]
        fs = client.submit(_fit_features, labelled[0], config.features, pure=False)
        progress("Building features per partition")
        rows = [client.submit(_rows, lab, fs, pure=False) for lab in labelled]
        del labelled
        frame = dd.from_delayed(rows, meta=client.submit(lambda r: r.iloc[:0], rows[0]).result())
        train_cutoffs = cutoffs[in_train]
        train = frame[frame[_CUTOFF].isin(list(train_cutoffs))]
        X, y = train.drop(columns=_EXTRA), train[_LABEL]
        weight = train[_WEIGHT] if sampled else None
        if m.class_weight == "balanced":
            w = train[_WEIGHT]
            positive = float((w * y).sum().compute() / w.sum().compute())
            weight = w * y.map_partitions(
                lambda s: pd.Series(np.where(s == 1, 0.5 / positive, 0.5 / (1 - positive)),
                                    index=s.index), meta=(None, "f8"))
        progress(f"Training LightGBM on {len(X.columns)} features")
        trees = m.n_estimators
        while True:
            clf = DaskLGBMClassifier(
                client=client, objective="binary", n_estimators=trees,
                learning_rate=m.learning_rate, num_leaves=m.num_leaves, max_depth=m.max_depth,
                min_child_samples=m.min_child_samples, subsample=m.subsample,
                subsample_freq=1 if m.subsample < 1 else 0, colsample_bytree=m.colsample_bytree,
                reg_lambda=m.reg_lambda, random_state=m.random_state, deterministic=True,
                force_col_wise=True, verbosity=-1,
            )
            with warnings.catch_warnings():
                # lightgbm.dask passes the estimator's n_jobs on and then drops it (each worker
                # uses its own threads); the warning it gives about that is noise
                warnings.filterwarnings("ignore", message="Parameter n_jobs will be ignored",
                                        category=UserWarning)
                clf.fit(X, y, sample_weight=weight)
            booster_str = clf.booster_.model_to_string()
            progress("Choosing the number of trees on the validation cutoffs")
            loss = np.sum(client.gather([client.submit(_validation_loss, r, booster_str,
                                                       first_valid) for r in rows]), axis=0)
            best = _best_iteration(loss, m.early_stopping_rounds)
            # validation still improving at the tree cap: grow twice as many trees
            if trees - best >= m.early_stopping_rounds or trees >= _MAX_TREES:
                break
            trees = min(2 * trees, _MAX_TREES)
            progress(f"Validation still improves at {best} trees: training up to {trees}")
        booster = lgb.Booster(model_str=clf.booster_.model_to_string(num_iteration=best))
        valid = pd.concat(client.gather([client.submit(_raw_valid, r, booster.model_to_string(),
                                                       first_valid) for r in rows]))
        # the rows used and trained on, and when sampled the churners kept at the cutoffs
        # before the validation ones (purged or not, as the local engine counts them)
        counted = dask.compute(frame.map_partitions(len).sum(), train.map_partitions(len).sum(),
                               frame[_LABEL][frame[_CUTOFF] < first_valid].sum())
        n_used, n_train, n_kept = (int(c) for c in counted)
        fitted_set = fs.result()
        # the training profile of drift monitoring, from the validation rows as locally
        n_valid = int(counts.loc[~older, "size"].sum())
        share = min(1.0, _PROFILE_ROWS / max(n_valid, 1))
        profiled = pd.concat(client.gather([
            client.submit(_profile_rows, r, first_valid, share, m.random_state + i)
            for i, r in enumerate(rows)]))
    model = ChurnModel.from_booster(
        booster, raw_valid=valid["p"].to_numpy(), y_valid=valid["y"].to_numpy().astype(bool),
        n_train=n_train, feature_names=list(X.columns),
        categories={c: list(X._meta[c].cat.categories) for c in X.columns
                    if isinstance(X._meta[c].dtype, pd.CategoricalDtype)},
        **model_from_config(config).get_params())
    attach_training_profile(model, profiled, bins=config.monitor.bins)
    del profiled
    extra: dict[str, Any] = {}
    if sampled:
        extra["sampling"] = {"max_training_rows": m.max_training_rows, "rows_available": n_rows,
                             "rows_used": n_used, "sampled": True,
                             "training_rows_available": int(counts.loc[older, "size"].sum()),
                             "churners_kept": n_kept,
                             "non_churner_rate": round(rate, 6),
                             "churner_rate": round(churner_rate, 6)}
    training = training_window(
        cutoffs, mode="events", rows=n_rows, positive_rate=overall, end=end, engine="dask",
        partitions=n, rows_used=n_used, **extra)
    summary = training_summary(model, feature_set=fitted_set, config=config, training=training)
    return model, summary
