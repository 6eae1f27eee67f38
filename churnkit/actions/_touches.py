"""Short descriptions of each customer's last contact and last feedback before a date."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import STR_DTYPE, per_distinct, require_columns
from churnkit.exceptions import SchemaError

__all__ = ["describe_last_contact", "describe_last_feedback"]

_CONTACT_DETAILS = ("channel", "topic", "direction", "outcome")
_SPACES = re.compile(r"\s+")


def _latest_before(
    events: pd.DataFrame, as_of: Any, name: str, customer_col: str, time_col: str
) -> pd.DataFrame:
    """Return the latest event per customer strictly before ``as_of``."""
    require_columns(events, [customer_col, time_col], table=name,
                    fix="Pass customer_col= / time_col= if they are named differently.")
    times = events[time_col]
    try:
        cutoff = pd.Timestamp(as_of)
        if not pd.api.types.is_datetime64_any_dtype(times):
            times = pd.to_datetime(times, format="ISO8601")
    except (TypeError, ValueError) as exc:
        raise SchemaError(
            f"{name}.{time_col} or as_of is not a date ({exc}). Use ISO 8601, e.g. '2024-03-31'."
        ) from exc
    last = _last_rows_if_sorted(events[customer_col], times, cutoff)
    if last is not None:  # rows already grouped by customer, in time order (as loaded)
        latest = events.iloc[last].assign(_t=times.iloc[last])
    else:
        before = events.assign(_t=times)[times < cutoff]
        latest = before.sort_values("_t", kind="stable").drop_duplicates(customer_col, keep="last")
    days = latest["_t"].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    return latest.assign(_date=days.astype(str)).set_index(customer_col)


def _last_rows_if_sorted(customers: pd.Series, times: pd.Series, cutoff: pd.Timestamp
                         ) -> np.ndarray | None:
    """Positions of each customer's last row before ``cutoff``, when the table allows it cheaply.

    Loaded event tables are grouped by customer and in time order within each
    customer (:func:`churnkit.load_dataset` sorts them); checking that takes one
    pass. The last row before ``cutoff`` of each customer is then the end of the
    prefix of its rows before ``cutoff``: no sort of the whole table is needed.
    The positions come ordered by time, ties by position, which is the order of a
    stable sort by time followed by ``drop_duplicates(keep="last")``. Returns
    ``None`` when the table is not in that order (or has missing ids).
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
    return rows[np.argsort(t[rows], kind="stable")]


def _text(column: pd.Series) -> pd.Series:
    out = column.astype(STR_DTYPE).str.strip()
    return out.where(out.notna() & (out != ""), np.nan)


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
    latest = _latest_before(contacts, as_of, "contacts", customer_col, time_col)
    text = latest["_date"].astype(STR_DTYPE)
    joined: pd.Series = pd.Series(np.nan, index=latest.index, dtype=STR_DTYPE)
    for column in _CONTACT_DETAILS:
        if column in latest.columns:
            detail = _text(latest[column])
            joined = joined.where(detail.isna(), (joined + ", " + detail).fillna(detail))
    text = text.where(joined.isna(), text + ": " + joined)
    return text.rename("last_contact").rename_axis("customer_id")


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
    latest = _latest_before(feedback, as_of, "feedback", customer_col, time_col)
    text = latest["_date"].astype(STR_DTYPE) + ": "
    if score_col in latest.columns:
        score = pd.to_numeric(latest[score_col], errors="coerce").to_numpy(dtype=float)
        worded = pd.Series(per_distinct(score, lambda v: f"score {v:g}"), index=latest.index,
                           dtype=STR_DTYPE)
        text = text + worded.fillna("survey not answered")
    else:
        text = text + "feedback received"
    if comment_col in latest.columns:
        def shortened(text: str) -> str:
            text = _SPACES.sub(" ", text)
            return text if len(text) <= max_comment else text[:max_comment - 3].rstrip() + "..."

        comment = _text(latest[comment_col])
        comment = pd.Series(per_distinct(comment.to_numpy(dtype=object), shortened),
                            index=latest.index, dtype=STR_DTYPE)
        text = text.where(comment.isna(), text + ' "' + comment + '"')
    return text.rename("last_feedback").rename_axis("customer_id")
