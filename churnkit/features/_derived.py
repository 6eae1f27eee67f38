"""Tenure-normalised features derived from the event and static features.

Raw counts, sums and days since the last event grow with the age of a
customer: a customer of two months cannot have bought twelve times in the last
year, and its last purchase cannot be 300 days ago. A model trained on young
customers (the only ones whose outcome is known when a shop or a product is new)
then scores older ones outside the range it has seen, and trees cannot
extrapolate. Rates and shares of the customer's age are comparable across ages:

- ``{table}__days_since_last__tenure_share``: days since the last event as a
  share of the customer's age (0 = active yesterday, 1 = nothing since the start);
- ``{table}__count__monthly__{w}d`` and ``{table}__{column}__monthly__{w}d``:
  events and numeric totals of the window per 30 days of the part of the window
  the customer existed in.

Changes of a quantity (a numeric column with totals, such as an invoice amount
or logins) are in the data's own units, so a rise of 75 is a 25 % price rise
for a small customer and noise for a large one. Relative changes are
comparable across customers of every size:

- ``{table}__{column}__change_ratio__{w}d``: the window's ``change`` (last
  value minus first) as a share of the first value (0.25 = up 25 %);
- ``{table}__{column}__trend_ratio__{w}d``: the change of the column's mean per
  event from the window before to the window (0.25 = up 25 %): per event, so that a
  window that holds four monthly records instead of three is no trend.

Both are missing when there is no earlier value to compare with (none, or 0).

The customer's age at a cutoff is the longest of its tenure (from the signup
date) and the days since its first event in any table. Every derived value is
column arithmetic on point-in-time features, so it only sees data before the
cutoff, and it costs a few vectorised operations per column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import Tags

from churnkit.exceptions import SchemaError
from churnkit.features._events import check_fitted

__all__ = ["DerivedFeatures"]

MONTH_DAYS = 30.0
"""The rates are per this many days."""
TENURE = "static__tenure_days"


class DerivedFeatures(TransformerMixin, BaseEstimator):
    """Events and totals per month of tenure, recency as a share of tenure, relative changes.

    ``X`` is a frame of point-in-time features as built by
    :class:`~churnkit.features.EventFeatures` and
    :class:`~churnkit.features.StaticFeatures` (names such as
    ``usage__logins__sum__90d``). :meth:`transform` returns only the new columns,
    indexed like ``X``.

    Parameters
    ----------
    tables : sequence of str
        Event tables (feature name prefixes) to derive features for.
    windows : sequence of int, default (30, 90, 365)
        Window lengths in days, as given to the event features.

    Attributes
    ----------
    plan_ : list of tuple
        ``(kind, output name, input names)`` of every derived feature.
    input_features_ : list of str
        The features of ``X`` that :meth:`transform` reads.
    feature_names_out_ : ndarray of str

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"static__tenure_days": [20.0, 400.0],
    ...                   "usage__count__90d": [4.0, 6.0],
    ...                   "usage__days_since_last": [10.0, 100.0],
    ...                   "usage__days_since_first": [18.0, 390.0]})
    >>> out = DerivedFeatures(tables=["usage"], windows=[90]).fit_transform(X)
    >>> out["usage__count__monthly__90d"].round(1).tolist()
    [6.0, 2.0]
    >>> out["usage__days_since_last__tenure_share"].round(2).tolist()
    [0.5, 0.25]
    """

    def __init__(self, *, tables: Sequence[str] = (), windows: Sequence[int] = (30, 90, 365)) -> None:
        self.tables = tables
        self.windows = windows

    def fit(self, X: pd.DataFrame, y: Any = None) -> DerivedFeatures:
        """Find the input features present in ``X`` and plan the derived ones."""
        if not isinstance(X, pd.DataFrame):
            raise SchemaError(
                f"DerivedFeatures.fit expects X as a DataFrame of features. Got {type(X).__name__} "
                "instead."
            )
        windows = sorted({int(w) for w in self.windows})
        if not windows or windows[0] <= 0:
            raise ValueError(
                "The 'windows' parameter of DerivedFeatures must be positive day counts. "
                f"Got {list(self.windows)!r} instead."
            )
        cols = set(map(str, X.columns))
        self.first_columns_ = [c for c in (f"{t}__days_since_first" for t in self.tables) if c in cols]
        self.tenure_ = TENURE in cols
        plan: list[tuple[str, str, tuple[str, ...]]] = []
        if self.tenure_ or self.first_columns_:
            for t in self.tables:
                if f"{t}__days_since_last" in cols:
                    plan.append(("share", f"{t}__days_since_last__tenure_share",
                                 (f"{t}__days_since_last",)))
                # the table's event count and each numeric column's total
                totals = re.compile(rf"^{re.escape(t)}__(count|[^=]+?__sum)__(\d+)d$")
                for w in windows:
                    for name in sorted(cols):
                        m = totals.match(name)
                        if m is None or int(m.group(2)) != w:
                            continue
                        stem = t + "__" + ("count" if m.group(1) == "count" else m.group(1)[:-5])
                        plan.append(("rate", f"{stem}__monthly__{w}d", (name,)))
        # relative changes of quantities (columns with totals), age or not
        for t in self.tables:
            sums = re.compile(rf"^{re.escape(t)}__([^=]+?)__sum__(\d+)d$")
            for w in windows:
                for name in sorted(cols):
                    m = sums.match(name)
                    if m is None or int(m.group(2)) != w:
                        continue
                    stem = f"{t}__{m.group(1)}"
                    change, last, trend = (f"{stem}__{s}__{w}d" for s in ("change", "last", "trend"))
                    if change in cols and last in cols:  # first = last - change
                        plan.append(("ratio", f"{stem}__change_ratio__{w}d", (change, last)))
                    count, count_trend = f"{t}__count__{w}d", f"{t}__count__trend__{w}d"
                    if trend in cols and count in cols and count_trend in cols:
                        # per event, so that a window holding four monthly records instead
                        # of three (the calendar, not the customer) is no trend
                        plan.append(("mean_ratio", f"{stem}__trend_ratio__{w}d",
                                     (trend, name, count_trend, count)))
                    elif trend in cols:  # total of the window before = total - trend
                        plan.append(("ratio", f"{stem}__trend_ratio__{w}d", (trend, name)))
        self.windows_ = windows
        self.plan_ = plan
        inputs = ([TENURE] if self.tenure_ else []) + self.first_columns_
        self.input_features_ = list(dict.fromkeys(
            [*inputs, *(c for _, _, ins in plan for c in ins)] if plan else []))
        self.feature_names_out_ = np.asarray([p[1] for p in plan], dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the derived features."""
        check_fitted(self, "DerivedFeatures")
        return self.feature_names_out_.copy()

    def _age(self, X: pd.DataFrame) -> np.ndarray:
        """Days since the customer's start: signup or first event, whichever is earlier."""
        age = np.full(len(X), np.nan)
        for col in ([TENURE] if self.tenure_ else []) + self.first_columns_:
            age = np.fmax(age, _values(X, col))
        return age

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The derived features of each row of ``X``, indexed like ``X``."""
        check_fitted(self, "DerivedFeatures")
        missing = [c for c in self.input_features_ if c not in X.columns]
        if missing:
            raise SchemaError(
                f"DerivedFeatures.transform: X lacks {len(missing)} feature(s) it was fitted "
                f"with, e.g. {sorted(set(missing))[:5]}. Pass the features built by the same "
                "FeatureSet."
            )
        age = self._age(X) if self.plan_ else np.empty(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            days = np.maximum(age, 1.0)
            out: dict[str, np.ndarray] = {}
            for kind, name, ins in self.plan_:
                if kind == "share":
                    out[name] = np.minimum(_values(X, ins[0]) / days, 1.0)
                    continue
                if kind == "mean_ratio":  # the change of the mean per event, as a share
                    trend, total = _values(X, ins[0]), _values(X, ins[1])
                    n_trend, n = _values(X, ins[2]), _values(X, ins[3])
                    now = np.where(n > 0, total / n, np.nan)
                    n_before = n - n_trend
                    before = np.where(n_before > 0, (total - trend) / n_before, np.nan)
                    out[name] = np.where(np.abs(before) > 0, (now - before) / np.abs(before),
                                         np.nan)
                    continue
                if kind == "ratio":  # the change as a share of the value before it
                    delta = _values(X, ins[0])
                    before = np.abs(_values(X, ins[1]) - delta)
                    out[name] = np.where(before > 0, delta / before, np.nan)
                    continue
                # the part of the window the customer existed in, at least a day
                w = float(name.rsplit("__", 1)[1][:-1])
                exposure = np.maximum(np.fmin(age, w), 1.0)
                total = _values(X, ins[0])
                out[name] = np.where(total == 0, 0.0, total / exposure * MONTH_DAYS)
        return pd.DataFrame(
            {k: v.astype(np.float32) for k, v in out.items()}, index=X.index,
            columns=list(self.feature_names_out_),
        )

    def __sklearn_tags__(self) -> Tags:  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing features (no event yet) stay missing
        tags.requires_fit = True
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _values(X: pd.DataFrame, col: str) -> np.ndarray:
    return X[col].to_numpy(dtype=np.float64, na_value=np.nan)
