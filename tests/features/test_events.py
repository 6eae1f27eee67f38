import numpy as np
import pandas as pd
import pytest

from churnkit import EventFeatures, SchemaError, StaticFeatures
from churnkit.exceptions import NotFittedError


def _events(rng, n_customers=40, n_events=600):
    ts = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700 * 24, n_events), "h")
    return pd.DataFrame(
        {
            "customer_id": rng.choice([f"c{i}" for i in range(n_customers)], n_events),
            "timestamp": ts,
            "topic": rng.choice(["billing", "tech", "complaint", "other", None], n_events),
            "direction": rng.choice(["inbound", "outbound"], n_events),
            "resolved": rng.choice([1.0, 0.0, np.nan], n_events),
            "minutes": np.where(rng.random(n_events) < 0.1, np.nan, rng.gamma(2, 5, n_events)),
        }
    )


def _spine(n_customers=40, cutoffs=("2024-01-01", "2024-06-01", "2024-09-15")):
    return pd.DataFrame(
        [(f"c{i}", pd.Timestamp(c)) for c in cutoffs for i in range(n_customers + 2)],
        columns=["customer_id", "cutoff"],
    )


def _fit(events, spine, **kw):
    params = {"table": "contacts", "kind": "contacts", "windows": (30, 90, 365), "max_categories": 3,
                  "columns": {"topic": "categorical", "direction": "categorical",
                           "resolved": "boolean", "minutes": "numeric"}}
    params.update(kw)
    return EventFeatures(**params).fit(spine, events=events)


def test_matches_a_plain_pandas_computation(rng):
    events, spine = _events(rng), _spine()
    out = _fit(events, spine).transform(spine, events=events)
    assert out.index.equals(spine.index)
    for w in (30, 90, 365):
        for i, row in spine.iterrows():
            ev = events[(events.customer_id == row.customer_id)]
            before = ev[ev.timestamp < row.cutoff]
            win = before[before.timestamp >= row.cutoff - pd.Timedelta(days=w)]
            prev = before[(before.timestamp >= row.cutoff - pd.Timedelta(days=2 * w))
                          & (before.timestamp < row.cutoff - pd.Timedelta(days=w))]
            got = out.loc[i]
            assert got[f"contacts__count__{w}d"] == len(win)
            assert got[f"contacts__count__trend__{w}d"] == len(win) - len(prev)
            assert got[f"contacts__topic=billing__count__{w}d"] == (win.topic == "billing").sum()
            assert got[f"contacts__unresolved__count__{w}d"] == (win.resolved == 0).sum()
            assert got[f"contacts__outbound__count__{w}d"] == (win.direction == "outbound").sum()
            np.testing.assert_allclose(
                got[f"contacts__minutes__sum__{w}d"], win.minutes.sum(), rtol=1e-5)
            np.testing.assert_allclose(
                got[f"contacts__minutes__max__{w}d"],
                win.minutes.max() if win.minutes.notna().any() else np.nan, rtol=1e-5)
        if len(before):
            days = (row.cutoff - before.timestamp.max()) / pd.Timedelta(days=1)
            np.testing.assert_allclose(got["contacts__days_since_last"], days, rtol=1e-5)
        else:
            assert np.isnan(got["contacts__days_since_last"])


def test_topk_keeps_most_frequent_values_and_counts_the_rest_as_other(rng):
    events, spine = _events(rng), _spine()
    f = _fit(events, spine, max_categories=2)
    assert len(f.categories_["topic"]) == 2
    out = f.transform(spine, events=events)
    total = out[[c for c in out if c.startswith("contacts__topic=") and c.endswith("__365d")]]
    # a real value named "other" and the bucket of the rest stay apart
    assert "contacts__topic=(other)__count__365d" in out
    assert out.columns.is_unique
    win = events[(events.timestamp < pd.Timestamp("2024-06-01"))
                 & (events.timestamp >= pd.Timestamp("2024-06-01") - pd.Timedelta(days=365))]
    with_topic = win[win.topic.notna()].groupby("customer_id").size()
    rows = spine.cutoff == pd.Timestamp("2024-06-01")
    per_customer = total[rows].sum(axis=1).set_axis(spine.customer_id[rows])
    expected = with_topic.reindex(per_customer.index, fill_value=0)
    np.testing.assert_array_equal(per_customer.to_numpy(), expected.to_numpy())


def test_appending_future_events_changes_no_feature(rng):
    """Point in time: only events strictly before each cutoff are used."""
    events, spine = _events(rng), _spine()
    f = _fit(events, spine)
    before = f.transform(spine, events=events)
    future = _events(np.random.default_rng(1), n_events=2000)
    # every future event is at or after the latest cutoff of the spine, some exactly at it
    future["timestamp"] = spine.cutoff.max() + pd.to_timedelta(
        np.random.default_rng(2).integers(0, 400 * 24, len(future)), "h")
    future.loc[:50, "timestamp"] = spine.cutoff.max()
    more = pd.concat([events, future], ignore_index=True).sample(frac=1, random_state=0)
    # per row, events at or after its own cutoff must not count either
    after = f.transform(spine, events=more)
    only_last = spine.cutoff == spine.cutoff.max()
    pd.testing.assert_frame_equal(before[only_last], after[only_last])
    # and for earlier cutoffs, adding events after each row's cutoff changes nothing
    for cut in spine.cutoff.unique():
        rows = spine.cutoff == cut
        late = events.assign(timestamp=cut + pd.Timedelta(hours=1))
        mixed = pd.concat([events, late], ignore_index=True)
        again = f.transform(spine[rows], events=mixed)
        pd.testing.assert_frame_equal(before[rows], again)


def test_unsorted_input_gives_the_same_result(rng):
    events, spine = _events(rng), _spine()
    f = _fit(events, spine)
    a = f.transform(spine, events=events)
    b = f.transform(spine, events=events.sample(frac=1, random_state=3))
    pd.testing.assert_frame_equal(a, b)


def test_customer_without_events_gets_zero_counts_and_missing_recency(rng):
    events, spine = _events(rng), _spine()
    out = _fit(events, spine).transform(spine, events=events)
    ghost = spine.customer_id == "c41"
    assert (out.loc[ghost, "contacts__count__365d"] == 0).all()
    assert out.loc[ghost, "contacts__days_since_last"].isna().all()
    assert out.loc[ghost, "contacts__minutes__mean__90d"].isna().all()


def test_feedback_kind_derives_survey_scores_and_nps_classes():
    ts = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-03-05"])
    fb = pd.DataFrame({"customer_id": ["a"] * 4, "timestamp": ts,
                       "survey": ["nps", "csat", "nps", "nps"], "score": [9, 2, 3, np.nan]})
    X = pd.DataFrame({"customer_id": ["a"], "cutoff": [pd.Timestamp("2024-04-01")]})
    f = EventFeatures(table="feedback", kind="feedback", windows=[365],
                      columns={"survey": "categorical", "score": "numeric"}).fit(X, events=fb)
    out = f.transform(X, events=fb).iloc[0]
    assert out["feedback__nps__first__365d"] == 9
    assert out["feedback__nps__last__365d"] == 3
    assert out["feedback__nps__change__365d"] == -6
    assert out["feedback__csat__min__365d"] == 2
    assert out["feedback__detractor__count__365d"] == 1
    assert out["feedback__promoter__count__365d"] == 1
    assert out["feedback__unanswered__count__365d"] == 1
    assert out["feedback__answered__days_since_last"] == 31


def test_a_flag_beside_its_complement_keeps_only_its_days_since_last(rng):
    # resolved = 1 - unresolved on every row: its counts and shares would repeat
    events, spine = _events(rng), _spine()
    f = _fit(events, spine)
    names = set(f.get_feature_names_out())
    assert "contacts__resolved__days_since_last" in names
    assert not any(n.startswith(("contacts__resolved__count", "contacts__resolved__share"))
                   for n in names)
    out = f.transform(spine, events=events)
    for w in (30, 90, 365):
        assert f"contacts__unresolved__share__{w}d" in names
    # the last resolved contact is still dated
    c, cutoff = spine.loc[0, "customer_id"], spine.loc[0, "cutoff"]
    ev = events[(events.customer_id == c) & (events.timestamp < cutoff) & (events.resolved == 1)]
    expected = (cutoff - ev.timestamp.max()) / pd.Timedelta(days=1) if len(ev) else np.nan
    np.testing.assert_allclose(out.loc[0, "contacts__resolved__days_since_last"], expected,
                               rtol=1e-5)
    fb = pd.DataFrame({"customer_id": ["a"] * 2, "timestamp": pd.to_datetime(["2024-01-01", "2024-02-01"]),
                       "score": [9.0, np.nan]})
    X = pd.DataFrame({"customer_id": ["a"], "cutoff": [pd.Timestamp("2024-04-01")]})
    g = EventFeatures(table="feedback", kind="feedback", windows=[365],
                      columns={"score": "numeric"}).fit(X, events=fb)
    names = list(g.get_feature_names_out())
    assert "feedback__answered__days_since_last" in names
    assert "feedback__unanswered__share__365d" in names
    assert "feedback__answered__share__365d" not in names
    assert "feedback__answered__count__365d" not in names


def test_feedback_reads_every_answer_as_satisfied_or_dissatisfied_on_its_own_scale():
    # NPS 0-6 and CSAT 1-2 are both dissatisfied, NPS 9-10 and CSAT 4-5 both satisfied
    ts = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-03-20"])
    fb = pd.DataFrame({"customer_id": ["a"] * 4, "timestamp": ts,
                       "survey": ["nps", "CSAT", "nps", "CSAT"], "score": [9, 2, 7, 3]})
    X = pd.DataFrame({"customer_id": ["a"], "cutoff": [pd.Timestamp("2024-04-01")]})
    f = EventFeatures(table="feedback", kind="feedback", windows=[365],
                      columns={"survey": "categorical", "score": "numeric"}).fit(X, events=fb)
    out = f.transform(X, events=fb).iloc[0]
    assert out["feedback__dissatisfied__count__365d"] == 1  # CSAT 2; NPS 7 and CSAT 3 neither
    assert out["feedback__dissatisfied__days_since_last"] == 60
    assert out["feedback__satisfied__count__365d"] == 1  # NPS 9
    assert out["feedback__detractor__count__365d"] == 0  # the NPS classes read NPS only
    # later rows never change an earlier cutoff's classes
    later = pd.concat([fb, fb.assign(timestamp=pd.Timestamp("2024-05-01"), score=1)])
    assert f.transform(X, events=later).iloc[0].equals(out)


def test_feedback_on_one_five_point_scale_gets_the_classes_and_nps_alone_does_not():
    ts = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"])
    X = pd.DataFrame({"customer_id": ["a"], "cutoff": [pd.Timestamp("2024-04-01")]})
    five = pd.DataFrame({"customer_id": ["a"] * 3, "timestamp": ts, "score": [5, 1, 4]})
    f = EventFeatures(table="feedback", kind="feedback", windows=[365],
                      columns={"score": "numeric"}).fit(X, events=five)
    out = f.transform(X, events=five).iloc[0]
    assert out["feedback__dissatisfied__count__365d"] == 1
    assert out["feedback__satisfied__count__365d"] == 2
    assert not any("detractor" in n for n in f.get_feature_names_out())
    # NPS only: the classes would repeat detractor and promoter, so there are none
    nps = five.assign(score=[10, 3, 8])
    g = EventFeatures(table="feedback", kind="feedback", windows=[365],
                      columns={"score": "numeric"}).fit(X, events=nps)
    names = list(g.get_feature_names_out())
    assert "feedback__detractor__count__365d" in names
    assert not any("satisfied" in n for n in names)


def _invoices() -> pd.DataFrame:
    rows = [  # customer, day, amount, type
        ("a", "2024-01-15", 100.0, "invoice"), ("a", "2024-02-10", -40.0, "credit"),
        ("a", "2024-02-15", 104.0, "invoice"), ("a", "2024-03-15", 130.0, "invoice"),
        ("a", "2024-03-20", -30.0, "credit"), ("a", "2024-03-25", -50.0, "credit"),
        ("b", "2024-01-20", 500.0, "invoice"), ("b", "2024-02-20", 505.0, "invoice"),
        ("c", "2024-03-01", 20.0, "invoice"),  # first invoice: nothing to rise from
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount", "kind"])
    return frame.assign(timestamp=pd.to_datetime(frame["timestamp"]))


def test_transactions_derive_price_rises_per_customer_and_type():
    """A positive amount 10% above the customer's previous one of its type is a price rise.

    b's 505 follows a's 130 in table order but is compared with b's own 500; a's
    credits (-50 after -30) are not amounts that rise; 104 after 100 is under 10%.
    """
    tx = _invoices()
    X = pd.DataFrame({"customer_id": ["a", "b", "c", "a"],
                      "cutoff": pd.to_datetime(["2024-04-01"] * 3 + ["2024-03-15"])})
    f = EventFeatures(table="transactions", kind="transactions", windows=[90]).fit(X, events=tx)
    assert f.roles_ == {"amount": "amount", "type": "kind"}
    out = f.transform(X, events=tx)
    assert out["transactions__price_rise__count__90d"].tolist() == [1, 0, 0, 0]
    # a's rise on 2024-03-15 is 17 days before 2024-04-01, and not yet seen on 2024-03-15
    assert out["transactions__price_rise__days_since_last"].iloc[0] == 17
    assert out["transactions__price_rise__days_since_last"].iloc[1:].isna().all()
    # shares count invoices only (credits are not applicable): a has 1 rise in 3 invoices
    assert out["transactions__price_rise__share__90d"].iloc[0] == pytest.approx(1 / 3)
    shuffled = f.transform(X, events=tx.sample(frac=1, random_state=0))
    pd.testing.assert_frame_equal(out, shuffled)


def test_price_rises_ignore_the_type_when_there_is_none_and_follow_named_roles():
    tx = _invoices().rename(columns={"amount": "net", "kind": "doc"})
    X = pd.DataFrame({"customer_id": ["a"], "cutoff": [pd.Timestamp("2024-04-01")]})
    named = EventFeatures(table="t", kind="transactions", windows=[90],
                          roles={"amount": "net", "type": "doc"}).fit(X, events=tx)
    assert named.transform(X, events=tx)["t__price_rise__count__90d"].iloc[0] == 1
    # without a type, invoices and credits form one sequence: -40 then 104 is no rise
    # (only positive amounts compare), 104 -> 130 is
    untyped = EventFeatures(table="t", kind="transactions", windows=[90],
                            roles={"amount": "net"}).fit(X, events=tx.drop(columns="doc"))
    assert untyped.transform(X, events=tx.drop(columns="doc"))["t__price_rise__count__90d"
                                                                ].iloc[0] == 1
    # no amount column: no price-rise features
    bare = EventFeatures(table="t", kind="transactions", windows=[90]).fit(X, events=tx)
    assert not any("price_rise" in n for n in bare.get_feature_names_out())


def test_errors_name_the_problem(rng):
    events, spine = _events(rng), _spine()
    with pytest.raises(SchemaError, match=r"no column\(s\) \['cutoff'\]"):
        EventFeatures().fit(spine.drop(columns="cutoff"), events=events)
    with pytest.raises(SchemaError, match="expects X as a DataFrame"):
        EventFeatures().fit(np.zeros((3, 2)), events=events)
    with pytest.raises(SchemaError, match=r"\.fit has no event table \(got None\): pass events="):
        EventFeatures(table="contacts").fit(spine)
    with pytest.raises(SchemaError, match=r"\.fit has no event table \(got a ndarray\)"):
        EventFeatures().fit(spine, events=events.to_numpy())
    with pytest.raises(SchemaError, match=r"has no column\(s\) \['timestamp'\]"):
        EventFeatures().fit(spine, events=events.drop(columns="timestamp"))
    with pytest.raises(SchemaError, match="timestamp must be datetime64"):
        EventFeatures().fit(spine, events=events.astype({"timestamp": str}))
    with pytest.raises(NotFittedError, match=r"This EventFeatures\(table='x'\) is not fitted yet"):
        EventFeatures(table="x").transform(spine, events=events)
    with pytest.raises(ValueError, match="'windows' parameter"):
        EventFeatures(windows=[0]).fit(spine, events=events)
    with pytest.raises(ValueError, match="'max_categories' parameter of EventFeatures must be >= 1"):
        EventFeatures(max_categories=0).fit(spine, events=events)
    f = _fit(events, spine)
    with pytest.raises(SchemaError, match=r"\.transform has no event table \(got None\)"):
        f.transform(spine)


def test_sklearn_clone_and_params_roundtrip(rng):
    from sklearn.base import clone

    events, spine = _events(rng), _spine()
    f = _fit(events, spine)
    g = clone(f)
    assert g.get_params()["windows"] == (30, 90, 365)
    assert "events" not in g.get_params()
    assert not hasattr(g, "feature_names_out_")
    pd.testing.assert_frame_equal(g.fit_transform(spine, events=events),
                                  f.transform(spine, events=events))


def test_static_features_tenure_and_categories():
    cust = pd.DataFrame({"customer_id": ["a", "b"], "signup_date": pd.to_datetime(["2024-01-01", "2024-03-01"]),
                         "segment": ["x", "y"], "value": [10.0, 20.0]})
    X = pd.DataFrame({"customer_id": ["a", "b", "zz"], "cutoff": pd.to_datetime(["2024-04-01"] * 3)})
    out = StaticFeatures().fit(X, customers=cust).transform(X, customers=cust)
    assert out["static__tenure_days"].tolist()[:2] == [91, 31]
    assert np.isnan(out["static__tenure_days"].iloc[2])
    assert isinstance(out["static__segment"].dtype, pd.CategoricalDtype)
    assert out["static__segment"].tolist()[:2] == ["x", "y"]
    assert pd.isna(out["static__segment"].iloc[2])


def test_feature_set_reads_the_shared_category_codes_of_the_ids(default_config, crm_dataset):
    """FeatureSet looks the spine's ids up once in the events' shared category dtype: same features."""
    from churnkit.features import feature_set

    cfg = default_config
    ds = crm_dataset(300, random_state=3)
    assert isinstance(ds.events["contacts"]["customer_id"].dtype, pd.CategoricalDtype)
    spine = pd.DataFrame({"customer_id": [*ds.customers["customer_id"][::3], "UNKNOWN"],
                          "cutoff": ds.end - pd.Timedelta(days=40)})
    fs = feature_set(cfg.features).fit(ds, spine)
    X = fs.transform(ds, spine)
    for name, f in fs.events_.items():  # each table on its own, ids looked up as text
        alone = f.transform(spine.astype({"customer_id": object}), events=ds.events[name])
        pd.testing.assert_frame_equal(X[alone.columns], alone)
    assert X.loc[X.index[-1], "contacts__count__90d"] == 0


def test_price_rises_equal_a_plain_pandas_reference(rng):
    from churnkit.features._event_columns import PRICE_RISE, _Codes, _price_rise

    n = 3000
    ev = pd.DataFrame({
        "customer_id": rng.choice([f"C{i}" for i in range(60)], n),
        "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 400, n), "D"),
        "amount": np.where(rng.random(n) < 0.1, np.nan, rng.choice([-5.0, 0.0, 10.0, 11.0, 12.5, 30.0], n)),
        "type": rng.choice(["invoice", "upgrade", None], n),
    })
    got = _price_rise(ev, {"amount": "amount", "type": "type"}, _Codes(ev))
    # reference: each positive amount against its customer's previous positive one of its type
    ordered = ev.assign(row=np.arange(n), kind=ev["type"].fillna("(none)")).sort_values(
        ["customer_id", "timestamp", "row"], kind="stable")
    positive = ordered[ordered["amount"] > 0]
    prev = positive.groupby(["customer_id", "kind"])["amount"].shift()
    expected = np.full(n, np.nan)
    expected[positive["row"]] = np.where(prev.isna(), 0.0,
                                         (positive["amount"] >= prev * (1 + PRICE_RISE)).astype(float))
    np.testing.assert_array_equal(got, expected)
    assert np.nansum(got) > 50
