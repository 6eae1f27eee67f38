"""Last touches read from tables already in customer and time order equal those of a full sort."""

import pandas as pd
import pytest

import churnkit as ck
import churnkit.actions._touches as touches
from churnkit._core import builtin_config
from churnkit.actions import (
    describe_last_contact,
    describe_last_feedback,
    last_contact_words,
    last_feedback_words,
)


@pytest.fixture(scope="module")
def dataset():
    config = ck.load_config(builtin_config("default.yaml"))
    return ck.load_dataset(config, ck.datasets.make_crm(800, random_state=3).tables)


@pytest.mark.parametrize(("name", "describe"), [("contacts", describe_last_contact),
                                                ("feedback", describe_last_feedback)])
@pytest.mark.parametrize("days_back", [0, 120])
def test_sorted_tables_give_the_sorted_result(dataset, name, describe, days_back, monkeypatch):
    events = dataset.events[name]
    # ties: the same customer at the same moment twice, the later row must win as in a sort
    events = pd.concat([events, events.iloc[::9].assign(
        **({"channel": "visit"} if name == "contacts" else {"score": 1.0}))])
    events = events.sort_values(["customer_id", "timestamp"], kind="stable").reset_index(drop=True)
    when = dataset.end - pd.Timedelta(days=days_back)
    assert touches._last_rows_if_sorted(events["customer_id"], events["timestamp"], when) is not None
    fast = describe(events, when)
    monkeypatch.setattr(touches, "_last_rows_if_sorted", lambda *a, **k: None)
    slow = describe(events, when)
    assert fast.equals(slow)
    assert fast.index.equals(slow.index)
    assert len(fast) > 100


def test_unsorted_or_interleaved_tables_take_the_sort(dataset):
    events = dataset.events["contacts"]
    when = dataset.end
    shuffled = events.sample(frac=1, random_state=0)
    assert touches._last_rows_if_sorted(shuffled["customer_id"], shuffled["timestamp"], when) is None
    # time-ordered within each customer but one customer's rows in two runs
    split = pd.concat([events.iloc[:5], events.iloc[-3:], events.iloc[5:-3]])
    if split["customer_id"].iloc[4] != split["customer_id"].iloc[5]:
        assert touches._last_rows_if_sorted(split["customer_id"], split["timestamp"], when) is None
    a = describe_last_contact(shuffled, when)
    b = describe_last_contact(events, when)
    assert a.sort_index().equals(b.sort_index())


@pytest.mark.parametrize(("name", "words"), [("contacts", last_contact_words),
                                             ("feedback", last_feedback_words)])
def test_customer_order_gives_each_customer_the_same_text(dataset, name, words):
    events = dataset.events[name]
    by_time, coded = words(events, dataset.end)
    by_customer, coded_fast = words(events, dataset.end, by_time=False)
    a = pd.Series(coded.texts(), index=by_time).sort_index()
    b = pd.Series(coded_fast.texts(), index=by_customer).sort_index()
    assert a.equals(b)
    assert not by_time.equals(by_customer)  # the orders differ; the texts per customer do not
