"""Input checks, calendar-period arithmetic and table building shared by the retention modules.

Calendar periods are handled as integer *ordinals* counted from January 1970:
month ``m`` is ``12 * (year - 1970) + (month - 1)``, quarter ``m // 3`` and year
``m // 12``. Turning every date into the ordinal of its period once makes all
the counting a matter of ``np.bincount`` on integer arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from churnkit.exceptions import SchemaError

__all__ = [
    "PERIODS",
    "Groups",
    "Period",
    "assemble",
    "by_columns",
    "check_frame",
    "check_period",
    "contract_dates",
    "counts",
    "date_column",
    "numeric_column",
    "ordinal_of",
    "ordinal_start",
    "period_ordinal",
    "period_range",
    "periods_per_year",
    "ratio",
    "to_timestamp",
]

Period = Literal["M", "Q", "Y"]
PERIODS: dict[str, int] = {"M": 1, "Q": 3, "Y": 12}
"""Length of each supported period in months."""

_DT = "datetime64[us]"


def check_period(period: str, *, func: str) -> str:
    """Return ``period`` if it is one of ``"M"``, ``"Q"``, ``"Y"``, else raise ``ValueError``."""
    if not isinstance(period, str) or period not in PERIODS:
        raise ValueError(
            f"The 'period' parameter of {func} must be one of 'M', 'Q' or 'Y' "
            f"(month, quarter, year). Got {period!r} instead."
        )
    return period


def periods_per_year(period: str) -> int:
    """Return how many ``period`` make a year: 12, 4 or 1."""
    return 12 // PERIODS[period]


def check_frame(df: Any, table: str) -> pd.DataFrame:
    """Check that ``df`` is a non-empty DataFrame."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{table} must be a pandas DataFrame; got {type(df).__name__}.")
    if len(df) == 0:
        raise SchemaError(f"{table} is empty: retention needs at least one row.")
    return df


def _where(df: pd.DataFrame, mask: np.ndarray, customer_col: str | None) -> str:
    """Describe up to five offending rows by row label and, if known, customer id."""
    rows = df.index[mask][:5].tolist()
    text = f"rows {rows}"
    if customer_col is not None and customer_col in df.columns:
        text += f" (customer ids {df[customer_col].to_numpy()[mask][:5].tolist()})"
    return text


def _no_missing(df: pd.DataFrame, table: str, col: str, missing: np.ndarray, customer_col: str | None,
                what: str, fix: str) -> None:
    """Raise a SchemaError locating the rows where ``missing`` is true, if any."""
    if missing.any():
        raise SchemaError(
            f"{table}.{col}: {int(missing.sum())} missing {what}(s) at "
            f"{_where(df, missing, customer_col)}. {fix}".rstrip()
        )


def date_column(
    df: pd.DataFrame,
    table: str,
    col: str,
    *,
    customer_col: str | None = None,
    allow_missing: bool,
    missing_hint: str = "",
) -> np.ndarray:
    """Return ``df[col]`` as a ``datetime64[us]`` array, checking it holds dates.

    Datetime columns are used as they are (timezone-aware ones are converted to
    UTC, then made naive, as the data layer does). Text columns are parsed as
    ISO 8601; a value that does not parse raises. Other dtypes raise.
    """
    s = df[col]
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(s.dtype):
        pass
    elif pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
        text = s.astype("string").str.strip()
        text = text.mask(text == "")
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        bad = (parsed.isna() & text.notna()).to_numpy()
        if bad.any():
            example = text.to_numpy()[bad][0]
            raise SchemaError(
                f"{table}.{col}: {int(bad.sum())} unparseable date(s) at "
                f"{_where(df, bad, customer_col)} (e.g. {example!r}). "
                "Use ISO 8601, e.g. '2024-03-31', or pass a datetime64 column."
            )
        s = parsed.dt.tz_localize(None)  # offsets → UTC; naive text is kept as written
    else:
        example = s.iloc[0]
        raise SchemaError(
            f"{table}.{col} must hold dates (datetime64); got dtype {s.dtype} "
            f"(e.g. {example!r}). Parse it first, e.g. "
            f"pd.to_datetime(df[{col!r}], format='%Y%m%d')."
        )
    values = s.to_numpy(dtype=_DT)
    if not allow_missing:
        _no_missing(df, table, col, np.isnat(values), customer_col, "date", missing_hint)
    return values


def contract_dates(
    df: pd.DataFrame, *, customer_col: str, signup_col: str, end_col: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signup and end dates of a customers table, and which customers are still active.

    Every customer needs a signup date; a missing end date (NaT) means still a
    customer. An end date before the signup date raises.
    """
    signup = date_column(
        df,
        "customers",
        signup_col,
        customer_col=customer_col,
        allow_missing=False,
        missing_hint="Every customer needs a signup date; fill or drop those rows.",
    )
    ended = date_column(df, "customers", end_col, customer_col=customer_col, allow_missing=True)
    active = np.isnat(ended)
    backwards = ~active & (ended < signup)
    if backwards.any():
        raise SchemaError(
            f"customers.{end_col}: {int(backwards.sum())} end date(s) before {signup_col} at "
            f"{_where(df, backwards, customer_col)}. Correct the dates or swap the column names."
        )
    return signup, ended, active


def numeric_column(
    df: pd.DataFrame,
    table: str,
    col: str,
    *,
    customer_col: str | None = None,
    allow_missing: bool = False,
    lower: float | None = None,
    upper: float | None = None,
) -> np.ndarray:
    """Return ``df[col]`` as float64, checking dtype, missing values and bounds."""
    s = df[col]
    if not (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)):
        raise SchemaError(
            f"{table}.{col} must be numeric; got dtype {s.dtype} (e.g. {s.iloc[0]!r}). "
            f"Convert it first, e.g. pd.to_numeric(df[{col!r}])."
        )
    values = s.to_numpy(dtype="float64", na_value=np.nan)
    if not allow_missing:
        _no_missing(df, table, col, np.isnan(values), customer_col, "value",
                    "Fill them (e.g. with 0 if the customer brings no revenue) or drop those rows.")
    with np.errstate(invalid="ignore"):
        out = np.zeros(len(values), dtype=bool)
        if lower is not None:
            out |= values < lower
        if upper is not None:
            out |= values > upper
    if out.any():
        bounds = f"[{lower if lower is not None else '-inf'}, {upper if upper is not None else 'inf'}]"
        raise SchemaError(
            f"{table}.{col}: {int(out.sum())} value(s) outside {bounds} at "
            f"{_where(df, out, customer_col)} (e.g. {values[out][0]!r}). Correct or drop those rows."
        )
    return values


def period_ordinal(values: np.ndarray, period: str) -> np.ndarray:
    """Ordinal of the calendar period holding each date (NaT gives an undefined value)."""
    months = values.astype("datetime64[M]").astype(np.int64)
    return months // PERIODS[period]


def ordinal_of(when: pd.Timestamp, period: str) -> int:
    """Ordinal of the calendar period holding one date."""
    return int(period_ordinal(np.array([when.asm8]), period)[0])


def ordinal_start(ordinals: np.ndarray | int, period: str) -> pd.DatetimeIndex:
    """First day of each period ordinal."""
    months = np.asarray(ordinals, dtype=np.int64) * PERIODS[period]
    return pd.DatetimeIndex(np.atleast_1d(months).astype("datetime64[M]").astype(_DT))


def to_timestamp(value: Any, name: str, *, func: str) -> pd.Timestamp | None:
    """Parse an optional ``start``/``end``/``as_of`` argument."""
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"The {name!r} parameter of {func} must be a date such as '2024-01-31'. Got {value!r} instead."
        ) from exc
    if pd.isna(ts):
        raise ValueError(f"The {name!r} parameter of {func} must be a date; got NaT.")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def ratio(num: np.ndarray, den: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``num / den`` where ``valid``, NaN elsewhere (no warnings)."""
    out = np.full(np.shape(num), np.nan)
    np.divide(num, den, out=out, where=valid)
    return out


def assemble(groups: Groups, k0: int, n: int, period: str, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Build the tidy period × group table from ``(groups, periods)`` arrays."""
    starts = ordinal_start(np.arange(k0, k0 + n), period)
    ends = ordinal_start(np.arange(k0 + 1, k0 + n + 1), period) - pd.Timedelta(days=1)
    head = pd.DataFrame(
        {"period_start": np.repeat(starts, groups.n), "period_end": np.repeat(ends, groups.n)}
    )
    body = pd.DataFrame({name: arr.T.ravel() for name, arr in columns.items()})
    return pd.concat([head, groups.tile(n), body], axis=1)


def period_range(first: int, last: int, start: Any, end: Any, period: str, *, func: str) -> tuple[int, int]:
    """Ordinal of the first period and number of periods to report."""
    start_ts = to_timestamp(start, "start", func=func)
    end_ts = to_timestamp(end, "end", func=func)
    k0 = first if start_ts is None else ordinal_of(start_ts, period)
    k1 = last if end_ts is None else ordinal_of(end_ts, period)
    if k1 < k0:
        raise ValueError(
            f"The 'end' parameter of {func} must not be before 'start'. "
            f"Got start={start!r}, end={end!r} instead."
        )
    return k0, k1 - k0 + 1


def counts(
    codes: np.ndarray, index: np.ndarray, shape: tuple[int, int], weights: Any = None
) -> np.ndarray:
    """2-D bincount: how many rows (or how much weight) fall in each (group, index) cell."""
    flat = codes * shape[1] + index
    return np.bincount(flat, weights=weights, minlength=shape[0] * shape[1]).reshape(shape)


class Groups:
    """Integer group codes for the rows of a frame, with the matching labels.

    Parameters
    ----------
    frame : DataFrame
        Table holding the ``by`` columns.
    by : list of str
        Grouping columns; empty means a single group.

    Notes
    -----
    Missing values form their own group (``dropna=False``), so no row is dropped.
    """

    def __init__(self, frame: pd.DataFrame, by: list[str]) -> None:
        self.by = by
        self.codes: np.ndarray
        if not by:
            self.codes = np.zeros(len(frame), dtype=np.int64)
            self.n = 1
            self.labels: pd.DataFrame = pd.DataFrame(index=pd.RangeIndex(1))
            return
        gb = frame.groupby(by, dropna=False, sort=True, observed=True)
        self.codes = gb.ngroup().to_numpy(dtype=np.int64)
        sizes = gb.size()
        self.n = len(sizes)
        self.labels = sizes.index.to_frame(index=False)
        self.labels.columns = by

    def tile(self, n_periods: int) -> pd.DataFrame:
        """Group labels repeated for each of ``n_periods`` (period-major order)."""
        idx = np.tile(np.arange(self.n), n_periods)
        return self.labels.iloc[idx].reset_index(drop=True)


def by_columns(by: str | Sequence[str] | None) -> list[str]:
    """Normalise a ``by`` argument to a list of column names."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    out = list(by)
    if not all(isinstance(b, str) for b in out):
        raise ValueError(f"The 'by' parameter must be a column name or a list of names; got {by!r}.")
    return out
