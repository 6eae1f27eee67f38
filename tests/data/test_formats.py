"""One date order and one decimal mark per column; epochs; ids; format keys in the config."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnkit import ConfigError
from churnkit.config import config_from_dict
from churnkit.data import parse_dates, parse_ids, parse_numeric
from churnkit.data._parse import ColumnFormat, infer_type, parse_dates_detail, parse_numeric_detail


def _days(values: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) else str(v.date()) for v in values]


def test_a_day_above_twelve_decides_the_order_of_the_whole_column():
    dates = pd.Series(["05/02/2023", "13/02/2023", "02/14/2023", "01/12/2023"])
    got = parse_dates_detail(dates)
    # 1 value only valid day first, 1 only month first: a tie, ',' file -> month first
    assert _days(got.values) == ["2023-05-02", None, "2023-02-14", "2023-01-12"]
    assert got.other.tolist() == [False, True, False, False]
    more = parse_dates_detail(pd.concat([dates, pd.Series(["25/12/2023"])], ignore_index=True))
    assert _days(more.values) == ["2023-02-05", "2023-02-13", None, "2023-12-01", "2023-12-25"]
    assert "valid only as month/day/year" in more.other_reason
    assert "2 of its dates are valid only that way, 1 the other way" in more.other_reason


def test_ambiguous_dates_follow_the_separator_and_the_delimiter():
    slashes = pd.Series(["01/04/2023", "02/03/2023"])
    assert _days(parse_dates(slashes)[0]) == ["2023-01-04", "2023-02-03"]
    assert _days(parse_dates(slashes, ColumnFormat(sep=";"))[0]) == ["2023-04-01", "2023-03-02"]
    assert _days(parse_dates(pd.Series(["01.04.2023"]))[0]) == ["2023-04-01"]
    assert _days(parse_dates(slashes, ColumnFormat(date_format="DMY"))[0]) == [
        "2023-04-01", "2023-03-02"]


def test_two_digit_years_and_times():
    got, bad = parse_dates(pd.Series(["31.12.99 23:59", "01.02.24 7:05", "1.2.2024"]))
    assert got.tolist() == [pd.Timestamp("1999-12-31 23:59"), pd.Timestamp("2024-02-01 07:05"),
                            pd.Timestamp("2024-02-01")]
    assert not bad.any()


def test_a_strptime_pattern_must_match_every_value():
    got = parse_dates_detail(pd.Series(["05.02.2023", "2023-02-05"]),
                             ColumnFormat(date_format="%d.%m.%Y", where="data.customers"))
    assert _days(got.values) == ["2023-02-05", None]
    assert got.other.tolist() == [False, True]
    assert "data.customers.date_format" in got.other_reason


@pytest.mark.parametrize(
    ("values", "sep", "want"),
    [
        (["1,500", "415,41", "1.234,5"], None, [1.5, 415.41, 1234.5]),
        (["1,500", "2,000"], None, [1500.0, 2000.0]),
        (["1,500", "2,000"], ";", [1.5, 2.0]),
        (["1.500", "2.250"], ";", [1.5, 2.25]),  # no comma at all: a point
        (["1,234.5", "12"], ";", [1234.5, 12.0]),
        (["€ 1.234,50", "3,5 EUR"], None, [1234.5, 3.5]),
    ],
)
def test_one_decimal_mark_per_column(values, sep, want):
    got, bad = parse_numeric(pd.Series(values), ColumnFormat(sep=sep))
    assert got.tolist() == pytest.approx(want)
    assert not bad.any()


def test_values_with_the_other_decimal_mark_are_set_aside():
    got = parse_numeric_detail(pd.Series(["1,5", "2,25", "3.5", "x"]))
    assert got.values.iloc[:2].tolist() == [1.5, 2.25]
    assert got.bad.tolist() == [False, False, True, True]
    assert got.other.tolist() == [False, False, True, False]
    assert "decimal point while this column uses a decimal comma" in got.other_reason
    forced = parse_numeric_detail(pd.Series(["1,5", "2,25", "3.5"]), ColumnFormat(decimal="."))
    assert forced.values.tolist()[2] == 3.5
    assert forced.other.tolist() == [True, True, False]


@pytest.mark.parametrize(
    ("value", "unit"),
    [(19_358, "D"), (1_672_531_200, "s"), (1_672_531_200_000, "ms"),
     (1_672_531_200_000_000, "us"), (1_672_531_200_000_000_000, "ns")],
)
def test_epochs_are_read_in_the_unit_their_magnitude_shows(value, unit):
    got, bad = parse_dates(pd.Series([value, value + 1, None], dtype="Int64"))
    assert got.iloc[0] == pd.Timestamp("2023-01-01")
    assert got.iloc[1] == pd.Timestamp("2023-01-01") + pd.Timedelta(1, unit=unit)
    assert pd.isna(got.iloc[2])
    assert not bad.any()


def test_ids_lose_invisible_characters_but_keep_their_case():
    raw = pd.Series(["c0\u200b1", "\ufeffc02", "c03\u00a0", " C04 ", "c\u00a005", None])
    ids, missing = parse_ids(raw)
    assert ids.tolist() == ["c01", "c02", "c03", "C04", "c 05", None]
    assert missing.tolist() == [False] * 5 + [True]


def _config(table: dict) -> dict:
    return {"data": {"customers": {"path": "c.csv", **table}},
            "labels": {"cutoffs": ["2024-01-01"]}}


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"date_format": "DD.MM.YYYY"}, r"date_format 'DD\.MM\.YYYY' is neither DMY, MDY nor a"),
        ({"date_format": {"signup": "%m/%Y"}}, r"customers\.date_format: column 'signup': date_format '%m/%Y' is neither"),
        ({"decimal": ";"}, r"customers\.decimal"),
        ({"sheet": 1.5}, r"customers\.sheet"),
        ({"format": "xls"}, r"customers\.format"),
    ],
)
def test_format_keys_are_validated(table, match):
    with pytest.raises(ConfigError, match=match):
        config_from_dict(_config(table))


def test_format_keys_accept_orders_patterns_and_per_column_values():
    cfg = config_from_dict(_config({"date_format": {"signup": "dmy", "end": "%d.%m.%Y %H:%M"},
                                    "decimal": ",", "sheet": "Customers", "format": "xlsx"}))
    spec = cfg.data.customers
    assert spec is not None
    assert spec.date_format == {"signup": "DMY", "end": "%d.%m.%Y %H:%M"}
    assert (spec.decimal, spec.sheet, cfg.data.max_rejected_share) == (",", "Customers", 0.5)
    with pytest.raises(ConfigError, match=r"max_rejected_share"):
        config_from_dict({**_config({}), "data": {**_config({})["data"], "max_rejected_share": 2}})


def test_numeric_columns_are_not_slowed_by_the_decision():
    # the fast path: every value a plain number, no second reading
    values = pd.Series(np.arange(100_000).astype(str))
    got = parse_numeric_detail(values, ColumnFormat(sep=";"))
    assert not got.bad.any()
    assert got.other_reason == ""


@pytest.mark.parametrize(
    ("values", "want"),
    [
        (["12%", "3.5 %", "-4%"], [12.0, 3.5, -4.0]),  # a percent is the number as written
        (["(12.50)", "($1,200)", "7"], [-12.5, -1200.0, 7.0]),  # accounting negatives
        (["1 234,5", "12 000 €", "2,5"], [1234.5, 12000.0, 2.5]),  # thousands grouped by spaces
        (["1\u202f234.5", "3.25"], [1234.5, 3.25]),  # a narrow no-break space, as Excel writes
    ],
)
def test_numbers_as_spreadsheets_write_them(values, want):
    got, bad = parse_numeric(pd.Series(values))
    assert got.tolist() == pytest.approx(want)
    assert not bad.any()


def test_a_number_column_with_an_unknown_marker_stays_a_number():
    # Cell2Cell's HandsetPrice: "Unknown" in most rows, else a price
    raw = pd.Series(["Unknown", "30", "Unknown", "150", "unknown", "80", "N/A"] * 20)
    assert infer_type(raw) == "numeric"
    got, bad = parse_numeric(raw)
    assert not bad.any()  # a marker is missing, not an unreadable value
    assert got.isna().sum() == 80
    assert got.dropna().unique().tolist() == [30.0, 150.0, 80.0]
    # words with no numbers at all remain categories
    assert infer_type(pd.Series(["Unknown", "Married", "Single"] * 20)) == "categorical"
    assert infer_type(pd.Series(["1 2 3", "4", "12 34"] * 20)) == "categorical"
