"""Point-in-time features from one event table (contacts, feedback, usage, ...).

:class:`EventFeatures` is a scikit-learn transformer. ``X`` is the snapshot
frame (one row per customer and cutoff, columns ``customer_id`` and
``cutoff``); the event table is aggregated per row using only events with
``timestamp < cutoff`` and left-joined, so rows are never added or dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted

from churnkit.config import NUMERIC_AGGS
from churnkit.data import infer_type
from churnkit.exceptions import NotFittedError, SchemaError
from churnkit.features._event_columns import _clean, _Codes, _derive, _factorize
from churnkit.features._kernel import (
    OP_COPY,
    OP_RATIO,
    OP_SUB,
    ScratchLayout,
    aggregate_events,
    nanoseconds,
    readonly,
    segments,
    stack_rows,
    zero_one,
)

__all__ = ["NUMERIC_AGGS", "EventFeatures", "check_fitted", "check_spine", "checked_events",
           "spine_tags"]

_DEFAULT_AGGS = {
    "events": ("sum", "mean", "max"),
    "contacts": ("sum", "mean", "max"),
    "feedback": ("mean", "min", "first", "last", "change"),
    "transactions": ("sum", "mean", "last", "change", "trend"),
    "usage": ("sum", "mean", "last", "change", "trend"),
    "actions": ("sum", "mean", "max"),  # retention actions taken: counts, days since the last
}
_DEFAULT_ROLES = {
    "contacts": ("direction", "resolved", "topic", "channel"),
    "feedback": ("score", "survey"),
    "transactions": ("amount", "type"),
}
# columns also taken for a role when none is named like it
_ROLE_ALIASES = {"type": ("kind",)}


_MAX_SEEN = 10_000  # distinct values remembered per categorical column


def check_spine(X: Any, where: str) -> pd.DataFrame:
    """Validate the snapshot frame ``X``: a DataFrame with ``customer_id`` and ``cutoff``."""
    if not isinstance(X, pd.DataFrame):
        raise SchemaError(
            f"{where} expects X as a DataFrame with columns 'customer_id' and 'cutoff' "
            f"(one row per customer and cutoff). Got {type(X).__name__} instead."
        )
    missing = [c for c in ("customer_id", "cutoff") if c not in X.columns]
    if missing:
        raise SchemaError(
            f"{where}: X has no column(s) {missing}; it needs 'customer_id' and 'cutoff'. "
            f"Available columns: {list(X.columns)[:20]}."
        )
    if not pd.api.types.is_datetime64_any_dtype(X["cutoff"]):
        raise SchemaError(f"{where}: X.cutoff must be datetime64, got {X['cutoff'].dtype}.")
    return X


def check_fitted(estimator: BaseEstimator, what: str) -> None:
    """Raise :class:`~churnkit.exceptions.NotFittedError` unless ``estimator`` is fitted.

    ``what`` names the estimator in the message, e.g. ``"EventFeatures(table='usage')"``.
    """
    try:
        check_is_fitted(estimator)
    except SklearnNotFittedError:
        raise NotFittedError(f"This {what} is not fitted yet. Call 'fit' first.") from None


def spine_tags(tags: Tags) -> Tags:
    """Tags of a transformer whose ``X`` is the snapshot frame (``customer_id``, ``cutoff``).

    ``X`` is a two-dimensional table with string ids; the features are float32
    (or categorical), whatever the dtypes of ``X``, and fitting is required.
    """
    tags.input_tags.two_d_array = True
    tags.input_tags.string = True
    tags.requires_fit = True
    if tags.transformer_tags is not None:
        tags.transformer_tags.preserves_dtype = []
    return tags


def _level_mapping(names: pd.Index, levels: list[str], other: bool, dtype: Any = np.int32
                   ) -> np.ndarray:
    """Level code of each distinct value, then -1 for the missing code -1."""
    mapping = pd.Index(levels, dtype=object).get_indexer(names).astype(dtype)
    if other:
        mapping[mapping < 0] = len(levels)
    return np.append(mapping, np.array(-1, dtype=dtype))


def _level_codes(values: pd.Series, levels: list[str], other: bool) -> np.ndarray:
    """Codes of ``values`` among ``levels``; unknown values → ``len(levels)`` if ``other``."""
    codes, names = _factorize(values)
    return _level_mapping(names, levels, other)[codes]


def _positions(ids: pd.Series, keys: pd.Index) -> np.ndarray:
    """Position of each id in ``keys`` (-1: none), from category codes when they index ``keys``."""
    if not len(keys):
        return np.full(len(ids), -1, dtype=np.intp)
    if isinstance(ids.dtype, pd.CategoricalDtype) and ids.cat.categories is keys:
        return ids.cat.codes.to_numpy().astype(np.intp)
    return keys.get_indexer(pd.Index(ids.to_numpy()))


def checked_events(events: Any, builder: Any, method: str) -> pd.DataFrame:
    """The ``events`` argument of ``builder.method``, checked: a DataFrame with an id and a stamp."""
    ev, table = events, builder.table
    if not isinstance(ev, pd.DataFrame):
        got = "None" if ev is None else f"a {type(ev).__name__}"
        raise SchemaError(
            f"{type(builder).__name__}(table={table!r}).{method} has no event table (got {got}): "
            "pass events=DataFrame to fit/transform."
        )
    missing = [c for c in ("customer_id", "timestamp") if c not in ev.columns]
    if missing:
        raise SchemaError(
            f"Event table {table!r} has no column(s) {missing}. Available columns: {list(ev.columns)}."
        )
    if not pd.api.types.is_datetime64_any_dtype(ev["timestamp"]):
        raise SchemaError(
            f"{table}.timestamp must be datetime64 (got {ev['timestamp'].dtype}); "
            "load tables with churnkit.load_dataset or parse them with pd.to_datetime."
        )
    return ev


class OneTableFeatures(TransformerMixin, BaseEstimator):
    """Base of the transformers of one event table (:class:`EventFeatures`, :class:`TextFeatures`).

    They share their calls (``fit(X, events=...)`` then ``transform(X, events=...)``),
    how they name their output features, and their scikit-learn tags.
    """

    table: str
    feature_names_out_: np.ndarray

    def fit(self, X: pd.DataFrame, y: Any = None, *,
            events: pd.DataFrame | None = None) -> OneTableFeatures:
        raise NotImplementedError  # pragma: no cover -- every subclass defines it

    def transform(self, X: pd.DataFrame, *, events: pd.DataFrame | None = None) -> pd.DataFrame:
        raise NotImplementedError  # pragma: no cover -- every subclass defines it

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output features."""
        check_fitted(self, f"{type(self).__name__}(table={self.table!r})")
        return self.feature_names_out_.copy()

    def fit_transform(self, X: pd.DataFrame, y: Any = None, *,
                      events: pd.DataFrame | None = None) -> pd.DataFrame:
        """Fit on ``events``, then transform the rows of ``X`` with it."""
        return self.fit(X, y, events=events).transform(X, events=events)

    def __sklearn_tags__(self) -> Tags:  # noqa: D105
        return spine_tags(super().__sklearn_tags__())


class EventFeatures(OneTableFeatures):
    """Aggregate one event table into point-in-time features per customer and cutoff.

    For each window (days before the cutoff): event count and its trend against
    the previous window of equal length, counts per category value (top-K, the
    rest as ``(other)``), numeric aggregations (sum, mean, min, max, first, last,
    change, trend), boolean counts and shares (not for a flag whose complement
    is also a flag: ``resolved`` beside ``unresolved``, ``answered`` beside
    ``unanswered``); over all history: days since the first and the last event,
    and days since the last ``true`` of each boolean.
    Contacts add ``inbound``/``outbound``/``unresolved``/``complaint`` booleans;
    feedback adds ``answered``/``unanswered``, a score column per survey type,
    NPS ``detractor``/``passive``/``promoter`` classes and, with five-point (CSAT)
    answers, ``dissatisfied``/``satisfied`` classes over every survey; transactions add a
    ``price_rise`` boolean: a positive ``amount`` at least 10 % above the
    customer's previous positive amount of the same ``type`` (invoice, credit...).

    The event table is an argument of :meth:`fit` and :meth:`transform`
    (``events=``), never a parameter: the fitted transformer holds no data,
    :func:`~sklearn.base.clone` copies none, and one fitted transformer can
    transform from several threads at once.

    Parameters
    ----------
    table : str
        Table name, the prefix of every feature name.
    kind : {"events", "contacts", "feedback", "transactions", "usage", "actions"}
        Adds the kind's derived features and default aggregations.
    columns : mapping of str to str, optional
        Column → type (``categorical``, ``numeric``, ``boolean``; ``text`` is ignored).
        Default: every column except ``customer_id`` and ``timestamp``, inferred.
    roles : mapping of str to str, optional
        Kind-specific roles (``direction``, ``resolved``, ``topic``, ``score``, ``survey``...).
        Columns named like a role are used when it is not given.
    aggregations : mapping of str to list of str, optional
        Numeric aggregations per column, overriding the kind's defaults.
    windows : sequence of int, default (30, 90, 365)
        Window lengths in days.
    max_categories : int, default 10
        Most frequent values kept per categorical column.

    Attributes
    ----------
    feature_names_out_ : ndarray of str
    categories_ : dict of str to list
        Kept values of each categorical column.
    seen_ : dict of str to list
        Every value of each categorical column before the latest cutoff (up to
        10,000), to count values never seen in training when scoring.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "timestamp": pd.to_datetime(["2024-01-05", "2024-02-20", "2024-01-10"]),
    ...     "topic": ["billing", "billing", "technical"]})
    >>> X = pd.DataFrame({"customer_id": ["a", "b"], "cutoff": pd.to_datetime(["2024-03-01"] * 2)})
    >>> f = EventFeatures(table="contacts", windows=[30]).fit(X, events=events)
    >>> f.transform(X, events=events)["contacts__topic=billing__count__30d"].tolist()
    [1.0, 0.0]
    """

    def __init__(
        self,
        *,
        table: str = "events",
        kind: str = "events",
        columns: Mapping[str, str] | None = None,
        roles: Mapping[str, str] | None = None,
        aggregations: Mapping[str, Sequence[str]] | None = None,
        windows: Sequence[int] = (30, 90, 365),
        max_categories: int = 10,
    ) -> None:
        self.table = table
        self.kind = kind
        self.columns = columns
        self.roles = roles
        self.aggregations = aggregations
        self.windows = windows
        self.max_categories = max_categories

    # -- helpers ---------------------------------------------------------------------------
    def _resolved_roles(self, ev: pd.DataFrame) -> dict[str, str]:
        roles = dict(self.roles or {})
        for role in _DEFAULT_ROLES.get(self.kind, ()):
            if role in roles:
                continue
            for col in (role, *_ROLE_ALIASES.get(role, ())):
                if col in ev.columns:
                    roles[role] = col
                    break
        return roles

    def _column_types(self, ev: pd.DataFrame) -> dict[str, str]:
        if self.columns:
            return {c: t for c, t in self.columns.items() if t in {"categorical", "numeric", "boolean"}}
        types = {}
        for col in ev.columns:
            if col in ("customer_id", "timestamp"):
                continue
            kind = infer_type(ev[col])
            if kind in {"categorical", "numeric", "boolean"}:
                types[col] = kind
        return types

    # -- sklearn API -------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any = None, *, events: pd.DataFrame | None = None
            ) -> EventFeatures:
        """Learn the category levels and the feature names.

        Only events before the latest cutoff in ``X`` are looked at.

        Parameters
        ----------
        X : DataFrame
            The snapshot frame: ``customer_id`` and ``cutoff`` (datetime64).
        y : None
            Ignored.
        events : DataFrame
            The event table, with ``customer_id`` and ``timestamp`` columns.

        Returns
        -------
        EventFeatures
            This transformer, fitted.
        """
        X = check_spine(X, f"EventFeatures(table={self.table!r}).fit")
        if int(self.max_categories) < 1:
            raise ValueError("The 'max_categories' parameter of EventFeatures must be >= 1. "
                             f"Got {self.max_categories}.")
        windows = sorted({int(w) for w in self.windows})
        if not windows or windows[0] <= 0:
            raise ValueError(
                f"The 'windows' parameter of EventFeatures must be positive day counts. "
                f"Got {self.windows!r} instead."
            )
        ev = checked_events(events, self, "fit")
        roles = self._resolved_roles(ev)
        types = self._column_types(ev)
        coded = _Codes(ev)
        derived, types = _derive(ev, self.kind, types, roles, codes=coded)
        latest = X["cutoff"].max()
        past = (ev["timestamp"] < latest).to_numpy() if pd.notna(latest) else np.zeros(len(ev), bool)
        self.roles_ = roles
        self.types_ = types
        self.windows_ = windows
        self.categories_: dict[str, list[str]] = {}
        self.other_: dict[str, bool] = {}
        self.seen_: dict[str, list[str]] = {}
        for col, kind in types.items():
            if kind != "categorical":
                continue
            codes, names = (
                _factorize(pd.Series(derived[col])) if col in derived else coded(col))
            tally = np.bincount(codes[(codes >= 0) & past], minlength=len(names))
            counts = pd.Series(tally, index=names).groupby(level=0).sum()
            counts = counts[counts > 0].sort_index(kind="stable").sort_values(
                ascending=False, kind="stable")
            self.categories_[col] = [str(v) for v in counts.index[: int(self.max_categories)]]
            self.other_[col] = len(counts) > int(self.max_categories)
            if len(counts) <= _MAX_SEEN:
                self.seen_[col] = sorted(str(v) for v in counts.index)
        default = _DEFAULT_AGGS.get(self.kind, _DEFAULT_AGGS["events"])
        self.aggs_ = {
            col: tuple((self.aggregations or {}).get(col, default))
            for col, kind in types.items() if kind == "numeric"
        }
        self.feature_names_out_ = np.asarray(self._names(), dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def _names(self) -> list[str]:
        t = self.table
        names: list[str] = []
        for w in self.windows_:
            names += [f"{t}__count__{w}d", f"{t}__count__trend__{w}d"]
        names += [f"{t}__days_since_last", f"{t}__days_since_first"]
        for col, levels in self.categories_.items():
            labels = levels + (["(other)"] if self.other_[col] else [])
            for w in self.windows_:
                names += [f"{t}__{_clean(col)}={_clean(v)}__count__{w}d" for v in labels]
        for col, aggs in self.aggs_.items():
            for w in self.windows_:
                names += [f"{t}__{_clean(col)}__{a}__{w}d" for a in aggs]
        days_only = self._days_only()
        for col in self._bools():
            if col not in days_only:
                for w in self.windows_:
                    names += [f"{t}__{_clean(col)}__count__{w}d",
                              f"{t}__{_clean(col)}__share__{w}d"]
            names.append(f"{t}__{_clean(col)}__days_since_last")
        return _dedupe(names)

    def _bools(self) -> list[str]:
        return [c for c, k in self.types_.items() if k == "boolean"]

    def _days_only(self) -> set[str]:
        """Flags whose counts and shares would repeat those of their complement.

        ``resolved`` beside the derived ``unresolved`` (contacts) and ``answered``
        beside ``unanswered`` (feedback): on every row one is 1 minus the other, so
        their shares add up to 1 and their counts to the window's count. They keep
        only the days since their last true.
        """
        bools = set(self._bools())
        pairs = {"contacts": (self.roles_.get("resolved"), "unresolved"),
                 "feedback": ("answered", "unanswered")}.get(self.kind)
        return {pairs[0]} if pairs and pairs[0] in bools and pairs[1] in bools else set()

    def transform(self, X: pd.DataFrame, *, events: pd.DataFrame | None = None) -> pd.DataFrame:
        """Aggregate the events of each row's customer strictly before its cutoff.

        Reads the fitted state and never changes it, so one fitted transformer
        can serve several threads.

        Parameters
        ----------
        X : DataFrame
            The snapshot frame: ``customer_id`` and ``cutoff`` (datetime64).
        events : DataFrame
            The event table, with the columns the transformer was fitted with.

        Returns
        -------
        DataFrame
            Same index as ``X``, one float32 column per feature.
        """
        check_fitted(self, f"EventFeatures(table={self.table!r})")
        X = check_spine(X, f"EventFeatures(table={self.table!r}).transform")
        ev = checked_events(events, self, "transform")
        coded = _Codes(ev)
        # one grouping of the events by customer and time, for the derived columns too
        order, ts, lo, hi, keys = segments(ev["customer_id"], nanoseconds(ev["timestamp"]))
        derived, _ = _derive(ev, self.kind, {}, self.roles_,
                             nps_classes="detractor" in self.types_, codes=coded,
                             five_point_classes="dissatisfied" in self.types_,
                             groups=(order, lo))
        pos = _positions(X["customer_id"], keys)
        has = pos >= 0
        at = np.maximum(pos, 0)
        seg_lo = np.where(has, lo[at], 0).astype(np.int64) if len(keys) else np.zeros(len(X), np.int64)
        seg_hi = np.where(has, hi[at], 0).astype(np.int64) if len(keys) else np.zeros(len(X), np.int64)
        cut = X["cutoff"].to_numpy("datetime64[ns]").view(np.int64)

        def column(col: str) -> np.ndarray:
            return derived[col] if col in derived else _col(ev, col)

        cat_cols = list(self.categories_)
        widths = [len(self.categories_[c]) + int(self.other_[c]) for c in cat_cols]
        code_type = np.int8 if max(widths, default=0) < 127 else np.int32
        cat_codes = np.empty((len(cat_cols), len(ev)), dtype=code_type)
        for c, col in enumerate(cat_cols):
            if col not in ev and col not in derived:
                cat_codes[c] = -1
                continue
            codes, names = _factorize(pd.Series(derived[col])) if col in derived else coded(col)
            mapping = _level_mapping(names, self.categories_[col], self.other_[col], code_type)
            np.take(mapping, codes if order is None else codes[order], out=cat_codes[c])
        offsets = np.cumsum([0, *widths[:-1]], dtype=np.int64) if widths else np.zeros(0, np.int64)
        num = stack_rows([column(c) for c in self.aggs_], order, len(ev), np.float64)
        bools = [column(c) for c in self._bools()]
        # float32 holds flags (1/0/NaN) exactly, and float32 columns as they are
        exact = all(b.dtype == np.float32 or zero_one(b) for b in bools)
        boolv = stack_rows(bools, order, len(ev), np.float32 if exact else np.float64)
        layout = ScratchLayout(len(self.windows_), sum(widths), len(self.aggs_), len(bools))
        op, arg_a, arg_b = self._plan(layout, offsets)
        out = np.empty((len(op), len(X)), dtype=np.float32)
        aggregate_events(
            readonly(ts), seg_lo, seg_hi, cut, np.asarray(self.windows_, np.int64) * _DAY_NS,
            readonly(cat_codes), offsets, layout.n_levels, readonly(num), readonly(boolv),
            op, arg_a, arg_b, out,
        )
        return pd.DataFrame(out.T, index=X.index, columns=list(self.feature_names_out_),
                            copy=False)

    def _plan(self, layout: ScratchLayout, offsets: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """How each output feature, in the order of the names, is made from the scratch vector."""
        plan: list[tuple[int, int, int]] = []
        n_w = len(self.windows_)
        for j in range(n_w):
            plan += [(OP_COPY, layout.count(j), 0),
                     (OP_SUB, layout.count(j), layout.count_prev(j))]
        plan += [(OP_COPY, layout.days_since(0), 0), (OP_COPY, layout.days_since(1), 0)]
        for c, col in enumerate(self.categories_):
            width = len(self.categories_[col]) + int(self.other_[col])
            for j in range(n_w):
                plan += [(OP_COPY, layout.level(j, int(offsets[c]) + v), 0) for v in range(width)]
        for k, aggs in enumerate(self.aggs_.values()):
            for j in range(n_w):
                def stat(name: str, j: int = j, k: int = k) -> int:
                    return layout.stat(j, k, name)

                how = {
                    "count": (OP_COPY, stat("count"), 0), "sum": (OP_COPY, stat("sum"), 0),
                    "min": (OP_COPY, stat("min"), 0), "max": (OP_COPY, stat("max"), 0),
                    "first": (OP_COPY, stat("first"), 0), "last": (OP_COPY, stat("last"), 0),
                    "mean": (OP_RATIO, stat("sum"), stat("count")),
                    "change": (OP_SUB, stat("last"), stat("first")),
                    "trend": (OP_SUB, stat("sum"), stat("prev_sum")),
                }
                plan += [how[a] for a in aggs]
        days_only = self._days_only()
        for b, col in enumerate(self._bools()):
            if col not in days_only:
                for j in range(n_w):
                    plan += [(OP_COPY, layout.true_count(j, b), 0),
                             (OP_RATIO, layout.true_count(j, b), layout.nonnull_count(j, b))]
            plan.append((OP_COPY, layout.days_since_true(b), 0))
        if len(plan) != len(self.feature_names_out_):
            raise NotFittedError(
                f"EventFeatures(table={self.table!r}) was fitted by another churnkit version "
                "(its feature list does not match this version's). Fit it again."
            )
        arr = np.asarray(plan, dtype=np.int64).reshape(-1, 3)
        return arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy()

_DAY_NS = 86_400 * 10**9


def _dedupe(names: list[str]) -> list[str]:
    """Make names unique (values that differ only in characters LightGBM rejects)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        n = seen.get(name, 0)
        seen[name] = n + 1
        out.append(name if n == 0 else f"{name}~{n + 1}")
    return out


def _col(ev: pd.DataFrame, col: str) -> np.ndarray:
    if col not in ev:
        return np.full(len(ev), np.nan)
    if ev[col].dtype == np.float64:  # no copy
        return ev[col].to_numpy()
    return pd.to_numeric(ev[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
