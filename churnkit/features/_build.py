"""All features of a dataset at once: one transformer per event table plus static features.

Event tables whose config says ``text: true`` also get a :class:`TextFeatures` over
their ``text`` columns; other text columns are ignored. A last, cheap stage
(:class:`DerivedFeatures`) adds tenure-normalised rates and recency shares
computed from the event and static features.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pandas as pd

from churnkit.data import Dataset
from churnkit.features._derived import DerivedFeatures
from churnkit.features._events import EventFeatures, check_spine
from churnkit.features._static import StaticFeatures
from churnkit.features._text import TextFeatures

__all__ = ["FeatureSet", "build_features"]


class FeatureSet:
    """The fitted feature transformers of a dataset, reusable on new data.

    Parameters
    ----------
    windows : sequence of int, default (30, 90, 365)
        Window lengths in days for event features.
    top_k : int, default 10
        Category levels kept per categorical event column.
    derived : bool, default True
        Add the tenure-normalised features of :class:`DerivedFeatures` (events and
        totals per month of tenure, recency as a share of tenure, trends of those rates).

    Examples
    --------
    >>> from churnkit.datasets import make_crm
    >>> from churnkit.features import FeatureSet
    """

    def __init__(self, *, windows: Sequence[int] = (30, 90, 365), top_k: int = 10,
                 derived: bool = True) -> None:
        self.windows = tuple(windows)
        self.top_k = top_k
        self.derived = derived

    def fit(self, dataset: Dataset, spine: pd.DataFrame) -> FeatureSet:
        """Fit one :class:`EventFeatures` per event table and one :class:`StaticFeatures`.

        Tables loaded with ``text: true`` also get a :class:`TextFeatures`.
        """
        check_spine(spine, "FeatureSet.fit")
        self.static_ = StaticFeatures(dataset.customers, attributes=dataset.attributes).fit(spine)
        self.events_: dict[str, EventFeatures] = {}
        for name, events in dataset.events.items():
            spec = dataset.specs[name]
            self.events_[name] = EventFeatures(
                events, table=name, kind=spec.kind, columns=spec.columns, roles=spec.roles,
                aggregations=spec.aggregations or None, windows=self.windows, top_k=self.top_k,
            ).fit(spine)
        self.texts_: dict[str, TextFeatures] = {}
        for name, events in dataset.events.items():
            spec = dataset.specs[name]
            text_cols = [c for c, t in spec.columns.items() if t == "text"]
            if getattr(spec, "text", False) and text_cols:
                self.texts_[name] = TextFeatures(
                    events, table=name, columns=text_cols, windows=self.windows,
                ).fit(spine)
        # the raw columns each table must bring when the fitted set is applied to new data
        self.columns_ = {
            name: sorted(c for c, t in spec.columns.items()
                         if t in {"categorical", "numeric", "boolean"} and c in dataset.events[name])
            for name, spec in dataset.specs.items()
        }
        self.columns_["customers"] = sorted(self.static_.types_)
        self.feature_names_ = list(self.static_.get_feature_names_out())
        for f in self.events_.values():
            self.feature_names_ += list(f.get_feature_names_out())
        # derived from the static and event features (names only: fitting reads no values)
        self.derived_: DerivedFeatures | None = None
        if self.derived:
            base = pd.DataFrame(columns=self.feature_names_, dtype="float32")
            self.derived_ = DerivedFeatures(tables=list(self.events_), windows=self.windows).fit(base)
        for t in self.texts_.values():
            self.feature_names_ += list(t.get_feature_names_out())
        if self.derived_ is not None:
            self.feature_names_ += list(self.derived_.get_feature_names_out())
        self.categorical_features_ = [
            f"static__{c}" for c, k in self.static_.types_.items() if k == "categorical"
        ]
        return self

    def transform(self, dataset: Dataset, spine: pd.DataFrame) -> pd.DataFrame:
        """Features of each spine row (``customer_id``, ``cutoff``) from ``dataset``."""
        check_spine(spine, "FeatureSet.transform")
        self._check_columns(dataset)
        parts = [self.static_.set_params(customers=dataset.customers).transform(spine)]
        coded = _coded_spine(spine, dataset)
        for name, f in self.events_.items():
            events = dataset.events.get(name)
            if events is None:
                from churnkit.exceptions import SchemaError

                raise SchemaError(
                    f"The model was trained with event table {name!r}, which this data lacks. "
                    f"Tables given: {sorted(dataset.events)}. Add it to data.events."
                )
            parts.append(f.set_params(events=events).transform(coded))
        for name, t in getattr(self, "texts_", {}).items():
            parts.append(t.set_params(events=dataset.events[name]).transform(spine))
        derived = getattr(self, "derived_", None)  # absent in sets saved before this stage
        if derived is not None:
            needed = set(derived.input_features_)
            inputs = {c: p[c] for p in parts for c in p.columns if c in needed}
            parts.append(derived.transform(pd.DataFrame(inputs, index=spine.index)))
        out = pd.concat(parts, axis=1)
        self._release()
        return out

    def _check_columns(self, dataset: Dataset) -> None:
        """Fail clearly when a table lacks columns the model was trained with."""
        from churnkit.exceptions import SchemaError

        for name, needed in getattr(self, "columns_", {}).items():
            table = dataset.customers if name == "customers" else dataset.events.get(name)
            if table is None:
                continue
            missing = [c for c in needed if c not in table.columns]
            if missing:
                raise SchemaError(
                    f"Table {name!r} lacks column(s) {missing} that the model was trained with. "
                    f"Available columns: {sorted(map(str, table.columns))}. Export the table with "
                    "the same columns as for training (or retrain the model without them)."
                )

    def fit_transform(self, dataset: Dataset, spine: pd.DataFrame) -> pd.DataFrame:
        """Fit, then transform the same rows."""
        return self.fit(dataset, spine).transform(dataset, spine)

    def _release(self) -> None:
        """Drop references to data so the fitted set pickles small."""
        self.static_.set_params(customers=None)
        for f in self.events_.values():
            f.set_params(events=None)
        for t in getattr(self, "texts_", {}).values():
            t.set_params(events=None)

    def without_data(self) -> FeatureSet:
        """A copy holding only the fitted state (no tables), for saving with a model."""
        self._release()
        return copy.deepcopy(self)


def _coded_spine(spine: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    """``spine`` with its ids in the category dtype the event tables share, when they share one.

    :func:`churnkit.load_dataset` gives every event table's ``customer_id`` the
    same category dtype; looking the spine's ids up once here spares each table
    its own lookup of every id (:meth:`EventFeatures.transform` then reads codes).
    """
    dtypes = [ev["customer_id"].dtype for ev in dataset.events.values() if "customer_id" in ev]
    if not dtypes or not isinstance(dtypes[0], pd.CategoricalDtype):
        return spine
    if any(d is not dtypes[0] for d in dtypes[1:]) or isinstance(spine["customer_id"].dtype,
                                                                pd.CategoricalDtype):
        return spine
    codes = dtypes[0].categories.get_indexer(spine["customer_id"].to_numpy())  # -1: no events
    ids = pd.Categorical.from_codes(codes, dtype=dtypes[0])
    return spine.assign(customer_id=pd.Series(ids, index=spine.index))


def feature_set(features: Any) -> FeatureSet:
    """An unfitted :class:`FeatureSet` with the settings of a config's ``features`` section."""
    return FeatureSet(windows=features.windows, top_k=features.top_k, derived=features.derived)


def build_features(
    dataset: Dataset, spine: pd.DataFrame, *, windows: Sequence[int] = (30, 90, 365),
    top_k: int = 10, derived: bool = True,
) -> pd.DataFrame:
    """Build every point-in-time feature for the rows of ``spine``.

    Parameters
    ----------
    dataset : Dataset
        Validated tables.
    spine : DataFrame
        One row per (customer, cutoff): columns ``customer_id`` and ``cutoff``.
    windows, top_k, derived
        See :class:`FeatureSet`.

    Returns
    -------
    DataFrame
        Indexed like ``spine``; names such as ``contacts__topic=billing__count__90d``.
    """
    return FeatureSet(windows=windows, top_k=top_k, derived=derived).fit_transform(dataset, spine)
