"""All features of a dataset at once: one transformer per event table plus static features.

Event tables whose config says ``text: true`` also get a :class:`TextFeatures` over
their ``text`` columns; other text columns are ignored. A last, cheap stage
(:class:`DerivedFeatures`) adds tenure-normalised rates and recency shares
computed from the event and static features.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from churnkit.data import CUSTOMER_ROLES, REJECT_COLUMNS, Dataset, parse_dates, parse_numeric
from churnkit.exceptions import SchemaError
from churnkit.features._btyd import BTYDFeatures
from churnkit.features._derived import DerivedFeatures
from churnkit.features._events import EventFeatures, check_fitted, check_spine
from churnkit.features._static import StaticFeatures
from churnkit.features._text import TextFeatures

__all__ = ["FeatureSet", "build_features", "transform_in_blocks"]


class FeatureSet(BaseEstimator):
    """The fitted feature transformers of a dataset, reusable on new data.

    Everything scoring needs before the model: :meth:`align` repairs the column
    types of new data, :meth:`unseen_categories` counts the category values
    never seen in training, :meth:`transform` builds the features. The tables
    are arguments of these methods only; the fitted set holds no data, pickles
    small, and one fitted set can transform from several threads at once.

    Parameters
    ----------
    windows : sequence of int, default (30, 90, 365)
        Window lengths in days for event features.
    max_categories : int, default 10
        Category levels kept per categorical event column.
    derived : bool, default True
        Add the tenure-normalised features of :class:`DerivedFeatures` (events and
        totals per month of tenure, recency as a share of tenure, trends of those rates).
    btyd : {"auto", "on", "off"}, default "off"
        Add the Pareto/NBD features of :class:`BTYDFeatures` (P(alive), expected
        purchases) for each ``transactions`` table. ``auto``: only when the data is
        non-contractual (no customer has a contract end date).

    Attributes
    ----------
    static_ : StaticFeatures
    events_ : dict of str to EventFeatures
        One per event table.
    texts_ : dict of str to TextFeatures
        One per event table loaded with ``text: true``.
    derived_ : DerivedFeatures or None
    btyd_ : dict of str to BTYDFeatures
        One per purchase table when ``btyd`` applies.
    feature_names_ : list of str
        The columns of :meth:`transform`, in order.
    columns_ : dict of str to list of str
        Per table (``"customers"`` or an event table), the raw columns new data must bring.
    filled_ : dict of str to dict of str to float
        Per table and column of ``columns_``, the share of training rows with a
        value; :meth:`align` refuses new data in which such a column is empty.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnkit import load_dataset
    >>> from churnkit.config import config_from_dict
    >>> from churnkit.datasets import make_crm
    >>> config = config_from_dict({"data": {
    ...     "customers": {"customer_id": "customer_id", "signup_date": "signup_date"},
    ...     "events": {"usage": {"kind": "usage"}, "contacts": {"kind": "contacts"}}},
    ...     "labels": {"definition": "inactivity", "cutoffs": ["2024-04-01"]}})
    >>> ds = load_dataset(config, make_crm(200, random_state=0, months=6).tables)
    >>> spine = pd.DataFrame({"customer_id": ds.customers["customer_id"], "cutoff": ds.end})
    >>> fs = FeatureSet(windows=[30, 90]).fit(ds, spine)
    >>> new = fs.align(ds)  # on new data: repair types first, rejects go to new.rejects
    >>> fs.unseen_categories(new, spine)
    {}
    >>> X = fs.transform(new, spine)
    >>> X.shape == (200, len(fs.feature_names_))
    True
    >>> X["usage__count__30d"].dtype
    dtype('float32')
    """

    def __init__(self, *, windows: Sequence[int] = (30, 90, 365), max_categories: int = 10,
                 derived: bool = True, btyd: str = "off") -> None:
        self.windows = windows
        self.max_categories = max_categories
        self.derived = derived
        self.btyd = btyd

    def fit(self, dataset: Dataset, spine: pd.DataFrame) -> FeatureSet:
        """Fit one :class:`EventFeatures` per event table and one :class:`StaticFeatures`.

        Tables loaded with ``text: true`` also get a :class:`TextFeatures`.

        Parameters
        ----------
        dataset : Dataset
            Validated tables, as loaded by :func:`churnkit.load_dataset`.
        spine : DataFrame
            One row per (customer, cutoff): columns ``customer_id`` and ``cutoff``.

        Returns
        -------
        FeatureSet
            This set, fitted.
        """
        check_spine(spine, "FeatureSet.fit")
        windows = tuple(self.windows)
        self.static_ = StaticFeatures(attributes=dataset.attributes).fit(
            spine, customers=dataset.customers)
        self.events_: dict[str, EventFeatures] = {}
        for name, events in dataset.events.items():
            spec = dataset.specs[name]
            self.events_[name] = EventFeatures(
                table=name, kind=spec.kind, columns=spec.columns, roles=spec.roles,
                aggregations=spec.aggregations or None, windows=windows, max_categories=self.max_categories,
            ).fit(spine, events=events)
        self.texts_: dict[str, TextFeatures] = {}
        for name, events in dataset.events.items():
            spec = dataset.specs[name]
            text_cols = [c for c, t in spec.columns.items() if t == "text"]
            if getattr(spec, "text", False) and text_cols:
                self.texts_[name] = TextFeatures(
                    table=name, columns=text_cols, windows=windows,
                ).fit(spine, events=events)
        # the raw columns each table must bring when the fitted set is applied to new data
        self.columns_ = {
            name: sorted(c for c, t in spec.columns.items()
                         if t in {"categorical", "numeric", "boolean"} and c in dataset.events[name])
            for name, spec in dataset.specs.items()
        }
        self.columns_["customers"] = sorted(self.static_.types_)
        self.filled_ = {
            name: {c: _filled_share(_table(dataset, name), c) for c in cols}
            for name, cols in self.columns_.items()
        }
        self.feature_names_ = list(self.static_.get_feature_names_out())
        for f in self.events_.values():
            self.feature_names_ += list(f.get_feature_names_out())
        # derived from the static and event features (names only: fitting reads no values)
        self.derived_: DerivedFeatures | None = None
        if self.derived:
            base = pd.DataFrame(columns=self.feature_names_, dtype="float32")
            self.derived_ = DerivedFeatures(tables=list(self.events_), windows=windows).fit(base)
        for t in self.texts_.values():
            self.feature_names_ += list(t.get_feature_names_out())
        self.btyd_: dict[str, BTYDFeatures] = {
            name: BTYDFeatures(table=name, windows=windows).fit(spine, events=dataset.events[name])
            for name in btyd_tables(dataset, self.btyd)
        }
        for b in self.btyd_.values():
            self.feature_names_ += list(b.get_feature_names_out())
        if self.derived_ is not None:
            self.feature_names_ += list(self.derived_.get_feature_names_out())
        self.categorical_features_ = [
            f"static__{c}" for c, k in self.static_.types_.items() if k == "categorical"
        ]
        return self

    def align(self, dataset: Dataset) -> Dataset:
        """``dataset`` with its customer columns in the types the set was trained with.

        The data layer infers an undeclared column's type from its values, so a
        column that was numeric in training may load as text (e.g. "12 EUR",
        "n/a"). Its values are parsed as numbers; those that are no number are
        set to missing and appended to ``dataset.rejects``, so no value is lost
        silently. Call it on new data before :meth:`unseen_categories` and
        :meth:`transform` (which do not call it, to leave the rejects to the caller).

        Parameters
        ----------
        dataset : Dataset
            Validated tables of the data to score.

        Returns
        -------
        Dataset
            ``dataset`` itself when nothing needs repair, else a copy with the
            parsed columns and the extra rejects.
        """
        check_fitted(self, "FeatureSet")
        self._check_filled(dataset)
        cust = dataset.customers
        text = [c for c, k in self.static_.types_.items()
                if k in {"numeric", "boolean"} and c in cust
                and not pd.api.types.is_numeric_dtype(cust[c])]
        dates = [c for c, k in self.static_.types_.items()
                 if k == "datetime" and c in cust and not pd.api.types.is_datetime64_any_dtype(cust[c])]
        if not text and not dates:
            return dataset
        cust = cust.copy()
        parts = [dataset.rejects]
        repairs = [(col, parse_dates, "no date in a column the model was trained on as dates")
                   for col in dates]
        repairs += [(col, parse_numeric, "text in a column the model was trained on as numbers")
                    for col in text]
        for col, parse, why in repairs:
            raw = cust[col].astype(object)
            cust[col], bad = parse(raw.where(raw.notna(), None))
            if bad.any():
                parts.append(pd.DataFrame({
                    "table": "customers", "row": None, "customer_id": cust.loc[bad, "customer_id"],
                    "column": col, "value": raw[bad].astype(str),
                    "reason": f"{why}; set to missing",
                })[REJECT_COLUMNS])
        rejects = pd.concat(parts, ignore_index=True) if len(parts) > 1 else dataset.rejects
        return replace(dataset, customers=cust, rejects=rejects)

    def unseen_categories(self, dataset: Dataset, spine: pd.DataFrame, *,
                          as_of: pd.Timestamp | None = None) -> dict[str, int]:
        """Rows per ``table.column`` whose category value the model never saw in training.

        Static columns count the customers of ``spine``; event columns count the
        event rows dated before ``as_of``. An event column that lumps its rarer
        values into ``(other)`` counts unseen values only when its transformer
        kept every value seen (``seen_``).

        Parameters
        ----------
        dataset : Dataset
            The data to score (after :meth:`align`).
        spine : DataFrame
            The rows to score: ``customer_id`` and ``cutoff``.
        as_of : Timestamp, optional
            Events before it are counted; default: the latest cutoff of ``spine``.

        Returns
        -------
        dict of str to int
            E.g. ``{"customers.segment": 3, "contacts.topic": 12}``; columns
            without unseen values are left out.
        """
        check_fitted(self, "FeatureSet")
        check_spine(spine, "FeatureSet.unseen_categories")
        when = spine["cutoff"].max() if as_of is None else pd.Timestamp(as_of)
        out = {f"customers.{c}": n for c, n in self.static_.unseen_categories(
            spine, customers=dataset.customers).items()}
        for name, f in self.events_.items():
            ev = dataset.events.get(name)
            if ev is None or not len(ev):
                continue
            out.update({f"{name}.{c}": n for c, n in _unseen_event_values(f, ev, when).items()})
        return out

    def transform(self, dataset: Dataset, spine: pd.DataFrame) -> pd.DataFrame:
        """Features of each spine row (``customer_id``, ``cutoff``) from ``dataset``.

        On new data, call :meth:`align` first (``transform`` does not, so that
        the caller keeps the rejects it reports). The fitted set is only read:
        several threads may transform with it at once.

        Parameters
        ----------
        dataset : Dataset
            Validated tables with the columns the set was trained with.
        spine : DataFrame
            One row per (customer, cutoff): columns ``customer_id`` and ``cutoff``.

        Returns
        -------
        DataFrame
            Indexed like ``spine``, columns :attr:`feature_names_`.
        """
        check_fitted(self, "FeatureSet")
        check_spine(spine, "FeatureSet.transform")
        self._check_columns(dataset)
        parts = [self.static_.transform(spine, customers=dataset.customers)]
        coded = _coded_spine(spine, dataset)
        for name, f in self.events_.items():
            events = dataset.events.get(name)
            if events is None:
                raise SchemaError(
                    f"The model was trained with event table {name!r}, which this data lacks. "
                    f"Tables given: {sorted(dataset.events)}. Add it to data.events."
                )
            parts.append(f.transform(coded, events=events))
        for name, t in getattr(self, "texts_", {}).items():
            parts.append(t.transform(spine, events=dataset.events[name]))
        for name, b in getattr(self, "btyd_", {}).items():
            parts.append(b.transform(spine, events=dataset.events[name]))
        derived = getattr(self, "derived_", None)  # absent in sets saved before this stage
        if derived is not None:
            needed = set(derived.input_features_)
            inputs = {c: p[c] for p in parts for c in p.columns if c in needed}
            parts.append(derived.transform(pd.DataFrame(inputs, index=spine.index)))
        return pd.concat(parts, axis=1)

    def _check_filled(self, dataset: Dataset) -> None:
        """Refuse a table whose trained column arrived empty.

        A column filled in share ``s`` of the training rows is empty in all ``n``
        rows of a table by chance with probability ``(1 - s) ** n``; below one in
        a million the export lost it, and scoring would read every value as
        missing. Sets saved before ``filled_`` existed skip the check.
        """
        for name, shares in getattr(self, "filled_", {}).items():
            table = _table(dataset, name)
            if table is None or not len(table):
                continue
            n = len(table)
            for col, share in shares.items():
                if (col not in table.columns or share <= 0.0 or (1.0 - share) ** n >= 1e-6
                        or table[col].notna().any()):
                    continue
                where = (f" (the column data.customers.{col} names)"
                         if name == "customers" and col in CUSTOMER_ROLES else "")
                raise SchemaError(
                    f"Table {name!r}: column {col!r}{where} is empty in all {n:,} rows, but the model "
                    f"was trained with it filled in {share:.0%} of the rows, so every value "
                    "would be read as missing. Check that the config maps the right column "
                    "and that the export filled it (or retrain the model without it)."
                )

    def _check_columns(self, dataset: Dataset) -> None:
        """Fail clearly when a table lacks columns the model was trained with."""
        for name, needed in getattr(self, "columns_", {}).items():
            table = _table(dataset, name)
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


def _table(dataset: Dataset, name: str) -> pd.DataFrame | None:
    """The customer table for ``"customers"``, else the event table ``name`` (or None)."""
    return dataset.customers if name == "customers" else dataset.events.get(name)


def _filled_share(table: pd.DataFrame | None, column: str) -> float:
    """The share of ``table``'s rows whose ``column`` holds a value (0 for no rows)."""
    if table is None or not len(table) or column not in table.columns:
        return 0.0
    return float(table[column].notna().mean())


def transform_in_blocks(fs: FeatureSet, dataset: Dataset, spine: pd.DataFrame, *,
                        block_rows: int = 1_000_000) -> pd.DataFrame:
    """:meth:`FeatureSet.transform` of a large spine, a few cutoffs at a time, in float32.

    The spine is cut into blocks of whole cutoffs of about ``block_rows`` rows; each
    block's features are copied into one preallocated column-major float32 array
    (categorical columns kept as codes) and the block is freed, so memory peaks at
    the result plus one block instead of twice the result. The values, dtypes,
    column order and index are those of ``fs.transform(dataset, spine)``.

    Parameters
    ----------
    fs : FeatureSet
        A fitted feature set.
    dataset : Dataset
        Validated tables.
    spine : DataFrame
        ``customer_id`` and ``cutoff``, sorted by cutoff (as labels are).
    block_rows : int, default 1,000,000
        Rows per block (whole cutoffs; a single cutoff may exceed it).

    Returns
    -------
    DataFrame
        As :meth:`FeatureSet.transform`.

    Examples
    --------
    >>> import churnkit as ck
    >>> from churnkit._core import builtin_config
    >>> from churnkit.features import feature_set
    >>> from churnkit.labels import labels_from_config
    >>> config = ck.load_config(builtin_config("default.yaml"))
    >>> ds = ck.load_dataset(config, ck.datasets.make_crm(200, random_state=0).tables)
    >>> spine = labels_from_config(ds, config.labels)[["customer_id", "cutoff"]]
    >>> fs = feature_set(config.features).fit(ds, spine)
    >>> fs.transform(ds, spine).equals(transform_in_blocks(fs, ds, spine, block_rows=500))
    True
    """
    check_fitted(fs, "FeatureSet")
    cut = spine["cutoff"].to_numpy(dtype="datetime64[ns]")
    if len(cut) <= block_rows or (cut[1:] < cut[:-1]).any():
        return fs.transform(dataset, spine)
    starts = np.flatnonzero(np.r_[True, cut[1:] != cut[:-1]])  # first row of each cutoff
    bounds, begin = [0], 0
    for s in starts[1:]:
        if s - begin >= block_rows:
            bounds.append(int(s))
            begin = int(s)
    bounds.append(len(cut))
    names = list(fs.feature_names_)
    floats: np.ndarray | None = None
    float_cols: dict[str, int] = {}
    other: dict[str, list[Any]] = {}
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        block = fs.transform(dataset, spine.iloc[a:b])
        if floats is None:
            float_cols = {c: j for j, c in enumerate(c for c in names
                                                     if block[c].dtype == np.float32)}
            floats = np.empty((len(cut), len(float_cols)), dtype=np.float32, order="F")
        for c in names:
            if c in float_cols and block[c].dtype == np.float32:
                floats[a:b, float_cols[c]] = block[c].to_numpy()
            else:
                other.setdefault(c, []).append(block[c])
        del block
    assert floats is not None
    columns: dict[str, Any] = {}
    for c in names:
        if c in other:
            parts = other.pop(c)
            if len(parts) != len(bounds) - 1:  # a column float32 in some blocks only
                return fs.transform(dataset, spine)
            columns[c] = pd.concat(parts, ignore_index=True).to_numpy() if not isinstance(
                parts[0].dtype, pd.CategoricalDtype) else _concat_categorical(parts)
        else:
            columns[c] = floats[:, float_cols[c]]
    return pd.DataFrame(columns, index=spine.index, copy=False)


def _concat_categorical(parts: list[pd.Series]) -> pd.Categorical:
    """One categorical from blocks of the same column (categories unioned in order)."""
    first: Any = parts[0].dtype
    if all(p.dtype == first for p in parts):
        codes = np.concatenate([p.cat.codes.to_numpy() for p in parts])
        return pd.Categorical.from_codes(codes, dtype=first)
    return pd.api.types.union_categoricals([p.array for p in parts])


def _unseen_event_values(f: EventFeatures, ev: pd.DataFrame, when: pd.Timestamp) -> dict[str, int]:
    """Event rows before ``when`` per categorical column of ``f`` with a value ``f`` never saw."""
    out: dict[str, int] = {}
    before = (ev["timestamp"] < when).to_numpy()
    seen = getattr(f, "seen_", {}) or {}  # absent in sets saved by older versions
    for col, levels in f.categories_.items():
        if col not in ev:
            continue
        if col in seen:
            known = {str(v) for v in seen[col]}
        elif not f.other_.get(col, False):
            known = {str(v) for v in levels}
        else:
            continue
        values = ev[col]
        cats = (values.cat.categories if isinstance(values.dtype, pd.CategoricalDtype)
                else pd.Index(values.dropna().unique()))
        new = [v for v in cats if str(v).strip() not in known]
        if new:
            n = int((values.isin(new).to_numpy() & before).sum())
            if n:
                out[col] = n
    return out


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
    codes = dtypes[0].categories.get_indexer(pd.Index(spine["customer_id"].to_numpy()))  # -1: none
    ids = pd.Categorical.from_codes(codes, dtype=dtypes[0])
    return spine.assign(customer_id=pd.Series(ids, index=spine.index))


def btyd_tables(dataset: Dataset, btyd: str) -> list[str]:
    """The purchase tables that get :class:`BTYDFeatures` under the setting ``btyd``.

    ``on``: every ``transactions`` table; ``auto``: the same when the data is
    non-contractual (no customer has a contract end date); ``off``: none.
    """
    if btyd not in {"auto", "on", "off"}:
        raise ValueError(f"The 'btyd' parameter of FeatureSet must be 'auto', 'on' or 'off'. "
                         f"Got {btyd!r} instead.")
    if btyd == "off" or dataset.label is not None:
        return []
    ends = dataset.customers.get("end_date")
    if btyd == "auto" and ends is not None and ends.notna().any():
        return []
    return sorted(name for name, spec in dataset.specs.items()
                  if spec.kind == "transactions" and name in dataset.events)


def feature_set(features: Any) -> FeatureSet:
    """An unfitted :class:`FeatureSet` with the settings of a config's ``features`` section."""
    return FeatureSet(windows=features.windows, max_categories=features.max_categories,
                      derived=features.derived, btyd=features.btyd)


def build_features(
    dataset: Dataset, spine: pd.DataFrame, *, windows: Sequence[int] = (30, 90, 365),
    max_categories: int = 10, derived: bool = True,
) -> pd.DataFrame:
    """Build every point-in-time feature for the rows of ``spine``.

    Parameters
    ----------
    dataset : Dataset
        Validated tables.
    spine : DataFrame
        One row per (customer, cutoff): columns ``customer_id`` and ``cutoff``.
    windows, max_categories, derived
        See :class:`FeatureSet`.

    Returns
    -------
    DataFrame
        Indexed like ``spine``; names such as ``contacts__topic=billing__count__90d``.

    Examples
    --------
    >>> import pandas as pd
    >>> import churnkit as ck
    >>> from churnkit._core import builtin_config
    >>> from churnkit.features import build_features
    >>> config = ck.load_config(builtin_config("default.yaml"))
    >>> dataset = ck.load_dataset(config, ck.datasets.make_crm(300, random_state=0).tables)
    >>> spine = pd.DataFrame({"customer_id": dataset.customers["customer_id"],
    ...                       "cutoff": pd.Timestamp("2025-06-01")})
    >>> X = build_features(dataset, spine, windows=[30, 90])
    >>> X.shape[0] == len(spine), "contacts__count__90d" in X
    (True, True)
    """
    fs = FeatureSet(windows=windows, max_categories=max_categories, derived=derived)
    return fs.fit_transform(dataset, spine)
