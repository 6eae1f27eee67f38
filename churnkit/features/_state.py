"""A fitted :class:`FeatureSet` as plain JSON data, and back.

A saved model must never run code when it is loaded, so the feature set is
written as its parameters and fitted state -- category levels, windows,
aggregations, the text vocabulary with its idf weights and the SVD components
as lists of floats -- one small explicit function pair per transformer. Reading
checks the type of every value, refuses unknown keys, and recomputes each
transformer's feature names from its state to compare them with the saved
ones, so that a state that does not describe the saved features is refused
instead of producing wrong columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sklearn
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from churnkit._core.state import StateError, StateReader
from churnkit.config import NUMERIC_AGGS
from churnkit.features._btyd import BTYDFeatures
from churnkit.features._build import FeatureSet
from churnkit.features._derived import DerivedFeatures
from churnkit.features._events import _DEFAULT_AGGS, EventFeatures
from churnkit.features._static import StaticFeatures, _static_name
from churnkit.features._text import TextFeatures

__all__ = ["FORMAT", "FORMAT_VERSION", "feature_set_from_state", "feature_set_state"]

FORMAT = "churnkit.feature_set"
FORMAT_VERSION = 1
_TYPES = {"categorical", "numeric", "boolean"}
_STATIC_TYPES = {*_TYPES, "datetime"}
_KINDS = set(_DEFAULT_AGGS)


def _check_fitted_attributes(obj: Any, known: set[str], params: dict[str, Any]) -> None:
    """Refuse to save an object with parameters or fitted attributes this format does not write."""
    fitted = {k for k in vars(obj) if k.endswith("_") and not k.startswith("_")}
    extra = sorted(fitted - known) + sorted(set(obj.get_params(deep=False)) - set(params))
    if extra:
        raise StateError(
            f"{type(obj).__name__} has parameter(s) or fitted attribute(s) {extra} that the model "
            "file format does not store; saving would lose them. Add them to "
            "churnkit/features/_state.py."
        )


def _names_match(r: StateReader, saved: list[str], rebuilt: list[str]) -> None:
    if saved != rebuilt:
        diff = [n for n in saved if n not in set(rebuilt)][:3] or [
            n for n in rebuilt if n not in set(saved)][:3]
        raise r.fail("feature_names_out_", f"the saved names do not follow from the saved state "
                                           f"(e.g. {diff})")


def _finish(r: StateReader, f: Any, rebuilt: list[str]) -> Any:
    """Read the feature names (checked against ``rebuilt``) and the input width; close ``r``."""
    names = r.strs("feature_names_out_")
    _names_match(r, names, rebuilt)
    f.feature_names_out_ = np.asarray(names, dtype=object)
    f.n_features_in_ = r.integer("n_features_in_")
    r.close()
    return f


def _opt_map(value: Any) -> dict[str, str] | None:
    return None if value is None else {str(k): str(v) for k, v in dict(value).items()}


# ----------------------------------------------------------------------------- EventFeatures
_EVENT_FITTED = {"roles_", "types_", "windows_", "categories_", "other_", "seen_", "aggs_",
                 "feature_names_out_", "n_features_in_"}


def _event_state(f: EventFeatures) -> dict[str, Any]:
    aggs = f.aggregations
    params = {
        "table": str(f.table), "kind": str(f.kind), "columns": _opt_map(f.columns),
        "roles": _opt_map(f.roles),
        "aggregations": None if aggs is None else {str(k): [str(a) for a in v]
                                                   for k, v in dict(aggs).items()},
        "windows": [int(w) for w in f.windows], "max_categories": int(f.max_categories),
    }
    _check_fitted_attributes(f, _EVENT_FITTED, params)
    return {
        "params": params,
        "roles_": dict(f.roles_), "types_": dict(f.types_), "windows_": list(f.windows_),
        "categories_": {k: [str(v) for v in vs] for k, vs in f.categories_.items()},
        "other_": {k: bool(v) for k, v in f.other_.items()},
        "seen_": {k: [str(v) for v in vs] for k, vs in (getattr(f, "seen_", {}) or {}).items()},
        "aggs_": {k: list(v) for k, v in f.aggs_.items()},
        "feature_names_out_": [str(n) for n in f.feature_names_out_],
        "n_features_in_": int(f.n_features_in_),
    }


def _event_from_state(r: StateReader) -> EventFeatures:
    p = r.sub("params")
    kind = p.text("kind")
    if kind not in _KINDS:
        raise p.fail("kind", f"{kind!r} is not one of {sorted(_KINDS)}")
    aggregations = None
    if not p.optional("aggregations"):
        aggregations = p.mapping("aggregations", "lists of strings")
    f = EventFeatures(
        table=p.text("table"), kind=kind,
        columns=None if p.optional("columns") else p.mapping("columns"),
        roles=None if p.optional("roles") else p.mapping("roles"),
        aggregations=aggregations, windows=p.ints("windows"), max_categories=p.integer("max_categories"),
    )
    p.close()
    f.roles_ = r.mapping("roles_")
    f.types_ = r.mapping("types_")
    bad = {c: t for c, t in f.types_.items() if t not in _TYPES}
    if bad:
        raise r.fail("types_", f"unknown column type(s) {bad}")
    f.windows_ = r.ints("windows_")
    if not f.windows_ or min(f.windows_) <= 0:
        raise r.fail("windows_", "expected positive day counts")
    f.categories_ = r.mapping("categories_", "lists of strings")
    f.other_ = r.mapping("other_", "booleans")
    if set(f.other_) != set(f.categories_) or any(f.types_.get(c) != "categorical"
                                                  for c in f.categories_):
        raise r.fail("other_", "the categorical columns of categories_, other_ and types_ differ")
    f.seen_ = r.mapping("seen_", "lists of strings")
    aggs = r.mapping("aggs_", "lists of strings")
    unknown = sorted({a for v in aggs.values() for a in v} - set(NUMERIC_AGGS))
    if unknown or any(f.types_.get(c) != "numeric" for c in aggs):
        raise r.fail("aggs_", f"unknown aggregation(s) {unknown} or a column that is not numeric")
    f.aggs_ = {k: tuple(v) for k, v in aggs.items()}
    return _finish(r, f, f._names())


# ----------------------------------------------------------------------------- StaticFeatures
_STATIC_FITTED = {"types_", "tenure_", "categories_", "seen_", "feature_names_out_",
                  "n_features_in_"}


def _static_state(f: StaticFeatures) -> dict[str, Any]:
    params = {"attributes": _opt_map(f.attributes), "max_categories": int(f.max_categories)}
    _check_fitted_attributes(f, _STATIC_FITTED, params)
    return {
        "params": params,
        "types_": dict(f.types_), "tenure_": bool(f.tenure_),
        "categories_": {k: list(v) for k, v in f.categories_.items()},
        "seen_": {k: [str(v) for v in vs] for k, vs in (getattr(f, "seen_", {}) or {}).items()},
        "feature_names_out_": [str(n) for n in f.feature_names_out_],
        "n_features_in_": int(f.n_features_in_),
    }


def _static_from_state(r: StateReader) -> StaticFeatures:
    p = r.sub("params")
    f = StaticFeatures(attributes=None if p.optional("attributes") else p.mapping("attributes"),
                       max_categories=p.integer("max_categories"))
    p.close()
    f.types_ = r.mapping("types_")
    bad = {c: t for c, t in f.types_.items() if t not in _STATIC_TYPES}
    if bad:
        raise r.fail("types_", f"unknown column type(s) {bad}")
    f.tenure_ = r.flag("tenure_")
    f.categories_ = r.mapping("categories_", "lists of values")
    if any(f.types_.get(c) != "categorical" for c in f.categories_) or any(
            c not in f.categories_ for c, t in f.types_.items() if t == "categorical"):
        raise r.fail("categories_", "its columns are not the categorical columns of types_")
    f.seen_ = r.mapping("seen_", "lists of strings")
    return _finish(r, f, [*(["static__tenure_days"] if f.tenure_ else []),
                            *(_static_name(c, t) for c, t in f.types_.items())])


# ----------------------------------------------------------------------------- TextFeatures
_TEXT_FITTED = {"columns_", "vectorizers_", "svds_", "inner_", "feature_names_out_",
                "n_features_in_"}
_VECTORIZER_PARAMS = ("analyzer", "ngram_range", "min_df", "max_df", "max_features",
                      "sublinear_tf", "strip_accents", "lowercase", "norm", "use_idf",
                      "smooth_idf", "binary", "dtype")
_DTYPES = {"float64": np.float64, "float32": np.float32}
_CHOICES: dict[str, set[Any]] = {"analyzer": {"word", "char", "char_wb"},
                                 "strip_accents": {"unicode", "ascii", None},
                                 "norm": {"l1", "l2", None}}


def _vectorizer_state(vec: TfidfVectorizer, where: str) -> dict[str, Any]:
    params = vec.get_params()
    dtype = np.dtype(params["dtype"]).name
    state = {k: params[k] for k in _VECTORIZER_PARAMS if k != "dtype"}
    state["ngram_range"] = [int(n) for n in state["ngram_range"]]
    state["dtype"] = dtype
    if dtype not in _DTYPES or _vectorizer(state).get_params() != {
            **params, "ngram_range": tuple(params["ngram_range"]), "dtype": _DTYPES[dtype]}:
        raise StateError(f"{where}: a TfidfVectorizer with custom callables or settings "
                         f"{sorted(params)} cannot be saved as data.")
    vocab = {str(k): int(v) for k, v in vec.vocabulary_.items()}
    return {"params": state, "vocabulary_": vocab, "idf_": [float(x) for x in vec.idf_]}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_VECTORIZER_CHECKS = {
    "analyzer": lambda v: isinstance(v, str),
    "strip_accents": lambda v: v is None or isinstance(v, str),
    "norm": lambda v: v is None or isinstance(v, str),
    "dtype": lambda v: isinstance(v, str) and v in _DTYPES,
    "ngram_range": lambda v: isinstance(v, list) and len(v) == 2 and all(
        _is_number(n) and isinstance(n, int) and n >= 1 for n in v),
    "max_features": lambda v: v is None or (_is_number(v) and isinstance(v, int) and v > 0),
    "min_df": _is_number,
    "max_df": _is_number,
}


def _vectorizer(params: dict[str, Any]) -> TfidfVectorizer:
    return TfidfVectorizer(**{**params, "ngram_range": tuple(params["ngram_range"]),
                              "dtype": _DTYPES[params["dtype"]]})


def _vectorizer_from_state(r: StateReader) -> TfidfVectorizer:
    p = r.sub("params")
    params: dict[str, Any] = {}
    for key in _VECTORIZER_PARAMS:
        value = p.value(key)
        ok = _VECTORIZER_CHECKS.get(key, lambda v: isinstance(v, bool))(value)
        if not ok or (key in _CHOICES and value not in _CHOICES[key]):
            raise p.fail(key, f"{value!r} is not a valid value")
        params[key] = value
    p.close()
    vec = _vectorizer(params)
    vocab = r.value("vocabulary_")
    if (not isinstance(vocab, dict) or any(not isinstance(v, int) or isinstance(v, bool)
                                           for v in vocab.values())
            or sorted(vocab.values()) != list(range(len(vocab)))):
        raise r.fail("vocabulary_", "expected an object of n-grams numbered 0, 1, 2 ...")
    idf = r.floats("idf_")
    if len(idf) != len(vocab) or not np.isfinite(idf).all():
        raise r.fail("idf_", f"expected {len(vocab)} finite weights, one per n-gram")
    vec.vocabulary_ = dict(vocab)
    vec.fixed_vocabulary_ = False
    vec.idf_ = idf
    r.close()
    return vec


def _svd_state(svd: TruncatedSVD) -> dict[str, Any]:
    return {"n_components": int(svd.n_components),
            "random_state": None if svd.random_state is None else int(svd.random_state),
            "components_": svd.components_.tolist()}


def _svd_from_state(r: StateReader, n_terms: int) -> TruncatedSVD:
    k = r.integer("n_components")
    seed = None if r.optional("random_state") else r.integer("random_state")
    comps = r.floats("components_", ndim=2)
    if comps.shape != (k, n_terms) or not np.isfinite(comps).all():
        raise r.fail("components_", f"expected {k} rows of {n_terms} finite numbers")
    svd = TruncatedSVD(n_components=k, random_state=seed)
    svd.components_ = comps
    svd.n_features_in_ = n_terms
    r.close()
    return svd


def _text_state(f: TextFeatures) -> dict[str, Any]:
    params = {
        "table": str(f.table), "columns": None if f.columns is None else list(f.columns),
        "windows": [int(w) for w in f.windows], "n_components": int(f.n_components),
        "ngram_range": [int(n) for n in f.ngram_range], "max_features": int(f.max_features),
        "min_df": int(f.min_df), "random_state": int(f.random_state),
    }
    _check_fitted_attributes(f, _TEXT_FITTED, params)
    where = f"TextFeatures(table={f.table!r})"
    vecs = {c: None if v is None else _vectorizer_state(v, where) for c, v in f.vectorizers_.items()}
    return {
        "params": params,
        "columns_": list(f.columns_),
        "vectorizers_": vecs,
        "svds_": {c: None if s is None else _svd_state(s) for c, s in f.svds_.items()},
        "inner_": _event_state(f.inner_),
        "feature_names_out_": [str(n) for n in f.feature_names_out_],
        "n_features_in_": int(f.n_features_in_),
    }


def _text_from_state(r: StateReader) -> TextFeatures:
    p = r.sub("params")
    f = TextFeatures(
        table=p.text("table"), columns=None if p.optional("columns") else p.strs("columns"),
        windows=p.ints("windows"), n_components=p.integer("n_components"),
        ngram_range=tuple(p.ints("ngram_range")),  # type: ignore[arg-type]
        max_features=p.integer("max_features"), min_df=p.integer("min_df"),
        random_state=p.integer("random_state"),
    )
    p.close()
    f.columns_ = r.strs("columns_")
    vecs = r.nullable_items("vectorizers_")
    svds = r.nullable_items("svds_")
    if [c for c, _ in vecs] != f.columns_ or [c for c, _ in svds] != f.columns_:
        raise r.fail("svds_", "vectorizers_ and svds_ must have one entry per column of columns_")
    f.vectorizers_, f.svds_ = {}, {}
    for (col, vr), (_, sr) in zip(vecs, svds, strict=True):
        if vr is None or sr is None:
            if vr is not sr:
                raise r.fail(f"svds_.{col}", "a vectorizer and its SVD are both saved or both null")
            f.vectorizers_[col] = f.svds_[col] = None
            continue
        vec = _vectorizer_from_state(vr)
        f.vectorizers_[col] = vec
        f.svds_[col] = _svd_from_state(sr, len(vec.vocabulary_))
    f.inner_ = _event_from_state(r.sub("inner_"))
    return _finish(r, f, f._names())


# ----------------------------------------------------------------------------- DerivedFeatures
_DERIVED_FITTED = {"first_columns_", "tenure_", "windows_", "plan_", "input_features_",
                   "feature_names_out_", "n_features_in_"}


def _derived_state(f: DerivedFeatures) -> dict[str, Any]:
    params = {"tables": [str(t) for t in f.tables], "windows": [int(w) for w in f.windows]}
    _check_fitted_attributes(f, _DERIVED_FITTED, params)
    return {
        "params": params,
        "first_columns_": list(f.first_columns_), "tenure_": bool(f.tenure_),
        "windows_": list(f.windows_),
        "plan_": [[kind, name, list(inputs)] for kind, name, inputs in f.plan_],
        "input_features_": list(f.input_features_),
        "feature_names_out_": [str(n) for n in f.feature_names_out_],
        "n_features_in_": int(f.n_features_in_),
    }


def _derived_from_state(r: StateReader) -> DerivedFeatures:
    p = r.sub("params")
    f = DerivedFeatures(tables=p.strs("tables"), windows=p.ints("windows"))
    p.close()
    f.first_columns_ = r.strs("first_columns_")
    f.tenure_ = r.flag("tenure_")
    f.windows_ = r.ints("windows_")
    plan = []
    steps = r.value("plan_")
    for i, step in enumerate(steps if isinstance(steps, list) else [steps]):
        inputs = {"share": 1, "rate": 1, "ratio": 2, "mean_ratio": 4}
        ok = (isinstance(step, list) and len(step) == 3 and step[0] in inputs
              and isinstance(step[1], str) and isinstance(step[2], list)
              and len(step[2]) == inputs[step[0]]
              and all(isinstance(c, str) for c in step[2]))
        if ok and step[0] == "rate":
            tail = step[1].rsplit("__", 1)[-1]
            ok = tail.endswith("d") and tail[:-1].isdigit()
        if not ok:
            raise r.fail(f"plan_.{i}", "expected [\"share\" or \"rate\", name, [input]], "
                                        "[\"ratio\", name, [change, total]] or [\"mean_ratio\", "
                                        "name, [trend, total, count_trend, count]]")
        plan.append((step[0], step[1], tuple(step[2])))
    f.plan_ = plan
    f.input_features_ = r.strs("input_features_")
    needed = {c for _, _, ins in plan for c in ins}
    if not needed <= set(f.input_features_):
        raise r.fail("input_features_", "it lacks inputs of plan_")
    return _finish(r, f, [name for _, name, _ in plan])


_BTYD_FITTED = {"params_", "feature_names_out_", "n_features_in_"}
_PARETO = ("r", "alpha", "s", "beta")


def _btyd_state(f: BTYDFeatures) -> dict[str, Any]:
    params = {"table": str(f.table), "windows": [int(w) for w in f.windows]}
    _check_fitted_attributes(f, _BTYD_FITTED, params)
    return {
        "params": params,
        "params_": {c: [float(p[k]) for k in _PARETO] for c, p in f.params_.items()},
        "feature_names_out_": [str(n) for n in f.feature_names_out_],
        "n_features_in_": int(f.n_features_in_),
    }


def _btyd_from_state(r: StateReader) -> BTYDFeatures:
    p = r.sub("params")
    f = BTYDFeatures(table=p.text("table"), windows=p.ints("windows"))
    p.close()
    fitted: dict[str, dict[str, float]] = {}
    raw = r.value("params_")
    if not isinstance(raw, dict):
        raise r.fail("params_", "expected an object of cutoff: [r, alpha, s, beta]")
    for cutoff, values in raw.items():
        ok = (isinstance(values, list) and len(values) == len(_PARETO)
              and all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0
                      for v in values))
        if not ok:
            raise r.fail(f"params_.{cutoff}", "expected [r, alpha, s, beta], positive numbers")
        fitted[str(cutoff)] = dict(zip(_PARETO, map(float, values), strict=True))
    f.params_ = fitted
    return _finish(r, f, f._names())


# ----------------------------------------------------------------------------- FeatureSet
_SET_FITTED = {"static_", "events_", "texts_", "columns_", "filled_", "feature_names_", "derived_",
               "btyd_", "categorical_features_"}


def feature_set_state(fs: FeatureSet) -> dict[str, Any]:
    """The parameters and fitted state of ``fs`` as JSON-ready data.

    Parameters
    ----------
    fs : FeatureSet
        A fitted feature set.

    Returns
    -------
    dict
        Strings, numbers, booleans, lists and dicts only; :func:`feature_set_from_state`
        rebuilds an identical set from it.
    """
    params = {"windows": [int(w) for w in fs.windows], "max_categories": int(fs.max_categories),
              "derived": bool(fs.derived), "btyd": str(fs.btyd)}
    _check_fitted_attributes(fs, _SET_FITTED, params)
    derived = getattr(fs, "derived_", None)
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "sklearn": sklearn.__version__,
        "params": params,
        "static_": _static_state(fs.static_),
        "events_": {name: _event_state(f) for name, f in fs.events_.items()},
        "texts_": {name: _text_state(t) for name, t in getattr(fs, "texts_", {}).items()},
        "derived_": None if derived is None else _derived_state(derived),
        "btyd_": {name: _btyd_state(b) for name, b in getattr(fs, "btyd_", {}).items()},
        "columns_": {k: list(v) for k, v in getattr(fs, "columns_", {}).items()},
        "filled_": {k: {c: float(x) for c, x in v.items()}
                    for k, v in getattr(fs, "filled_", {}).items()},
        "feature_names_": list(fs.feature_names_),
        "categorical_features_": list(fs.categorical_features_),
    }


def _filled_from_state(r: StateReader) -> dict[str, dict[str, float]]:
    """``filled_``: per table, per column, a share in [0, 1]."""
    out: dict[str, dict[str, float]] = {}
    data = r.value("filled_")
    if not isinstance(data, dict):
        raise r.fail("filled_", "expected an object of tables")
    for name, shares in data.items():
        ok = isinstance(shares, dict) and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and 0.0 <= x <= 1.0
            for x in shares.values())
        if not ok:
            raise r.fail(f"filled_.{name}", "expected a mapping of column to a share in [0, 1]")
        out[str(name)] = {str(c): float(x) for c, x in shares.items()}
    return out


def feature_set_from_state(data: Any, file: str) -> FeatureSet:
    """Rebuild a fitted :class:`FeatureSet` from :func:`feature_set_state` data.

    Parameters
    ----------
    data : object
        The parsed JSON.
    file : str
        Where it was read from, for error messages.

    Returns
    -------
    FeatureSet

    Raises
    ------
    ModelError
        A :class:`~churnkit._core.state.StateError` naming the file and key path
        when a value has the wrong type, a key is missing or unknown, or the
        saved feature names do not follow from the saved state.
    """
    r = StateReader(data, file)
    if r.text("format") != FORMAT or r.integer("format_version") != FORMAT_VERSION:
        raise r.fail("format_version", f"expected {FORMAT!r} version {FORMAT_VERSION}, got "
                                       f"{r.data.get('format')!r} version "
                                       f"{r.data.get('format_version')!r}")
    r.text("sklearn")  # informative: the state does not depend on scikit-learn's pickles
    p = r.sub("params")
    fs = FeatureSet(windows=p.ints("windows"), max_categories=p.integer("max_categories"),
                    derived=p.flag("derived"),
                    btyd=p.text("btyd") if p.has("btyd") else "off")  # absent before btyd
    p.close()
    fs.static_ = _static_from_state(r.sub("static_"))
    fs.events_ = {name: _event_from_state(s) for name, s in r.items("events_")}
    fs.texts_ = {name: _text_from_state(s) for name, s in r.items("texts_")}
    fs.derived_ = None if r.optional("derived_") else _derived_from_state(r.sub("derived_"))
    fs.btyd_ = ({name: _btyd_from_state(s) for name, s in r.items("btyd_")} if r.has("btyd_")
                else {})
    fs.columns_ = r.mapping("columns_", "lists of strings")
    if r.has("filled_"):  # absent in sets saved before the empty-column check
        fs.filled_ = _filled_from_state(r)
    names = r.strs("feature_names_")
    rebuilt = [*fs.static_.feature_names_out_, *(n for f in fs.events_.values()
                                                 for n in f.feature_names_out_),
               *(n for t in fs.texts_.values() for n in t.feature_names_out_),
               *(n for b in fs.btyd_.values() for n in b.feature_names_out_),
               *(fs.derived_.feature_names_out_ if fs.derived_ is not None else [])]
    if names != [str(n) for n in rebuilt]:
        raise r.fail("feature_names_", "the names do not follow from the saved transformers")
    fs.feature_names_ = names
    fs.categorical_features_ = r.strs("categorical_features_")
    r.close()
    return fs
