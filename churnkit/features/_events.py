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

from churnkit.exceptions import NotFittedError, SchemaError
from churnkit.features._kernel import aggregate_events

__all__ = ["NUMERIC_AGGS", "EventFeatures", "check_spine"]

NUMERIC_AGGS = ("count", "sum", "mean", "min", "max", "first", "last", "change", "trend")
_DEFAULT_AGGS = {
    "events": ("sum", "mean", "max"),
    "contacts": ("sum", "mean", "max"),
    "feedback": ("mean", "min", "first", "last", "change"),
    "transactions": ("sum", "mean", "last", "change", "trend"),
    "usage": ("sum", "mean", "last", "change", "trend"),
}
_DEFAULT_ROLES = {
    "contacts": ("direction", "resolved", "topic", "channel"),
    "feedback": ("score", "survey"),
}
_BAD_NAME_CHARS = str.maketrans(dict.fromkeys('[]{}",:', "_"))


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


def _factorize(values: pd.Series, *, strip: bool = True) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (-1 for missing) and the distinct values as stripped strings.

    Works on the few distinct values instead of every row, so text columns of
    tens of millions of rows cost one hashing pass.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        uniques = values.cat.categories
    else:
        codes, uniques = pd.factorize(values, sort=False)
    if not strip:
        return codes, pd.Index(uniques)
    names = pd.Index([str(u).strip() for u in uniques], dtype=object)
    return codes, names


def _level_codes(values: pd.Series, levels: list[str], other: bool) -> np.ndarray:
    """Codes of ``values`` among ``levels``; unknown values → ``len(levels)`` if ``other``."""
    codes, names = _factorize(values)
    mapping = pd.Index(levels, dtype=object).get_indexer(names).astype(np.int32)
    if other:
        mapping[mapping < 0] = len(levels)
    mapping = np.append(mapping, np.int32(-1))  # code -1 (missing) → -1
    return mapping[codes]


def _text_flag(values: pd.Series, test: Any) -> pd.Series:
    """Float 1/0 per row of ``test(lowercased distinct value)``; NaN where missing."""
    codes, names = _factorize(values)
    flags = np.array([float(test(n.lower())) for n in names] + [np.nan])
    return pd.Series(flags[codes], index=values.index)


def _clean(value: object) -> str:
    return str(value).translate(_BAD_NAME_CHARS)


def _derive(events: pd.DataFrame, kind: str, columns: dict[str, str], roles: dict[str, str],
            nps_classes: bool | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Add the kind-specific derived columns (booleans such as ``unresolved``)."""
    ev = events
    types = dict(columns)
    derived: dict[str, pd.Series] = {}
    if kind == "contacts":
        if "direction" in roles:
            d = ev[roles["direction"]]
            derived["inbound"] = _text_flag(d, lambda v: v.startswith("in"))
            derived["outbound"] = _text_flag(d, lambda v: v.startswith("out"))
        if "resolved" in roles:
            derived["unresolved"] = 1.0 - ev[roles["resolved"]].astype("float64")
        if "topic" in roles:
            derived["complaint"] = _text_flag(ev[roles["topic"]], lambda v: "complain" in v)
    elif kind == "feedback" and "score" in roles:
        score = ev[roles["score"]].astype("float64")
        derived["answered"] = score.notna().astype("float64")
        derived["unanswered"] = score.isna().astype("float64")
        nps = score
        if "survey" in roles:
            codes, names = _factorize(ev[roles["survey"]])
            lowered = [n.lower() for n in names]
            for name in sorted(set(lowered)):
                key = _clean(name).replace(" ", "_")
                hit = np.isin(codes, [i for i, n in enumerate(lowered) if n == name])
                derived[key] = score.where(hit)
                types[key] = "numeric"
                if name == "nps":
                    nps = score.where(hit)
            if "nps" not in lowered:
                nps = score.iloc[:0].reindex(score.index)
            types.pop(roles["score"], None)
        if nps_classes is None:
            nps_classes = bool(nps.notna().any() and nps.max() > 5)
        if nps_classes:
            derived["detractor"] = (nps <= 6).astype("float64").where(nps.notna())
            derived["passive"] = nps.between(7, 8).astype("float64").where(nps.notna())
            derived["promoter"] = (nps >= 9).astype("float64").where(nps.notna())
    for name, _series in derived.items():
        types.setdefault(name, "boolean")
    if derived:
        ev = ev.assign(**derived)
    return ev, types


class EventFeatures(TransformerMixin, BaseEstimator):
    """Aggregate one event table into point-in-time features per customer and cutoff.

    For each window (days before the cutoff): event count and its trend against
    the previous window of equal length, counts per category value (top-K, the
    rest as ``(other)``), numeric aggregations (sum, mean, min, max, first, last,
    change, trend), boolean counts and shares; over all history: days since the
    first and the last event, and days since the last ``true`` of each boolean.
    Contacts add ``inbound``/``outbound``/``unresolved``/``complaint`` booleans;
    feedback adds ``answered``/``unanswered``, a score column per survey type and
    NPS ``detractor``/``passive``/``promoter`` classes.

    Parameters
    ----------
    events : DataFrame, optional
        The event table with ``customer_id`` and ``timestamp`` columns. Set it with
        ``set_params(events=...)`` to score new data with a fitted transformer.
    table : str
        Table name, the prefix of every feature name.
    kind : {"events", "contacts", "feedback", "transactions", "usage"}
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
    top_k : int, default 10
        Most frequent values kept per categorical column.

    Attributes
    ----------
    feature_names_out_ : ndarray of str
    categories_ : dict of str to list
        Kept values of each categorical column.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "timestamp": pd.to_datetime(["2024-01-05", "2024-02-20", "2024-01-10"]),
    ...     "topic": ["billing", "billing", "technical"]})
    >>> X = pd.DataFrame({"customer_id": ["a", "b"], "cutoff": pd.to_datetime(["2024-03-01"] * 2)})
    >>> f = EventFeatures(events, table="contacts", windows=[30]).fit(X)
    >>> f.transform(X)["contacts__topic=billing__count__30d"].tolist()
    [1.0, 0.0]
    """

    def __init__(
        self,
        events: pd.DataFrame | None = None,
        *,
        table: str = "events",
        kind: str = "events",
        columns: Mapping[str, str] | None = None,
        roles: Mapping[str, str] | None = None,
        aggregations: Mapping[str, Sequence[str]] | None = None,
        windows: Sequence[int] = (30, 90, 365),
        top_k: int = 10,
    ) -> None:
        self.events = events
        self.table = table
        self.kind = kind
        self.columns = columns
        self.roles = roles
        self.aggregations = aggregations
        self.windows = windows
        self.top_k = top_k

    # -- helpers ---------------------------------------------------------------------------
    def _events(self) -> pd.DataFrame:
        ev = self.events
        if not isinstance(ev, pd.DataFrame):
            raise SchemaError(
                f"EventFeatures(table={self.table!r}) has no event table: pass events=DataFrame "
                "(or set_params(events=...) before transform)."
            )
        missing = [c for c in ("customer_id", "timestamp") if c not in ev.columns]
        if missing:
            raise SchemaError(
                f"Event table {self.table!r} has no column(s) {missing}. "
                f"Available columns: {list(ev.columns)}."
            )
        if not pd.api.types.is_datetime64_any_dtype(ev["timestamp"]):
            raise SchemaError(
                f"{self.table}.timestamp must be datetime64 (got {ev['timestamp'].dtype}); "
                "load tables with churnkit.load_dataset or parse them with pd.to_datetime."
            )
        return ev

    def _resolved_roles(self, ev: pd.DataFrame) -> dict[str, str]:
        roles = dict(self.roles or {})
        for role in _DEFAULT_ROLES.get(self.kind, ()):
            if role not in roles and role in ev.columns:
                roles[role] = role
        return roles

    def _column_types(self, ev: pd.DataFrame) -> dict[str, str]:
        if self.columns:
            return {c: t for c, t in self.columns.items() if t in {"categorical", "numeric", "boolean"}}
        from churnkit.data._parse import infer_type

        types = {}
        for col in ev.columns:
            if col in ("customer_id", "timestamp"):
                continue
            kind = infer_type(ev[col])
            if kind in {"categorical", "numeric", "boolean"}:
                types[col] = kind
        return types

    # -- sklearn API -------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any = None) -> EventFeatures:
        """Learn the category levels and the feature names.

        Only events before the latest cutoff in ``X`` are looked at.
        """
        X = check_spine(X, f"EventFeatures(table={self.table!r}).fit")
        if int(self.top_k) < 1:
            raise ValueError(f"The 'top_k' parameter of EventFeatures must be >= 1. Got {self.top_k}.")
        windows = sorted({int(w) for w in self.windows})
        if not windows or windows[0] <= 0:
            raise ValueError(
                f"The 'windows' parameter of EventFeatures must be positive day counts. "
                f"Got {self.windows!r} instead."
            )
        ev = self._events()
        roles = self._resolved_roles(ev)
        types = self._column_types(ev)
        ev, types = _derive(ev, self.kind, types, roles)
        latest = X["cutoff"].max()
        past = ev[ev["timestamp"] < latest] if pd.notna(latest) else ev.iloc[:0]
        self.roles_ = roles
        self.types_ = types
        self.windows_ = windows
        self.categories_: dict[str, list[str]] = {}
        self.other_: dict[str, bool] = {}
        for col, kind in types.items():
            if kind != "categorical":
                continue
            codes, names = _factorize(past[col])
            tally = np.bincount(codes[codes >= 0], minlength=len(names))
            counts = pd.Series(tally, index=names).groupby(level=0).sum()
            counts = counts[counts > 0].sort_index(kind="stable").sort_values(
                ascending=False, kind="stable")
            self.categories_[col] = [str(v) for v in counts.index[: int(self.top_k)]]
            self.other_[col] = len(counts) > int(self.top_k)
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
        for col in self._bools():
            for w in self.windows_:
                names += [f"{t}__{_clean(col)}__count__{w}d", f"{t}__{_clean(col)}__share__{w}d"]
            names.append(f"{t}__{_clean(col)}__days_since_last")
        return _dedupe(names)

    def _bools(self) -> list[str]:
        return [c for c, k in self.types_.items() if k == "boolean"]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output features."""
        self._check_fitted()
        return self.feature_names_out_.copy()

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_out_"):
            raise NotFittedError(
                f"This EventFeatures(table={self.table!r}) is not fitted yet. Call 'fit' first."
            )

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Aggregate the events of each row's customer strictly before its cutoff.

        Returns
        -------
        DataFrame
            Same index as ``X``, one float32 column per feature.
        """
        self._check_fitted()
        X = check_spine(X, f"EventFeatures(table={self.table!r}).transform")
        ev = self._events()
        ev, _ = _derive(ev, self.kind, {}, self.roles_, nps_classes="detractor" in self.types_)
        codes, uniques = _factorize(ev["customer_id"], strip=False)
        ts = ev["timestamp"].to_numpy("datetime64[ns]").astype(np.int64)
        order = None
        if len(codes) > 1 and (np.any(np.diff(codes) < 0) or not _sorted_within(codes, ts)):
            order = np.lexsort((ts, codes))
            codes, ts = codes[order], ts[order]
        n_cust = len(uniques)
        starts = np.searchsorted(codes, np.arange(n_cust), side="left")
        stops = np.searchsorted(codes, np.arange(n_cust), side="right")
        row_code = pd.Index(uniques).get_indexer(X["customer_id"].to_numpy())
        has = row_code >= 0
        seg_lo = np.where(has, starts[np.maximum(row_code, 0)], 0).astype(np.int64)
        seg_hi = np.where(has, stops[np.maximum(row_code, 0)], 0).astype(np.int64)
        cut = X["cutoff"].to_numpy("datetime64[ns]").astype(np.int64)

        def take(values: np.ndarray) -> np.ndarray:
            return values if order is None else values[order]

        cat_cols = list(self.categories_)
        cat_codes = np.full((len(ev), len(cat_cols)), -1, dtype=np.int32)
        offsets = np.zeros(len(cat_cols), dtype=np.int64)
        total = 0
        for c, col in enumerate(cat_cols):
            levels = self.categories_[col]
            if col in ev:
                cat_codes[:, c] = take(_level_codes(ev[col], levels, self.other_[col]))
            offsets[c] = total
            total += len(levels) + int(self.other_[col])
        num_cols = list(self.aggs_)
        num = np.column_stack(
            [take(_col(ev, c)) for c in num_cols]
        ) if num_cols else np.empty((len(ev), 0))
        bool_cols = self._bools()
        boolv = np.column_stack(
            [take(_col(ev, c)) for c in bool_cols]
        ) if bool_cols else np.empty((len(ev), 0))

        n, n_w = len(X), len(self.windows_)
        win = np.asarray(self.windows_, dtype=np.int64) * 86_400 * 10**9
        out_count = np.zeros((n, n_w))
        out_prev = np.zeros((n, n_w))
        out_days = np.zeros((n, 2))
        out_cat = np.zeros((n, n_w, total))
        out_num = np.zeros((n, n_w, len(num_cols), 7))
        out_bool = np.zeros((n, n_w, len(bool_cols), 2))
        out_bool_days = np.zeros((n, len(bool_cols)))
        aggregate_events(
            np.ascontiguousarray(ts), seg_lo, seg_hi, cut, win,
            np.ascontiguousarray(cat_codes), offsets,
            np.ascontiguousarray(num, dtype=np.float64), np.ascontiguousarray(boolv, dtype=np.float64),
            out_count, out_prev, out_days, out_cat, out_num, out_bool, out_bool_days,
        )
        return self._assemble(X.index, out_count, out_prev, out_days, out_cat, out_num,
                              out_bool, out_bool_days, offsets)

    def _assemble(self, index: pd.Index, count: np.ndarray, prev: np.ndarray, days: np.ndarray,
                  cat: np.ndarray, num: np.ndarray, boo: np.ndarray, boo_days: np.ndarray,
                  offsets: np.ndarray) -> pd.DataFrame:
        blocks: list[np.ndarray] = []
        for j in range(len(self.windows_)):
            blocks += [count[:, j], count[:, j] - prev[:, j]]
        blocks += [days[:, 0], days[:, 1]]
        for c, col in enumerate(self.categories_):
            width = len(self.categories_[col]) + int(self.other_[col])
            for j in range(len(self.windows_)):
                blocks += [cat[:, j, offsets[c] + v] for v in range(width)]
        with np.errstate(invalid="ignore", divide="ignore"):
            for k, aggs in enumerate(self.aggs_.values()):
                for j in range(len(self.windows_)):
                    s = num[:, j, k]
                    stat = {
                        "count": s[:, 0], "sum": s[:, 1], "min": s[:, 2], "max": s[:, 3],
                        "first": s[:, 4], "last": s[:, 5],
                        "mean": np.where(s[:, 0] > 0, s[:, 1] / np.maximum(s[:, 0], 1), np.nan),
                        "change": s[:, 5] - s[:, 4], "trend": s[:, 1] - s[:, 6],
                    }
                    blocks += [stat[a] for a in aggs]
            for b in range(len(self._bools())):
                for j in range(len(self.windows_)):
                    true, nonnull = boo[:, j, b, 0], boo[:, j, b, 1]
                    blocks += [true, np.where(nonnull > 0, true / np.maximum(nonnull, 1), np.nan)]
                blocks.append(boo_days[:, b])
        data = np.empty((len(blocks), len(index)), dtype=np.float32)
        for i, block in enumerate(blocks):
            data[i] = block
        return pd.DataFrame(data.T, index=index, columns=list(self.feature_names_out_), copy=False)

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dataframe = True
        tags.requires_fit = True
        return tags


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
    return pd.to_numeric(ev[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _sorted_within(codes: np.ndarray, ts: np.ndarray) -> bool:
    same = codes[1:] == codes[:-1]
    return bool(np.all(ts[1:][same] >= ts[:-1][same]))
