"""Parse raw columns (often text) into typed columns, reporting the values that fail.

Each parser returns ``(parsed, bad)`` where ``bad`` marks the rows whose value was
present but could not be parsed; missing values are not "bad".
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = [
    "infer_type",
    "parse_bool",
    "parse_categorical",
    "parse_dates",
    "parse_ids",
    "parse_numeric",
]

_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")
# a currency sign or code around a number: "€ 99", "12 EUR", "$1,200.50", "-12.5 USD"
_CURRENCY = re.compile(
    r"^\s*(?:[$€£¥]|(?:EUR|USD|GBP|CHF|JPY)\b)?\s*([-+]?[\d.,]+)\s*(?:[$€£¥]|EUR|USD|GBP|CHF|JPY)?\s*$",
    re.IGNORECASE,
)
# written-out "no value" markers read as missing rather than as bad numbers
_MISSING = {"-", "--", "?", "n/a", "na", "n.a.", "none", "null", "nan", "missing", "#n/a", "#na"}
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
# A UTC offset after a time of day: "T10:00+02:00", " 10:00:00.5 -0500", "T1000Z".
_OFFSET = r"[Tt ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


def _as_text(s: pd.Series) -> pd.Series:
    """Stripped strings with empty values as missing."""
    out = s.astype("string").str.strip()
    return out.mask(out == "")


def parse_ids(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Normalise customer ids to strings; ``123.0`` becomes ``"123"``.

    Returns the ids (object dtype strings, missing as NA) and the mask of missing ids.
    """
    if pd.api.types.is_float_dtype(s):
        whole = s.notna() & (s == np.floor(s))
        text = s.astype("string")
        text = text.mask(whole, s[whole].astype("int64").astype("string"))
    else:
        text = _as_text(s)
        text = text.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    missing = text.isna()
    return text.astype(object).where(~missing, None), missing


def parse_dates(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse dates/timestamps to naive ``datetime64[ns]`` (timezone-aware values → UTC).

    ISO 8601 (``2024-03-31``, ``2024-03-31T10:00:00+02:00``) and compact
    ``YYYYMMDD`` dates are parsed fast; other formats are tried element-wise.
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        out = s.astype("datetime64[ns]")
        return out, pd.Series(False, index=s.index)
    text = _as_text(s)
    present = text.notna()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if not present.any():
        return out, ~present & False
    vals = text[present]
    compact = vals.str.fullmatch(r"\d{8}")
    parsed = pd.Series(pd.NaT, index=vals.index, dtype="datetime64[ns, UTC]")
    if compact.any():
        parsed[compact] = _ns(pd.to_datetime(
            vals[compact], format="%Y%m%d", errors="coerce", utc=True
        ))
    if not compact.all():
        # Values with and without an offset apart: pandas 2 gives a value without one the
        # offset of the last value before it that has one.
        offset = vals.str.contains(_OFFSET, regex=True) & ~compact
        for part in (offset, ~compact & ~offset):
            if part.any():
                parsed[part] = _ns(pd.to_datetime(vals[part], format="ISO8601", errors="coerce", utc=True))
        retry = parsed.isna() & ~compact
        if retry.any():
            parsed[retry] = _ns(pd.to_datetime(
                vals[retry], format="mixed", errors="coerce", utc=True
            ))
    out[present] = parsed.dt.tz_localize(None).astype("datetime64[ns]")
    bad = present & out.isna()
    return out, bad


_FIRST_NS = pd.Timestamp("1678-01-01", tz="UTC")
_LAST_NS = pd.Timestamp("2261-12-31", tz="UTC")


def _ns(parsed: pd.Series) -> pd.Series:
    """UTC timestamps in nanoseconds; dates outside 1678-2261 (e.g. ``0001-01-01``) → missing."""
    inside = (parsed >= _FIRST_NS) & (parsed <= _LAST_NS)
    return parsed.where(inside).astype("datetime64[ns, UTC]")


def parse_numeric(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse numbers; ``"1,234.5"`` (thousands separators) is accepted."""
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64"), pd.Series(False, index=s.index)
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64"), pd.Series(False, index=s.index)
    text = _as_text(s.astype(object).where(s.notna(), None)).astype(object)
    present = text.notna()
    out = pd.to_numeric(text.where(present, np.nan), errors="coerce").astype("float64")
    retry = present & out.isna()
    if retry.any():
        vals = text[retry].astype(str)
        marker = vals.str.lower().isin(_MISSING).to_numpy()
        present[retry[retry].index[marker]] = False
        retry[retry[retry].index[marker]] = False
        vals = vals[~marker]
    if retry.any():
        # "1,234.5" (thousands separators) and currency signs or codes
        unit = vals.str.extract(_CURRENCY, expand=False)
        vals = unit.where(unit.notna(), vals)
        vals = vals.where(~vals.str.match(_THOUSANDS, na=False),
                          vals.str.replace(",", "", regex=False))
        out[retry] = pd.to_numeric(vals, errors="coerce").astype("float64")
    out = out.where(~np.isinf(out.to_numpy(dtype="float64", na_value=np.nan)))
    bad = present & out.isna()
    return out, bad


def parse_bool(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse booleans (true/false, yes/no, 1/0, t/f, y/n); result is float 1.0/0.0/NaN."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
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
