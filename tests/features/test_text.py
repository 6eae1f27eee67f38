"""Text features: point in time, fitted on training-period text, language-agnostic."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from churnkit import SchemaError
from churnkit.config import config_from_dict
from churnkit.data import load_dataset
from churnkit.exceptions import NotFittedError
from churnkit.features import FeatureSet, TextFeatures

COMPLAINTS = ["produto chegou quebrado", "não recebi o pedido", "the parcel never arrived",
              "item was broken and late", "péssimo atendimento", "nunca mais compro"]
PRAISE = ["ótimo produto, recomendo", "great service, thank you", "chegou antes do prazo",
          "excelente qualidade", "very happy with it", "muito bom"]


def _events(rng, n_customers=40, n_rows=400):
    ids = rng.integers(0, n_customers, n_rows)
    angry = ids % 2 == 0  # even customers complain
    texts = np.where(angry, rng.choice(COMPLAINTS, n_rows), rng.choice(PRAISE, n_rows))
    texts = np.where(rng.random(n_rows) < 0.3, None, texts)  # some rows have no comment
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in ids],
        "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 360, n_rows), "D"),
        "comment": texts,
    }).sort_values(["customer_id", "timestamp"], ignore_index=True)


def _spine(ids, *dates):
    return pd.DataFrame([(i, pd.Timestamp(d)) for d in dates for i in ids],
                        columns=["customer_id", "cutoff"])


def test_appending_future_rows_changes_no_feature(rng):
    ev = _events(rng)
    X = _spine(sorted(ev["customer_id"].unique()), "2024-07-01", "2024-10-01")
    f = TextFeatures(table="reviews", columns=["comment"], windows=[30, 90]).fit(X, events=ev)
    before = f.transform(X, events=ev)
    future = ev.sample(150, random_state=1).assign(
        timestamp=pd.Timestamp("2024-10-01") + pd.to_timedelta(np.arange(150) % 40, "D"),
        comment="totally new words zzzz qqqq")
    later = pd.concat([ev, future], ignore_index=True)
    # rows dated after the second cutoff do not matter, even re-fitted on them
    X1 = X[X["cutoff"] == X["cutoff"].max()]
    after = f.transform(X1, events=later)
    pd.testing.assert_frame_equal(before.loc[X1.index], after)
    # the vocabulary is learned from text before the latest cutoff only
    refit = TextFeatures(table="reviews", columns=["comment"], windows=[30, 90]).fit(
        X, events=later)
    assert not any("zzz" in t for t in refit.vectorizers_["comment"].vocabulary_)
    pd.testing.assert_frame_equal(refit.transform(X.loc[X1.index], events=later), after)


def test_names_shares_lengths_and_complaints(rng):
    ev = _events(rng)
    X = _spine(sorted(ev["customer_id"].unique()), "2025-01-01")
    f = TextFeatures(table="reviews", columns=["comment"], windows=[90, 365],
                     n_components=3).fit(X, events=ev)
    out = f.transform(X, events=ev).set_index(X["customer_id"])
    names = list(out.columns)
    assert "reviews__comment__text_svd1__mean__90d" in names
    assert "reviews__comment__text_svd3__mean__365d" in names
    assert "reviews__comment__text_svd2__last__365d" in names
    assert "reviews__comment__text_svd1__last__90d" not in names  # last only over the longest
    assert len(names) == 2 * 4 + 3 * 3
    # hand computation for one customer over 365 days
    c = "c2"
    rows = ev[ev["customer_id"] == c]
    text = rows["comment"].dropna()
    assert out.loc[c, "reviews__comment__has_text__count__365d"] == len(text)
    assert out.loc[c, "reviews__comment__has_text__share__365d"] == pytest.approx(
        len(text) / len(rows))
    assert out.loc[c, "reviews__comment__text_length__mean__365d"] == pytest.approx(
        text.str.len().mean(), rel=1e-6)
    # complaint words in Portuguese and English: even customers complain, odd ones praise
    complaint = out["reviews__comment__text_complaint__mean__365d"]
    even = complaint.index.str[1:].astype(int) % 2 == 0
    assert (complaint[even] == 1).all()
    assert (complaint[~even] == 0).all()
    # the SVD components separate them too: one component alone ranks them well
    svd = out.filter(like="__text_svd").filter(like="__mean__365d")
    aucs = [roc_auc_score(even, svd[c]) for c in svd]
    assert max(max(a, 1 - a) for a in aucs) > 0.85


def test_tiny_or_empty_text_gives_no_svd_but_still_counts():
    ev = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": pd.to_datetime(
        ["2024-01-01", "2024-01-02"]), "comment": ["hello", None]})
    X = _spine(["a", "b", "nobody"], "2024-02-01")
    f = TextFeatures(table="t", columns=["comment"], windows=[30, 90]).fit(X, events=ev)
    out = f.transform(X, events=ev)
    assert f.svds_["comment"] is None
    assert not any("svd" in c for c in out.columns)
    assert out["t__comment__has_text__count__90d"].tolist() == [1.0, 0.0, 0.0]
    assert np.isnan(out["t__comment__text_length__mean__90d"].iloc[2])


def test_errors_and_sklearn_contract(rng):
    ev = _events(rng)
    X = _spine(["c1"], "2024-06-01")
    with pytest.raises(SchemaError, match=r"no text column\(s\) \['note'\]"):
        TextFeatures(columns=["note"]).fit(X, events=ev)
    with pytest.raises(SchemaError, match=r"TextFeatures\(table='x'\)\.fit has no event table"):
        TextFeatures(table="x", columns=["comment"]).fit(X)
    with pytest.raises(ValueError, match="'n_components' parameter of TextFeatures"):
        TextFeatures(n_components=0).fit(X, events=ev)
    with pytest.raises(NotFittedError, match=r"This TextFeatures\(table='x'\) is not fitted yet"):
        TextFeatures(table="x").transform(X, events=ev)
    f = TextFeatures(table="x", columns=["comment"], windows=[30])
    params = f.get_params()
    assert clone(f).get_params()["windows"] == [30]
    assert f.fit(X, events=ev).get_params() == params  # fit keeps parameters untouched
    assert f.transform(X, events=ev).shape == (1, len(f.get_feature_names_out()))
    with pytest.raises(SchemaError, match=r"\.transform has no event table \(got None\)"):
        f.transform(X)


def test_feature_set_builds_text_features_only_when_asked(rng):
    ev = _events(rng)
    cust = pd.DataFrame({"id": sorted(ev["customer_id"].unique()), "start": "2023-06-01"})
    raw = {
        "data": {
            "customers": {"customer_id": "id", "signup_date": "start"},
            "events": {"reviews": {"kind": "feedback",
                                   "columns": {"comment": "text"}}},
            "end": "2025-01-01",
        },
        "labels": {"definition": "inactivity", "cutoffs": ["2024-09-01"]},
    }
    tables = {"customers": cust, "reviews": ev}
    spine = _spine(cust["id"], "2024-09-01")
    plain = FeatureSet().fit(load_dataset(config_from_dict(raw), tables), spine)
    assert not any("comment" in n for n in plain.feature_names_)
    raw["data"]["events"]["reviews"]["text"] = True
    ds = load_dataset(config_from_dict(raw), tables)
    fs = FeatureSet(windows=[90]).fit(ds, spine)
    X = fs.transform(ds, spine)
    text_cols = [c for c in X.columns if c.startswith("reviews__comment__")]
    assert "reviews__comment__text_svd1__mean__90d" in text_cols
    assert list(X.columns) == fs.feature_names_
    saved = pickle.loads(pickle.dumps(fs))  # the fitted set holds no table
    pd.testing.assert_frame_equal(saved.transform(ds, spine), X)
