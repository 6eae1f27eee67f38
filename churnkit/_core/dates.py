"""The point in time a job works at: one parser for every ``as_of`` a user gives."""

from __future__ import annotations

import pandas as pd

from churnkit.exceptions import ConfigError

__all__ = ["resolve_as_of"]


def resolve_as_of(as_of: str | pd.Timestamp | None, end: pd.Timestamp) -> pd.Timestamp:
    """The point in time to score at: ``as_of`` parsed, or the end of the data.

    Raises
    ------
    ConfigError
        For text that is no date, or a date with a time zone.
    """
    if as_of is None:
        return end
    try:
        when = pd.Timestamp(as_of)
    except (TypeError, ValueError):
        raise ConfigError(
            f"as_of: {str(as_of)[:40]!r} is not a date. Give it as YYYY-MM-DD, e.g. '2025-06-01'."
        ) from None
    if pd.isna(when):
        raise ConfigError("as_of: a date is needed, got a missing value. Give YYYY-MM-DD.")
    if when.tzinfo is not None:
        raise ConfigError(
            f"as_of: {str(as_of)!r} has a time zone; churnkit's dates have none. "
            "Give the local date, e.g. '2025-06-01'."
        )
    return when
