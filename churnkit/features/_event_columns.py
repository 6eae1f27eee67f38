"""The columns an event table gains before aggregation, and the coding of its values.

Each kind adds its own columns to the rows of its table: contacts an
``inbound``/``outbound`` direction, ``unresolved`` and ``complaint`` flags;
feedback ``answered``/``unanswered``, one score column per survey, the NPS
``detractor``/``passive``/``promoter`` classes and, with five-point (CSAT)
answers, ``dissatisfied``/``satisfied`` over every survey; transactions a ``price_rise``
flag. :func:`_derive` builds them as float arrays aligned with the table's rows,
:class:`EventFeatures` then aggregates them like the table's own columns. Values
are coded once per column (:class:`_Codes`) and category values and column names
become parts of feature names LightGBM can store (:func:`_clean`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from churnkit.features._kernel import nanoseconds, rises, segments

__all__ = ["PRICE_RISE", "Groups", "event_groups"]

Groups = tuple[np.ndarray | None, np.ndarray]
"""``(order, lo)`` of :func:`~churnkit.features._kernel.segments`: the permutation that groups
an event table by customer and time (``None``: already grouped) and where each customer's
events start in that order."""

#: An amount at least this much (as a share) above the customer's previous positive amount
#: of the same kind is a price rise (transactions' ``price_rise`` boolean)
PRICE_RISE = 0.10
# characters LightGBM rejects in feature names, or writes unescaped into its JSON dump
# (backslash, control characters): each becomes "_" (names made equal are told apart by
# _dedupe), so that any category value or column name gives a usable feature name
_BAD_NAME_CHARS = str.maketrans(dict.fromkeys(
    '[]{}",:\\' + "".join(map(chr, [*range(0x20), *range(0x7F, 0xA0)])), "_"))


def _factorize(values: pd.Series, *, strip: bool = True) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (-1 for missing) and the distinct values as stripped strings.

    Works on the few distinct values instead of every row, so text columns of
    tens of millions of rows cost one hashing pass (none for ``category`` columns).
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        uniques = values.cat.categories
    else:
        codes, uniques = pd.factorize(values, sort=False)
    if not strip:
        return codes, pd.Index(uniques)
    names = pd.Index([str(u).strip() for u in uniques], dtype=object)
    return codes, names


class _Codes:
    """Factorised columns of one event table, each column factorised at most once."""

    def __init__(self, events: pd.DataFrame) -> None:
        self.events = events
        self.done: dict[str, tuple[np.ndarray, pd.Index]] = {}

    def __call__(self, col: str) -> tuple[np.ndarray, pd.Index]:
        if col not in self.done:
            self.done[col] = _factorize(self.events[col])
        return self.done[col]

def _text_flag(coded: tuple[np.ndarray, pd.Index], test: Any) -> np.ndarray:
    """1/0 per row of ``test(lowercased distinct value)``; NaN where missing (float32: exact)."""
    codes, names = coded
    flags = np.array([float(test(n.lower())) for n in names] + [np.nan], dtype=np.float32)
    return flags[codes]


def _clean(value: object) -> str:
    r"""A category value or column name as a part of a feature name LightGBM can store.

    Examples
    --------
    >>> _clean("web\\chat"), _clean("billing\tquestion"), _clean("a:b")
    ('web_chat', 'billing_question', 'a_b')
    """
    return str(value).translate(_BAD_NAME_CHARS)


def _derive(events: pd.DataFrame, kind: str, columns: dict[str, str], roles: dict[str, str],
            nps_classes: bool | None = None, codes: _Codes | None = None,
            groups: Groups | None = None, five_point_classes: bool | None = None,
            ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The kind-specific derived columns (booleans such as ``unresolved``) and all types.

    Returns the derived columns as float arrays aligned with ``events`` (NaN
    missing; flags as float32, which holds 0/1 exactly) and the column types
    with the derived columns added. ``groups`` is ``(order, lo)`` of
    :func:`~churnkit.features._kernel.segments` on ``events`` when the caller
    has it already; otherwise it is found when a column needs it.
    ``nps_classes`` and ``five_point_classes`` say whether feedback gets the NPS
    classes and the satisfied/dissatisfied classes (``None``: decided from
    ``events``, as when fitting).
    """
    ev = events
    coded = codes if codes is not None else _Codes(ev)
    types = dict(columns)
    derived: dict[str, np.ndarray] = {}
    if kind == "contacts":
        if "direction" in roles:
            d = coded(roles["direction"])
            derived["inbound"] = _text_flag(d, lambda v: v.startswith("in"))
            derived["outbound"] = _text_flag(d, lambda v: v.startswith("out"))
        if "resolved" in roles:
            derived["unresolved"] = 1.0 - ev[roles["resolved"]].astype("float64").to_numpy()
        if "topic" in roles:
            derived["complaint"] = _text_flag(coded(roles["topic"]), lambda v: "complain" in v)
    elif kind == "transactions" and "amount" in roles:
        derived["price_rise"] = _price_rise(ev, roles, coded, groups)
    elif kind == "feedback" and "score" in roles:
        derived.update(_answer_classes(ev, roles, coded, types, nps_classes, five_point_classes))
    for name in derived:
        types.setdefault(name, "boolean")
    return derived, types


def _answer_classes(ev: pd.DataFrame, roles: dict[str, str], coded: _Codes, types: dict[str, str],
                    nps_classes: bool | None, five_point_classes: bool | None,
                    ) -> dict[str, np.ndarray]:
    """Feedback's derived columns; ``types`` loses the score column split by survey.

    ``answered``/``unanswered``; one score column per survey (``nps``, ``csat``...);
    the NPS classes ``detractor`` (0-6), ``passive`` (7-8) and ``promoter`` (9-10);
    and, where answers on a five-point scale exist (a survey named like ``csat``,
    or a score column without survey types whose answers are all 1-5),
    ``dissatisfied`` (NPS detractor or 1-2 out of 5) and ``satisfied`` (NPS
    promoter or 4-5 out of 5): one reading of every answer, whichever survey
    asked it. Without five-point answers they would repeat ``detractor`` and
    ``promoter``, and are not made.
    """
    score = ev[roles["score"]].astype("float64").to_numpy()
    missing = np.isnan(score)
    derived: dict[str, np.ndarray] = {
        "answered": (~missing).astype(np.float32),
        "unanswered": missing.astype(np.float32),
    }
    nps = score
    five = np.full(len(score), np.nan)
    if "survey" in roles:
        survey, names = coded(roles["survey"])
        lowered = [n.lower() for n in names]
        distinct = sorted(set(lowered))
        # each row's survey among the distinct lower-cased names (-1: none), in one pass
        which = np.array([distinct.index(n) for n in lowered] + [-1], dtype=np.int32)[survey]
        for k, name in enumerate(distinct):
            key = _clean(name).replace(" ", "_")
            derived[key] = np.where(which == k, score, np.nan)
            types[key] = "numeric"
            if name == "nps":
                nps = derived[key]
            elif "csat" in name:
                five = np.where(which == k, score, five)
        if "nps" not in lowered:
            nps = np.full(len(score), np.nan)
        types.pop(roles["score"], None)
    answered = ~np.isnan(nps)
    if nps_classes is None:
        nps_classes = bool(answered.any() and np.max(nps[answered]) > 5)
    if "survey" not in roles:
        # one unnamed scale: 0-10 answers are NPS, 1-5 answers a five-point scale
        five = score if not nps_classes else five
    rated = ~np.isnan(five)
    if five_point_classes is None:
        five_point_classes = bool(rated.any() and np.min(five[rated]) >= 1 and np.max(five[rated]) <= 5)
    nan = np.float32(np.nan)
    if nps_classes:
        derived["detractor"] = np.where(answered, (nps <= 6).astype(np.float32), nan)
        derived["passive"] = np.where(answered, ((nps >= 7) & (nps <= 8)).astype(np.float32), nan)
        derived["promoter"] = np.where(answered, (nps >= 9).astype(np.float32), nan)
    if five_point_classes:
        on_nps = answered if nps_classes else np.zeros(len(score), dtype=bool)
        either = on_nps | rated
        derived["dissatisfied"] = np.where(
            either, np.where(on_nps, nps <= 6, five <= 2).astype(np.float32), nan)
        derived["satisfied"] = np.where(
            either, np.where(on_nps, nps >= 9, five >= 4).astype(np.float32), nan)
    return derived


def _price_rise(ev: pd.DataFrame, roles: dict[str, str], coded: _Codes,
                groups: Groups | None = None) -> np.ndarray:
    """1 where a positive amount is ``PRICE_RISE`` above the previous one of its customer and kind.

    0 for a customer's first positive amount of a kind, NaN for amounts that are
    not positive (credits, refunds). Each row looks only at rows before it in time.
    """
    amount = ev[roles["amount"]].astype("float64").to_numpy()
    order, lo = groups if groups is not None else event_groups(ev)
    a = amount if order is None else amount[order]
    type_col = roles.get("type")
    if type_col is not None:
        codes = coded(type_col)[0]
        codes = codes if order is None else codes[order]
        kinds = codes.astype(np.int64) + 1  # 0: no type
        n_kinds = int(kinds.max()) + 1 if len(kinds) else 1
    else:
        kinds, n_kinds = np.zeros(len(a), dtype=np.int64), 1
    rise = rises(a, kinds, np.asarray(lo, dtype=np.int64), n_kinds, 1.0 + PRICE_RISE)
    if order is not None:
        unsorted = np.empty_like(rise)
        unsorted[order] = rise
        rise = unsorted
    return rise


def event_groups(ev: pd.DataFrame) -> Groups:
    """``(order, lo)`` of :func:`~churnkit.features._kernel.segments` on the event table ``ev``."""
    order, _, lo, _, _ = segments(ev["customer_id"], nanoseconds(ev["timestamp"]))
    return order, lo
