"""Event ids merged with the sorted customer ids give the positions hashing gives."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import churnkit as ck
from churnkit._core import builtin_config
from churnkit.data import _events
from churnkit.data._merge import merged_positions, sorted_text

ALPHABET = np.array(list("abAB09é_ ") + ["\u00e9", "\u4e2d", "\U0001f600"], dtype=object)


def _words(rng, n):
    lengths = rng.integers(0, 5, n)
    return ["".join(rng.choice(ALPHABET, k)) for k in lengths]


def _hashed(values, known):
    where = pc.index_in(values, value_set=pa.array(known, type=pa.large_string()))
    return pc.fill_null(where, -1).to_numpy().astype(np.int64)


@pytest.mark.parametrize("seed", range(6))
def test_merge_equals_hashing_on_rows_in_customer_order(seed):
    rng = np.random.default_rng(seed)
    known = sorted(set(_words(rng, 300)))
    others = _words(rng, 100)  # some known, some not (prefixes, other scripts, "")
    runs = sorted(rng.choice(known + others, 200))
    rows = np.repeat(np.array(runs, dtype=object), rng.integers(1, 6, len(runs)))
    rows[rng.random(len(rows)) < 0.05] = None
    cuts = np.sort(rng.choice(np.arange(1, len(rows)), 4, replace=False))
    chunked = pa.chunked_array([pa.array(list(p), type=pa.large_string())
                                for p in np.split(rows, cuts)])
    merged = merged_positions(chunked, sorted_text(known))
    assert merged is not None
    np.testing.assert_array_equal(merged, _hashed(chunked, known))
    assert (merged >= 0).sum() > len(rows) // 4  # the test looks up known ids, not only misses


def test_rows_out_of_customer_order_are_left_to_hashing():
    known = sorted_text(["a", "b", "c"])
    for rows in (["b", "a"], ["b", "c", "b"], ["a", "c", "b"], ["c", "c", "a"]):
        assert merged_positions(pa.chunked_array([rows]), known) is None
    # an unknown id between known ones, after a larger unknown, is still found to be unknown
    merged = merged_positions(pa.chunked_array([["bz", "bb", "c"]]), known)
    assert merged is not None
    assert merged.tolist() == [-1, -1, 2]


def test_known_ids_must_be_strictly_increasing_text():
    assert sorted_text(["a", "b"]) is not None
    assert sorted_text(["b", "a"]) is None
    assert sorted_text(["a", "a"]) is None
    assert sorted_text(["a", None]) is None
    assert sorted_text([1, 2]) is None


def test_a_load_in_customer_order_equals_a_load_by_hashing(monkeypatch):
    """The whole loader: same events and rejects with and without the merge."""
    crm = ck.datasets.make_crm(200, random_state=3, months=12)
    tables = {k: v.copy() for k, v in crm.tables.items()}
    ev = tables["contacts"].sort_values(["customer_id", "timestamp"], kind="stable")
    ev = ev.astype({"customer_id": object}).reset_index(drop=True)
    ev.loc[5, "customer_id"] = None
    last = ev["customer_id"].dropna().iloc[-1]
    ev.loc[len(ev)] = {**ev.iloc[-1].to_dict(), "customer_id": f"{last}~unknown"}
    tables["contacts"] = ev.astype({"customer_id": "str"})
    tables["contacts"].loc[5, "customer_id"] = None
    config = ck.load_config(builtin_config("default.yaml"))

    seen = []
    real = _events.merged_positions
    monkeypatch.setattr(_events, "merged_positions",
                        lambda v, k: seen.append(r := real(v, k)) or r)
    merged = ck.load_dataset(config, tables=tables)
    assert any(r is not None for r in seen)  # the merge ran on a table in customer order
    monkeypatch.setattr(_events, "merged_positions", lambda v, k: None)
    hashed = ck.load_dataset(config, tables=tables)
    pd.testing.assert_frame_equal(merged.rejects, hashed.rejects)
    for name in hashed.events:
        pd.testing.assert_frame_equal(merged.events[name], hashed.events[name])
    assert merged.rejects["reason"].str.contains("not in the customers table").any()


@pytest.mark.parametrize("storage", ["python", "pyarrow"])
def test_rows_out_of_order_hash_against_the_sorted_text_as_without_it(storage):
    rng = np.random.default_rng(7)
    known = sorted(set(_words(rng, 300)))
    rows = np.array(rng.choice(known + _words(rng, 100), 500), dtype=object)
    rows[rng.random(len(rows)) < 0.05] = None
    raw = pd.Series(rows, dtype=pd.StringDtype(storage))
    index = pd.Index(known, dtype=object)
    text = sorted_text(known)
    assert merged_positions(pa.chunked_array([pa.array(rows, type=pa.large_string())]),
                            text) is None  # rows not in customer order: hashed
    with_text = _events._exact_positions(raw, index, text)
    np.testing.assert_array_equal(with_text, _events._exact_positions(raw, index))
    np.testing.assert_array_equal(with_text, _hashed(pa.chunked_array([rows]), known))
    assert (with_text >= 0).sum() > len(rows) // 2


@pytest.mark.parametrize("seed", range(40))
def test_merging_in_parts_equals_one_pass(seed):
    """Threads merging runs of chunks agree with one pass: positions, and when to give up."""
    rng = np.random.default_rng(seed)
    known = sorted(set(_words(rng, 60)))
    runs = sorted(rng.choice(known + _words(rng, 30), 40))
    rows = np.repeat(np.array(runs, dtype=object), rng.integers(1, 4, len(runs)))
    rows[rng.random(len(rows)) < 0.1] = None
    if seed % 2:  # swap two rows: some swaps unsort the ids, some (of unknown ids) do not
        i, k = rng.choice(len(rows), 2, replace=False)
        rows[[i, k]] = rows[[k, i]]
    cuts = np.sort(rng.choice(np.arange(1, len(rows)), 7, replace=False))
    chunked = pa.chunked_array([pa.array(list(p), type=pa.large_string())
                                for p in np.split(rows, cuts)])
    text = sorted_text(known)
    one = merged_positions(chunked, text, parts=1)
    for parts in (2, 3, 5, 8):
        split = merged_positions(chunked, text, parts=parts)
        assert (split is None) == (one is None)
        if one is not None:
            np.testing.assert_array_equal(split, one)
    if one is not None:
        np.testing.assert_array_equal(one, _hashed(chunked, known))
