"""Parse raw columns (often text) into typed columns, reporting the values that fail.

Each parser returns ``(parsed, bad)`` where ``bad`` marks the rows whose value was
present but could not be parsed; missing values are not "bad".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "DATE_ORDERS",
    "ColumnFormat",
    "Evidence",
    "Parsed",
    "column_evidence",
    "date_order",
    "infer_type",
    "parse_bool",
    "parse_categorical",
    "parse_dates",
    "parse_dates_detail",
    "parse_ids",
    "parse_numeric",
    "parse_numeric_detail",
]

DATE_ORDERS = {"DMY": "day/month/year", "MDY": "month/day/year"}
"""Orders of numeric dates such as ``05.02.2023`` (``date_format: DMY`` or ``MDY``)."""


@dataclass(frozen=True)
class Evidence:
    """What a column's values say about its date order and decimal mark.

    Counts add up over batches of rows (``a + b``), so engines that load a table
    in parts decide each column once, from the whole table, as loading it whole
    would (see :func:`column_evidence`).
    """

    day_first: int = 0
    """Numeric dates valid only day first (``13/02/2023``)."""
    month_first: int = 0
    dotted: bool = False
    """Some numeric date is written with dots (``05.02.2023``)."""
    point_only: int = 0
    """Values that are numbers only with a decimal point (``12.5``)."""
    comma_only: int = 0
    commas: bool = False
    """Some value holds a comma."""

    def __add__(self, other: Evidence) -> Evidence:  # noqa: D105
        return Evidence(self.day_first + other.day_first, self.month_first + other.month_first,
                        self.dotted or other.dotted, self.point_only + other.point_only,
                        self.comma_only + other.comma_only, self.commas or other.commas)


@dataclass(frozen=True)
class ColumnFormat:
    """How the dates and numbers of one column are written.

    ``date_format`` is ``"DMY"``, ``"MDY"`` or a ``strptime`` pattern such as
    ``"%d.%m.%Y"``; ``decimal`` is ``","`` or ``"."``. Left at None, each is
    decided from the column's values, with the file's delimiter ``sep`` as a
    hint when the values do not tell (``;`` files are European).
    """

    date_format: str | None = None
    decimal: str | None = None
    sep: str | None = None
    where: str = ""
    """Config key of the table, for messages (e.g. ``data.customers``)."""
    evidence: Evidence | None = None
    """Evidence from the whole table, when only part of it is parsed; default: the values'."""
    excel: bool = False
    """The table comes from an Excel workbook: day numbers in a date column count from
    1899-12-30 (Excel's serial dates), not from 1970-01-01."""


class Parsed(NamedTuple):
    """A parsed column: values, the present-but-unusable mask, and the disagreeing values.

    ``other`` marks the values that would parse under the other convention (date
    order or decimal mark) than the one decided for the column; they are part of
    ``bad`` and ``other_reason`` says why they were set aside.
    """

    values: pd.Series
    bad: pd.Series
    other: pd.Series
    other_reason: str

_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")
# decimal comma: "1.234,5", "415,41", "-0,5"
_THOUSANDS_DOT = re.compile(r"^[-+]?\d{1,3}(\.\d{3})+(,\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[-+]?\d*,\d+$")
# a numeric date: 05.02.2023, 5/2/23, 05-02-2023 14:30
_NUMERIC_DATE = (r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})"
                 r"(?:[ T](\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?$")
# a currency sign or code, or a percent sign, around a number: "€ 99", "12 EUR",
# "$1,200.50", "-12.5 USD", "12.5%" (read as 12.5: the number as written)
_CURRENCY = re.compile(
    r"^\s*(?:[$€£¥]|(?:EUR|USD|GBP|CHF|JPY)\b)?\s*"
    r"([-+]?[\d.,](?:[\d.,]|[ \u00a0\u202f](?=\d))*)"  # a space only between digits
    r"\s*(?:[$€£¥%]|EUR|USD|GBP|CHF|JPY)?\s*$",
    re.IGNORECASE,
)
# thousands grouped by spaces, as in France: "1 234,5", "12 000" (also no-break spaces)
_THOUSANDS_SPACE = re.compile(r"^[-+]?\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?$")
# an accounting negative: "(12.50)", "($1,200)"
_PARENTHESES = re.compile(r"^\(\s*([^()]*\d[^()]*?)\s*\)$")
# written-out "no value" markers read as missing rather than as bad numbers
_MISSING = {"-", "--", "?", "n/a", "na", "n.a.", "none", "null", "nan", "missing", "#n/a", "#na",
            "unknown", "unk", "not available", "not known", "#value!", "#div/0!"}
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
# A UTC offset after a time of day: "T10:00+02:00", " 10:00:00.5 -0500", "T1000Z".
_OFFSET = r"[Tt ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


def _as_text(s: pd.Series) -> pd.Series:
    """Stripped strings with empty values as missing."""
    out = s.astype("string").str.strip()
    return out.mask(out == "")


_INVISIBLE = "[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]"
_NBSP = "[\u00a0\u2007\u202f]"
#: An id :func:`parse_ids` may change: a space or a character outside printable ASCII, an
#: empty text, or a whole number written with decimals.
_NOT_PLAIN_ID = r"[^\x21-\x7e]|^$|^-?\d+\.0+$"


def parse_ids(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Normalise customer ids to strings; ``123.0`` becomes ``"123"``.

    Surrounding whitespace (non-breaking spaces too) and invisible characters
    (zero-width spaces, byte-order marks, soft hyphens) are removed; case is kept.

    Returns the ids (object dtype strings, missing as NA) and the mask of missing ids.
    """
    if pd.api.types.is_float_dtype(s):
        whole = s.notna() & (s == np.floor(s))
        text = s.astype("string")
        text = text.mask(whole, s[whole].astype("int64").astype("string"))
    else:
        text = s.astype("string")
        if not bool(text.str.contains(_NOT_PLAIN_ID, regex=True).fillna(False).any()):
            missing = text.isna()  # printable ASCII without spaces: nothing to normalise
            return text.astype(object).where(~missing, None), missing
        # zero-width and other invisible characters, and non-breaking spaces, are no part of an id
        text = text.str.replace(_INVISIBLE, "", regex=True)
        text = _as_text(text.str.replace(_NBSP, " ", regex=True))
        text = text.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    missing = text.isna()
    return text.astype(object).where(~missing, None), missing


def parse_dates(s: pd.Series, fmt: ColumnFormat | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse dates/timestamps to naive ``datetime64[ns]`` (timezone-aware values → UTC).

    ISO 8601 (``2024-03-31``, ``2024-03-31T10:00:00+02:00``) and compact
    ``YYYYMMDD`` dates are parsed fast; numeric dates (``05.02.2023``) in one
    order per column (see :func:`parse_dates_detail`); other formats are tried
    element-wise.

    Examples
    --------
    >>> import pandas as pd
    >>> out, bad = parse_dates(pd.Series(["05.02.2023", "13.02.2023", None]))
    >>> [str(d.date()) for d in out[:2]], bad.tolist()
    (['2023-02-05', '2023-02-13'], [False, False, False])
    """
    parsed = parse_dates_detail(s, fmt)
    return parsed.values, parsed.bad


def _empty_mask(s: pd.Series) -> pd.Series:
    return pd.Series(False, index=s.index)


def parse_dates_detail(s: pd.Series, fmt: ColumnFormat | None = None) -> Parsed:
    """:func:`parse_dates` with the values that disagree with the column's date order.

    Numeric dates (``05.02.2023``, ``5/2/23``) are read in one order per column:
    ``fmt.date_format`` when given, else the order under which more values are
    valid dates (a day above 12 tells), else day first for ``.`` separators or
    a ``;``-delimited file, month first otherwise. A value valid only in the
    other order is set aside (``other``) instead of being read swapped. A
    ``strptime`` pattern as ``date_format`` must match every value.
    """
    fmt = fmt or ColumnFormat()
    if pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        out = s.astype("datetime64[ns]")
        return Parsed(out, _empty_mask(s), _empty_mask(s), "")
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return _epochs(s, excel=fmt.excel)
    text = _as_text(s)
    present = text.notna()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    other = _empty_mask(s)
    if not present.any():
        return Parsed(out, _empty_mask(s), other, "")
    vals = text[present]
    given = fmt.date_format
    if given is not None and "%" in given:
        got = _ns(pd.to_datetime(vals, format=given, errors="coerce", utc=True))
        out[present] = got.dt.tz_localize(None).astype("datetime64[ns]")
        bad = present & out.isna()
        return Parsed(out, bad, bad.copy(),
                      f"unparseable datetime value: does not match the format {given!r} "
                      f"({fmt.where}.date_format); set to missing")
    parsed = pd.Series(pd.NaT, index=vals.index, dtype="datetime64[ns, UTC]")
    parts = vals.str.extract(_NUMERIC_DATE)
    numeric = parts[0].notna()
    compact = vals.str.fullmatch(r"\d{8}") & ~numeric
    reason = ""
    if numeric.any():
        order, why = _date_order(fmt.evidence or _date_evidence(parts[numeric]), given, fmt)
        first = _dmy_iso(parts[numeric], order)
        parsed[numeric] = _ns(pd.to_datetime(first, format="ISO8601", errors="coerce", utc=True))
        swapped = _dmy_iso(parts[numeric], "MDY" if order == "DMY" else "DMY")
        alt = _ns(pd.to_datetime(swapped, format="ISO8601", errors="coerce", utc=True))
        disagree = parsed[numeric].isna() & alt.notna()
        other[disagree[disagree].index] = True
        name, other_name = DATE_ORDERS[order], DATE_ORDERS["MDY" if order == "DMY" else "DMY"]
        reason = (f"unparseable datetime value: valid only as {other_name} while this column "
                  f"is read as {name} "
                  f"({why}); set to missing (set date_format to override)")
    if compact.any():
        parsed[compact] = _ns(pd.to_datetime(
            vals[compact], format="%Y%m%d", errors="coerce", utc=True
        ))
    rest = ~compact & ~numeric
    if rest.any():
        # Values with and without an offset apart: pandas 2 gives a value without one the
        # offset of the last value before it that has one.
        offset = vals.str.contains(_OFFSET, regex=True) & rest
        for part in (offset, rest & ~offset):
            if part.any():
                parsed[part] = _ns(pd.to_datetime(vals[part], format="ISO8601", errors="coerce",
                                                  utc=True))
        retry = parsed.isna() & rest
        if retry.any():
            parsed[retry] = _ns(pd.to_datetime(
                vals[retry], format="mixed", errors="coerce", utc=True
            ))
    out[present] = parsed.dt.tz_localize(None).astype("datetime64[ns]")
    bad = present & out.isna()
    return Parsed(out, bad, other, reason)


# the largest magnitude of each unit for dates up to about 2200
_EPOCH_UNITS: tuple[tuple[float, Literal["D", "s", "ms", "us", "ns"]], ...] = (
    (1e5, "D"), (1e10, "s"), (1e13, "ms"), (1e16, "us"), (np.inf, "ns"))


def _epochs(s: pd.Series, *, excel: bool = False) -> Parsed:
    """Numbers in a date column (Parquet, spreadsheets) as times since 1970-01-01.

    The unit (days, seconds, milli-, micro- or nanoseconds) is decided once for
    the column from the median magnitude; values that are no whole number or
    fall outside 1678-2261 in that unit are set aside. In an Excel workbook,
    day numbers are Excel serial dates (days since 1899-12-30, with a fraction
    for the time of day).
    """
    num = s.astype("float64")
    present = num.notna()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if not present.any():
        return Parsed(out, _empty_mask(s), _empty_mask(s), "")
    size = float(np.nanmedian(np.abs(num[present].to_numpy())))
    unit = next(u for limit, u in _EPOCH_UNITS if size < limit)
    if excel and unit == "D":
        days = pd.to_timedelta(num[present].round(6), unit="D")
        out[present] = (pd.Timestamp("1899-12-30") + days).dt.round("s").astype("datetime64[ns]")
        return Parsed(out, _empty_mask(s), _empty_mask(s), "")
    whole = present & (num == np.floor(num))
    exact = s[whole] if pd.api.types.is_integer_dtype(s) else num[whole]
    got = pd.to_datetime(exact.astype("int64"), unit=unit, errors="coerce", utc=True)
    out[whole] = _ns(got).dt.tz_localize(None).astype("datetime64[ns]")
    return Parsed(out, present & out.isna(), _empty_mask(s), "")


def _date_evidence(parts: pd.DataFrame) -> Evidence:
    """Counts of numeric dates (split by ``_NUMERIC_DATE``) valid only in one order."""
    a = parts[0].astype(int)
    b = parts[2].astype(int)
    return Evidence(day_first=int(((a > 12) & (b <= 12)).sum()),
                    month_first=int(((b > 12) & (a <= 12)).sum()),
                    dotted=bool((parts[1] == ".").any()))


def date_order(ev: Evidence, fmt: ColumnFormat | None = None) -> str:
    """``"DMY"`` or ``"MDY"``: the order numeric dates are read in, given the evidence.

    Examples
    --------
    >>> date_order(Evidence(day_first=2, month_first=1))
    'DMY'
    >>> date_order(Evidence(), ColumnFormat(sep=";"))
    'DMY'
    """
    fmt = fmt or ColumnFormat()
    return _date_order(ev, fmt.date_format, fmt)[0]


def _date_order(ev: Evidence, given: str | None, fmt: ColumnFormat) -> tuple[str, str]:
    """The order of a column's numeric dates, and why it was chosen."""
    if given in DATE_ORDERS:
        return given, f"{fmt.where}.date_format"
    day_first, month_first = ev.day_first, ev.month_first
    if day_first != month_first:
        order = "DMY" if day_first > month_first else "MDY"
        return order, (f"{max(day_first, month_first)} of its dates are valid only that way, "
                       f"{min(day_first, month_first)} the other way")
    if ev.dotted:
        return "DMY", "dates written with dots are day first"
    if fmt.sep == ";":
        return "DMY", "the file is ';'-delimited, as in Europe"
    return "MDY", "no value tells the order; month first is the default"


def _dmy_iso(parts: pd.DataFrame, order: str) -> pd.Series:
    """ISO text of numeric dates split by ``_NUMERIC_DATE``, read in ``order``."""
    day, month = (parts[0], parts[2]) if order == "DMY" else (parts[2], parts[0])
    year = parts[3]
    short = year.str.len() == 2
    century = np.where(year.where(short, "0").astype(int) >= 69, "19", "20")
    year = year.where(~short, pd.Series(century, index=year.index) + year)
    iso = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
    time = parts[4].fillna("")
    return iso.where(time == "", iso + "T" + time.str.zfill(5))


_FIRST_NS = pd.Timestamp("1678-01-01", tz="UTC")
_LAST_NS = pd.Timestamp("2261-12-31", tz="UTC")


def _ns(parsed: pd.Series) -> pd.Series:
    """UTC timestamps in nanoseconds; dates outside 1678-2261 (e.g. ``0001-01-01``) → missing."""
    inside = (parsed >= _FIRST_NS) & (parsed <= _LAST_NS)
    return parsed.where(inside).astype("datetime64[ns, UTC]")


def parse_numeric(s: pd.Series, fmt: ColumnFormat | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse numbers; thousands separators and one decimal mark per column (see below).

    Examples
    --------
    >>> import pandas as pd
    >>> parse_numeric(pd.Series(["1,500", "415,41"]))[0].tolist()
    [1.5, 415.41]
    >>> parse_numeric(pd.Series(["1,500", "12.5"]))[0].tolist()
    [1500.0, 12.5]
    """
    parsed = parse_numeric_detail(s, fmt)
    return parsed.values, parsed.bad


def parse_numeric_detail(s: pd.Series, fmt: ColumnFormat | None = None) -> Parsed:
    """:func:`parse_numeric` with the values that disagree with the column's decimal mark.

    A column is read with one decimal mark: ``fmt.decimal`` when given, else the
    mark under which more of its values are numbers (``415,41`` is one only with
    a decimal comma, ``12.5`` only with a decimal point), else a comma in a
    ``;``-delimited file that holds commas and a point otherwise. ``1,500`` is
    then 1.5 or 1500 for the whole column, never both; a value that is a number
    only with the other mark is set aside (``other``).
    """
    fmt = fmt or ColumnFormat()
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return Parsed(s.astype("float64"), _empty_mask(s), _empty_mask(s), "")
    text, present, out, retry = _numbers(s)
    other = _empty_mask(s)
    reason = ""
    comma_given = fmt.decimal == "," or (
        fmt.decimal is None and fmt.evidence is not None
        and _decimal_mark(fmt.evidence, fmt)[0] == ",")
    if retry.any() or comma_given:
        point, comma = _both_marks(text, present, out, retry)
        decimal, why = _decimal_mark(fmt.evidence or _numeric_evidence(point, comma, present, text),
                                     fmt)
        out, alt = (comma, point) if decimal == "," else (point, comma)
        other = present & out.isna() & alt.notna()
        name = {",": "comma", ".": "point"}
        reason = ("unparseable numeric value: written with a decimal "
                  f"{name['.' if decimal == ',' else ',']} while "
                  f"this column uses a decimal {name[decimal]} ({why}); set to missing "
                  "(set decimal to override)")
    out = out.where(~np.isinf(out.to_numpy(dtype="float64", na_value=np.nan)))
    bad = present & out.isna()
    return Parsed(out, bad, other & bad, reason)


def _numbers(s: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """A raw column's text, present values, fast parse and the values it missed.

    Written-out "no value" markers (``n/a``, ``-``) count as missing.
    """
    text = _as_text(s.astype(object).where(s.notna(), None)).astype(object)
    present = text.notna()
    out = pd.to_numeric(text.where(present, np.nan), errors="coerce").astype("float64")
    retry = present & out.isna()
    if retry.any():
        marker = text[retry].astype(str).str.lower().isin(_MISSING)
        present[marker[marker].index] = False
        retry[marker[marker].index] = False
    return text, present, out, retry


def _both_marks(text: pd.Series, present: pd.Series, out: pd.Series, retry: pd.Series
                ) -> tuple[pd.Series, pd.Series]:
    """Each value read with a decimal point and with a decimal comma (NaN where it is none)."""
    point = out.copy()
    comma = out.copy()
    vals = text[retry].astype(str)
    negative = vals.str.extract(_PARENTHESES, expand=False)
    vals = negative.where(negative.notna(), vals)
    unit = vals.str.extract(_CURRENCY, expand=False)
    vals = unit.where(unit.notna(), vals)
    spaced = vals.str.match(_THOUSANDS_SPACE, na=False)
    vals = vals.where(~spaced, vals.str.replace(r"[ \u00a0\u202f]", "", regex=True))
    vals = vals.where(negative.isna(), "-" + vals)
    point[retry] = pd.to_numeric(
        vals.where(~vals.str.match(_THOUSANDS, na=False), vals.str.replace(",", "", regex=False)),
        errors="coerce").astype("float64")
    comma[retry] = _decimal_comma(vals)
    # values read by the fast path: with a decimal comma, a point groups thousands
    dotted = ~retry & present & text.astype(str).str.contains(".", regex=False)
    if dotted.any():
        comma[dotted] = _decimal_comma(text[dotted].astype(str))
    return point, comma


def _numeric_evidence(point: pd.Series, comma: pd.Series, present: pd.Series,
                      text: pd.Series) -> Evidence:
    return Evidence(point_only=int((present & point.notna() & comma.isna()).sum()),
                    comma_only=int((present & comma.notna() & point.isna()).sum()),
                    commas=bool(text[present].astype(str).str.contains(",", regex=False).any()))


def column_evidence(s: pd.Series) -> Evidence:
    """What the values of a raw column say about its date order and decimal mark.

    Engines that load a table in parts add up the evidence of every part and
    pass it on (``ColumnFormat.evidence``), so each part is read as the whole
    table would be.

    Examples
    --------
    >>> import pandas as pd
    >>> a = column_evidence(pd.Series(["13/02/2023", "1,5"]))
    >>> b = column_evidence(pd.Series(["05/02/2023", "2,25"]))
    >>> ev = a + b
    >>> ev.day_first, ev.month_first, ev.comma_only
    (1, 0, 2)
    """
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) or \
            pd.api.types.is_datetime64_any_dtype(s):
        return Evidence()
    text = _as_text(s)
    parts = text.dropna().str.extract(_NUMERIC_DATE)
    numeric = parts[0].notna()
    dates = _date_evidence(parts[numeric]) if numeric.any() else Evidence()
    text, present, out, retry = _numbers(s)
    if not retry.any():
        return dates
    point, comma = _both_marks(text, present, out, retry)
    return dates + _numeric_evidence(point, comma, present, text)


def _decimal_comma(vals: pd.Series) -> pd.Series:
    """Numbers written with a decimal comma (``1.234,5``, ``415,41``, ``12``); others NaN."""
    grouped = vals.str.match(_THOUSANDS_DOT, na=False)
    plain = vals.str.match(_DECIMAL_COMMA, na=False) | vals.str.fullmatch(r"[-+]?\d+", na=False)
    norm = vals.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    return pd.to_numeric(norm.where(grouped | plain), errors="coerce").astype("float64")


def _decimal_mark(ev: Evidence, fmt: ColumnFormat) -> tuple[str, str]:
    """The decimal mark of a column, and why it was chosen."""
    if fmt.decimal is not None:
        return fmt.decimal, f"{fmt.where}.decimal"
    point_only, comma_only = ev.point_only, ev.comma_only
    if point_only != comma_only:
        decimal = "," if comma_only > point_only else "."
        return decimal, (f"{max(point_only, comma_only)} of its values are numbers only that "
                         f"way, {min(point_only, comma_only)} the other way")
    if fmt.sep == ";" and ev.commas:
        return ",", "the file is ';'-delimited, as in Europe"
    return ".", "no value tells the mark; a point is the default"


def parse_bool(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse booleans (true/false, yes/no, 1/0, t/f, y/n); result is float 1.0/0.0/NaN."""
    if pd.api.types.is_bool_dtype(s):  # every value is one of the two (or missing)
        return s.astype("float64"), pd.Series(False, index=s.index)
    if pd.api.types.is_numeric_dtype(s):
        num = s.astype("float64")
        bad = num.notna() & ~num.isin([0.0, 1.0])
        return num.where(~bad), bad
    text = _as_text(s).str.lower()
    out = pd.Series(np.nan, index=s.index, dtype="float64")
    out[text.isin(_TRUE).fillna(False).astype(bool)] = 1.0
    out[text.isin(_FALSE).fillna(False).astype(bool)] = 0.0
    bad = text.notna() & out.isna()
    return out, bad


def parse_categorical(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Stripped text values (object strings) with empty values missing."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        ids, _ = parse_ids(s)
        return ids, pd.Series(False, index=s.index)
    text = _as_text(s.astype(object).where(s.notna(), None).astype(str).where(s.notna()))
    return text.astype(object).where(text.notna(), None), pd.Series(False, index=s.index)


def infer_type(s: pd.Series) -> str:
    """Guess a column's type: ``boolean``, ``numeric``, ``datetime``, ``categorical`` or ``text``."""
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if pd.api.types.is_numeric_dtype(s):
        vals = s.dropna().unique()
        return "boolean" if len(vals) and set(vals.tolist()) <= {0, 1} and len(vals) == 2 else "numeric"
    text = _as_text(s).dropna()
    if text.empty:
        return "categorical"
    lowered = set(text.str.lower().unique()[:50].tolist())
    if len(lowered) <= 2 and lowered <= (_TRUE | _FALSE) and not lowered <= {"0", "1"}:
        return "boolean"
    sample = text.iloc[:5000]
    _, bad = parse_numeric(sample)
    if bad.mean() < 0.01:
        return "numeric"
    n_unique = sample.nunique()
    if sample.str.len().mean() > 30 and n_unique > 0.5 * len(sample):
        return "text"
    if n_unique > max(100, 0.5 * len(sample)):
        return "text"
    return "categorical"
