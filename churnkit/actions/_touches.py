"""Short descriptions of each customer's last contact and last feedback before a date."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import Coded, coded_words, combine_coded, require_columns, str_take
from churnkit.exceptions import SchemaError

__all__ = ["describe_last_contact", "describe_last_feedback", "last_contact_words",
           "last_feedback_words"]

_CONTACT_DETAILS = ("channel", "topic", "direction", "outcome")
_SPACES = re.compile(r"\s+")


def _latest_before(
    events: pd.DataFrame, as_of: Any, name: str, customer_col: str, time_col: str,
    columns: tuple[str, ...] = (), *, by_time: bool = True,
) -> pd.DataFrame:
    """Return the latest event per customer strictly before ``as_of``: its ``columns`` that exist."""
    require_columns(events, [customer_col, time_col], table=name,
                    fix="Pass customer_col= / time_col= if they are named differently.")
    events = events[list(dict.fromkeys(
        [customer_col, time_col, *(c for c in columns if c in events.columns)]))]
    times = events[time_col]
    try:
        cutoff = pd.Timestamp(as_of)
        if not pd.api.types.is_datetime64_any_dtype(times):
            times = pd.to_datetime(times, format="ISO8601")
    except (TypeError, ValueError) as exc:
        raise SchemaError(
            f"{name}.{time_col} or as_of is not a date ({exc}). Use ISO 8601, e.g. '2024-03-31'."
        ) from exc
    last = _last_rows_if_sorted(events[customer_col], times, cutoff, by_time=by_time)
    if last is not None:  # rows already grouped by customer, in time order (as loaded)
        latest = events.iloc[last].assign(_t=times.iloc[last])
    else:
        before = events.assign(_t=times)[times < cutoff]
        latest = before.sort_values("_t", kind="stable").drop_duplicates(customer_col, keep="last")
    days = latest["_t"].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    return latest.assign(_day=days.view(np.int64)).set_index(customer_col)


def _last_rows_if_sorted(customers: pd.Series, times: pd.Series, cutoff: pd.Timestamp, *,
                         by_time: bool = True) -> np.ndarray | None:
    """Positions of each customer's last row before ``cutoff``, when the table allows it cheaply.

    Loaded event tables are grouped by customer and in time order within each
    customer (:func:`churnkit.load_dataset` sorts them); checking that takes one
    pass. The last row before ``cutoff`` of each customer is then the end of the
    prefix of its rows before ``cutoff``: no sort of the whole table is needed.
    The positions come ordered by time, ties by position, which is the order of a
    stable sort by time followed by ``drop_duplicates(keep="last")``. Returns
    ``None`` when the table is not in that order (or has missing ids). Without
    ``by_time`` the positions come in table order (customer by customer).
    """
    if isinstance(customers.dtype, pd.CategoricalDtype):
        codes = customers.cat.codes.to_numpy()
    else:
        codes = pd.factorize(customers.to_numpy(), use_na_sentinel=True)[0]
    n = len(codes)
    if n == 0 or (codes < 0).any():
        return None
    t = times.to_numpy(dtype="datetime64[ns]").view(np.int64)
    change = codes[1:] != codes[:-1]
    if not (change | (t[1:] >= t[:-1])).all():  # time order within each customer
        return None
    heads = codes[np.r_[True, change]]  # each customer in one run of rows:
    if np.bincount(heads).max() > 1:  # no customer heads two runs
        return None
    before = (times < cutoff).to_numpy()
    last = before & np.r_[change | ~before[1:], True]
    rows = np.flatnonzero(last)
    return rows[np.argsort(t[rows], kind="stable")] if by_time else rows


def _day_words(latest: pd.DataFrame) -> Coded:
    """Each row's day (``_day``, days since 1970) as ISO 8601 text."""
    return coded_words(latest["_day"].to_numpy(),
                       lambda d: str(np.datetime64(int(d), "D")))


def _text_words(column: pd.Series, fn: Any = None) -> Coded:
    """A column's values as stripped text (then ``fn``), missing where empty."""
    def word(v: Any) -> str | None:
        text = str(v).strip()
        return (text if fn is None else fn(text)) if text else None

    return coded_words(column.to_numpy(dtype=object), word)


def last_contact_words(contacts: pd.DataFrame, as_of: Any, *, customer_col: str = "customer_id",
                       time_col: str = "timestamp", by_time: bool = True
                       ) -> tuple[pd.Index, Coded]:
    """:func:`describe_last_contact` as the customers and their texts coded.

    Without ``by_time`` the customers may come in any order (faster).
    """
    latest = _latest_before(contacts, as_of, "contacts", customer_col, time_col,
                            _CONTACT_DETAILS, by_time=by_time)
    details = [_text_words(latest[c]) for c in _CONTACT_DETAILS if c in latest.columns]

    def text(day: str, *words: str | None) -> str:
        shown = [w for w in words if w is not None]
        return f"{day}: {', '.join(shown)}" if shown else day

    return latest.index, combine_coded([_day_words(latest), *details], text)


def last_feedback_words(feedback: pd.DataFrame, as_of: Any, *,  # noqa: PLR0913
                        customer_col: str = "customer_id", time_col: str = "timestamp",
                        score_col: str = "score", comment_col: str = "comment",
                        max_comment: int = 80, by_time: bool = True
                        ) -> tuple[pd.Index, Coded]:
    """:func:`describe_last_feedback` as the customers and their texts coded.

    Without ``by_time`` the customers may come in any order (faster).
    """
    latest = _latest_before(feedback, as_of, "feedback", customer_col, time_col,
                            (score_col, comment_col), by_time=by_time)
    parts = [_day_words(latest)]
    scored = score_col in latest.columns
    if scored:
        score = pd.to_numeric(latest[score_col], errors="coerce").to_numpy(dtype=float)
        parts.append(coded_words(score, lambda v: f"score {v:g}"))
    commented = comment_col in latest.columns
    if commented:
        def shortened(text: str) -> str:
            text = _SPACES.sub(" ", text)
            return text if len(text) <= max_comment else text[:max_comment - 3].rstrip() + "..."

        parts.append(_text_words(latest[comment_col], shortened))

    def text(day: str, *words: str | None) -> str:
        rest = list(words)
        said = (rest.pop(0) or "survey not answered") if scored else "feedback received"
        comment = rest.pop(0) if commented else None
        return f'{day}: {said} "{comment}"' if comment is not None else f"{day}: {said}"

    return latest.index, combine_coded(parts, text)


def describe_last_contact(
    contacts: pd.DataFrame,
    as_of: Any,
    *,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
) -> pd.Series:
    """Describe each customer's last contact before ``as_of``.

    Parameters
    ----------
    contacts : DataFrame
        Contact events with ``customer_id``, ``timestamp`` and optionally
        ``channel``, ``topic``, ``direction``, ``outcome``.
    as_of : date-like
        Only contacts strictly before this moment count.

    Returns
    -------
    Series of str
        Indexed by customer id, named ``last_contact``, e.g.
        ``"2024-03-12: phone, billing, inbound"``. Customers without a contact
        before ``as_of`` are absent.
    """
    customers, coded = last_contact_words(contacts, as_of, customer_col=customer_col,
                                          time_col=time_col)
    return pd.Series(str_take(coded.words, coded.codes), index=customers,
                     name="last_contact").rename_axis("customer_id")


def describe_last_feedback(
    feedback: pd.DataFrame,
    as_of: Any,
    *,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
    score_col: str = "score",
    comment_col: str = "comment",
    max_comment: int = 80,
) -> pd.Series:
    """Describe each customer's last feedback before ``as_of``.

    Parameters
    ----------
    feedback : DataFrame
        Survey events with ``customer_id``, ``timestamp``, ``score`` (missing
        when the survey went unanswered) and optionally ``comment``.
    as_of : date-like
        Only feedback strictly before this moment counts.
    max_comment : int, default 80
        Longer comments are cut to this many characters.

    Returns
    -------
    Series of str
        Indexed by customer id, named ``last_feedback``, e.g.
        ``'2024-02-01: score 3 "Too expensive"'`` or
        ``"2024-02-01: survey not answered"``.
    """
    customers, coded = last_feedback_words(
        feedback, as_of, customer_col=customer_col, time_col=time_col, score_col=score_col,
        comment_col=comment_col, max_comment=max_comment)
    return pd.Series(str_take(coded.words, coded.codes), index=customers,
                     name="last_feedback").rename_axis("customer_id")
