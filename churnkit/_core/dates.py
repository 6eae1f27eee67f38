"""The point in time a job works at: one parser for every ``as_of`` a user gives."""

from __future__ import annotations

import pandas as pd

from churnkit.exceptions import ConfigError

__all__ = ["resolve_as_of"]


def resolve_as_of(as_of: str | pd.Timestamp | None, end: pd.Timestamp, *,
                  start: pd.Timestamp | None = None) -> pd.Timestamp:
    """The point in time to score at: ``as_of`` parsed, or the end of the data.

    A date outside the event data is refused rather than warned about: after
    ``end`` no event is seen (events from then on are rejected), before ``start``
    (the first event day) none exists yet, so every customer would look silent
    and the lists would be wrong without any visible sign.

    Raises
    ------
    ConfigError
        For text that is no date, a date with a time zone, or a date after
        ``end`` or on or before ``start``.
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
    if when > end:
        raise ConfigError(
            f"as_of: {when.date()} is after the end of the data ({end.date()}); events from "
            "then on are not in the data, so every customer would look inactive. Give a date "
            f"on or before {end.date()} (or leave as_of out to use the end of the data), or set "
            "data.end in the config if the data really runs later."
        )
    if start is not None and when <= start:
        raise ConfigError(
            f"as_of: {when.date()} is on or before the first event ({start.date()}); no event "
            f"would be seen. Give a date after {start.date()}."
        )
    return when
