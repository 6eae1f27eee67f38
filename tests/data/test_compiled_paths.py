"""Compiled and Arrow shortcuts of the loader give what the general code gives.

Category columns are coded without hashing their rows, text is encoded by
several threads, days are counted in one compiled pass, plain ids skip
normalising, ids that cannot differ only by case skip hashing, and excluded
Parquet columns are not read: each is compared here with the general way.
"""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import churnkit as ck
from churnkit._core import builtin_config
from churnkit.data._checks import _no_case_clash, check_case_collisions
from churnkit.data._end import _DAY_NS, day_counts
from churnkit.data._io import read_table
from churnkit.data._links import unread_columns
from churnkit.data._parse import parse_bool, parse_ids
from churnkit.data._table import _arrow_codes, distinct_codes, take_codes
from churnkit.exceptions import SchemaError


def _categoricals():
    rng = np.random.default_rng(0)
    many = [f"v{i:03d}" for i in range(300)]  # int16 codes
    yield pd.Series(pd.Categorical(["b", "a", None, "b", "c"], categories=["a", "b", "c", "z"]))
    yield pd.Series(pd.Categorical([3, 1, None, 3]))
    yield pd.Series(pd.Categorical([True, False, True]))
    yield pd.Series(pd.Categorical([], categories=["a"]))
    yield pd.Series(pd.Categorical([None, None], categories=["a"]))
    values = rng.choice(np.array(["x", "y", "w", None], dtype=object), 250_000)
    yield pd.Series(pd.Categorical(values, categories=["w", "q", "x", "y"]))
    yield pd.Series(pd.Categorical(rng.choice(many[:250], 200_000), categories=many))


@pytest.mark.parametrize("raw", list(_categoricals()), ids=lambda s: f"{len(s)}-{len(s.cat.categories)}")
def test_category_codes_equal_factorize(raw):
    expected_codes, expected_values = pd.factorize(raw, use_na_sentinel=True)
    codes, values = distinct_codes(raw)
    assert codes.dtype == raw.cat.codes.dtype  # kept small
    np.testing.assert_array_equal(codes, expected_codes)
    pd.testing.assert_series_equal(values, pd.Series(expected_values))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int64])
def test_take_codes_equals_indexing(dtype):
    rng = np.random.default_rng(1)
    table = rng.integers(-1, 100, 120).astype(dtype)
    codes = rng.integers(-1, 120, 150_000).astype(dtype)  # -1: the table's last entry
    np.testing.assert_array_equal(take_codes(table, codes), table[codes])


def _day_counts_by_division(stamps):
    ns = stamps.to_numpy("datetime64[ns]").view(np.int64)
    days = ns[ns != np.iinfo(np.int64).min] // _DAY_NS
    counts = pd.Series(days).value_counts().sort_index()
    return pd.Series(counts.to_numpy(np.int64),
                     index=pd.DatetimeIndex((counts.index.to_numpy() * _DAY_NS).view("M8[ns]")))


def test_day_counts_equal_dividing_every_stamp():
    rng = np.random.default_rng(2)
    ns = rng.integers(-400 * _DAY_NS, 20_000 * _DAY_NS, 50_000)  # before 1970 too
    stamps = pd.Series(ns.view("M8[ns]"))
    stamps[rng.choice(len(stamps), 500, replace=False)] = pd.NaT
    other = pd.Series(pd.to_datetime(["2024-01-01 23:59", None, "2030-05-01 00:00"]))
    got = day_counts([stamps, other])
    expected = _day_counts_by_division(pd.concat([stamps, other], ignore_index=True))
    pd.testing.assert_series_equal(got, expected, check_freq=False)
    assert day_counts([pd.Series(pd.to_datetime([None, None]))]).empty


@pytest.mark.parametrize("dtype", [object, "string", "str"])
def test_plain_ids_kept_and_others_normalised(dtype):
    plain = pd.Series(["C1", "x-2", "12.5", None, "AB_3"], dtype=dtype)
    ids, missing = parse_ids(plain)
    assert ids.tolist() == ["C1", "x-2", "12.5", None, "AB_3"]
    assert missing.tolist() == [False, False, False, True, False]
    messy = pd.Series(["C1", " C2", "C3\u200b", "", "12.0", "C\u00a04", "-7.00"], dtype=dtype)
    ids, missing = parse_ids(messy)
    assert ids.tolist() == ["C1", "C2", "C3", None, "12", "C 4", "-7"]


def test_case_shortcut_only_claims_what_hashing_confirms():
    rng = np.random.default_rng(3)
    letters = np.array(list("aAbBcC19-"))
    for _ in range(300):
        ids = pd.Series(["".join(rng.choice(letters, rng.integers(1, 4))) for _ in range(8)])
        ids = ids.drop_duplicates()
        if _no_case_clash(ids):
            assert ids.str.lower().nunique() == len(ids)
    assert _no_case_clash(pd.Series(["C000001", "C000002", "X-9"]))
    assert not _no_case_clash(pd.Series(["Ab", "c"]))  # mixed case: hashed instead
    assert not _no_case_clash(pd.Series(["\u00df"]))  # not ASCII: casefold instead
    with pytest.raises(SchemaError, match="several cases"):
        check_case_collisions(pd.Series(["C1", "c1", "C2"]), pd.DataFrame(), "customers", "id")


@pytest.mark.parametrize(("values", "expected"), [
    ([True, False, True], [1.0, 0.0, 1.0]),
    (pd.array([True, None, False], dtype="boolean"), [1.0, np.nan, 0.0]),
])
def test_boolean_columns_read_as_numbers(values, expected):
    parsed, bad = parse_bool(pd.Series(values))
    np.testing.assert_array_equal(parsed.to_numpy(), expected)
    assert not bad.any()


#: Arrow-backed text dtypes: "str" is one from pandas 3 on.
ARROW_TEXT = ["string[pyarrow]"] + [
    "str" for _ in [0] if isinstance(pd.Series([], dtype="str").array, pd.arrays.ArrowStringArray)]


@pytest.mark.parametrize("dtype", ARROW_TEXT)
@pytest.mark.parametrize("parts", [1, 2, 3, 8])
def test_text_encoded_in_parts_equals_factorize(dtype, parts):
    rng = np.random.default_rng(parts)
    values = rng.choice(np.array(["a", "b", " c", None, "\u00e9", "", "zz"], dtype=object), 5_000)
    values[:50] = "late"  # first seen only in the first chunk
    values[-3:] = "new"  # first seen only in the last chunk
    chunks = [pa.array(list(p), type=pa.large_string()) for p in np.array_split(values, 9)]
    raw = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(chunks))).astype(dtype)
    assert raw.array.__arrow_array__().num_chunks > 1
    expected_codes, expected_values = pd.factorize(raw, use_na_sentinel=True)
    codes, uniques = _arrow_codes(raw, parts)
    np.testing.assert_array_equal(codes, expected_codes)
    pd.testing.assert_series_equal(uniques, pd.Series(expected_values))


def test_excluded_parquet_columns_are_not_read_and_change_nothing(tmp_path):
    crm = ck.datasets.make_crm(150, random_state=4, months=8)
    crm.write(tmp_path / "data", format="parquet")
    text = builtin_config("default.yaml").read_text(encoding="utf-8").replace(".csv", ".parquet")
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    config = ck.load_config(tmp_path / "config.yaml")
    assert unread_columns(config.data.events["contacts"]) == {"agent"}
    path = tmp_path / "data" / "contacts.parquet"
    assert "agent" not in read_table(path, table="contacts", skip={"agent"}).columns
    assert "agent" in read_table(path, table="contacts", skip={"elsewhere"}).columns
    from_files = ck.load_dataset(config)
    in_memory = ck.load_dataset(config, tables=crm.tables)  # with the agent column
    for name, events in in_memory.events.items():
        pd.testing.assert_frame_equal(from_files.events[name], events)
    pd.testing.assert_frame_equal(from_files.rejects, in_memory.rejects)
