"""Foundations of the configuration sections: the strict model, dates and date formats."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator

from churnkit._core import StrictModel, short_repr

__all__ = ["Day"]


class _Model(StrictModel):
    """Frozen, and unknown keys are errors."""


def _check_date_format(value: str) -> str:
    """``DMY``/``MDY`` (any case) or a ``strptime`` pattern with a year, month and day."""
    if value.upper() in {"DMY", "MDY"}:
        return value.upper()
    sample = datetime(2024, 3, 31, 13, 45, 30)
    ok = "%" in value and any(y in value for y in ("%Y", "%y"))
    if ok:
        try:
            ok = datetime.strptime(sample.strftime(value), value).date() == sample.date()
        except ValueError:
            ok = False
    if not ok:
        raise ValueError(
            f"date_format {short_repr(value, 60)} is neither DMY, MDY nor a strptime pattern "
            "with year, month and day such as '%d.%m.%Y'"
        )
    return value


_FIRST_DAY, _LAST_DAY = date(1678, 1, 1), date(2261, 12, 31)  # what pandas times can hold
_MAX_DAYS = 36_500  # a horizon, window or lookback of at most a hundred years


def _in_time_range(day: date) -> date:
    if not _FIRST_DAY <= day <= _LAST_DAY:
        raise ValueError(
            f"{day.isoformat()} is outside the dates churnkit can work with "
            f"({_FIRST_DAY.year}-{_LAST_DAY.year}); give a date near your data"
        )
    return day


Day = Annotated[date, AfterValidator(_in_time_range)]
"""A calendar date within the range pandas timestamps can hold."""
