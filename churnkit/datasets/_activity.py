"""Monthly events of the simulated customers: invoices, usage, contacts, surveys.

Each ``draw_*`` function draws one kind of event for the customers alive in a
month, from their hidden state, appends the rows to the simulation's buffers
and updates the state the events change (open issues, last outbound touch,
last survey answer). Rows are not yet cut to each customer's life: events on
or after a churn date are dropped when the tables are assembled.

Arguments shared by the functions: ``s`` the simulation, ``m`` the month
number, ``t0``/``t1`` its start and end (seconds), ``a`` the positions of the
customers alive in the month and ``ws`` when each one's window starts
(the month start or, in the month of signup, the signup date).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from churnkit.datasets import _vocab

if TYPE_CHECKING:
    from churnkit.datasets._simulate import Simulation

__all__ = [
    "CHANNELS",
    "DAY",
    "DIRECTIONS",
    "HOUR",
    "KINDS",
    "NEVER",
    "SURVEYS",
    "TOPICS",
    "Buffer",
    "day_in",
    "draw_billing",
    "draw_contacts",
    "draw_feedback",
    "draw_onboarding",
    "draw_usage",
    "pick",
    "pick_rows",
]

DAY = 86_400
HOUR = 3_600
NEVER = -(10**9)  # "no such month" for month-valued state

CHANNELS = ("phone", "email", "chat", "ticket", "visit")
DIRECTIONS = ("inbound", "outbound")
TOPICS = ("billing", "technical", "onboarding", "account", "complaint", "renewal", "check-in")
SURVEYS = ("nps", "csat")
KINDS = ("invoice", "credit")
_VISIT = CHANNELS.index("visit")
_BILLING, _TECHNICAL, _ONBOARDING, _ACCOUNT, _COMPLAINT, _RENEWAL, _CHECK_IN = range(len(TOPICS))

_ROUTINE_RATE = np.array([0.22, 0.3, 0.45])  # routine inbound contacts per month, by segment
_CHECK_IN_CHANNEL_P = np.array(
    [[0.55, 0.40, 0.0, 0.0, 0.05], [0.50, 0.35, 0.0, 0.0, 0.15], [0.45, 0.25, 0.0, 0.0, 0.30]]
)
# Log-normal handling time per channel: log of the median minutes, and spread.
_DURATION_MEDIAN = np.log([9.0, 4.0, 7.0, 18.0, 60.0])
_DURATION_SIGMA = np.array([0.6, 0.4, 0.5, 0.7, 0.35])
_PROBLEM_NOTES = [
    "technical-resolved",
    "complaint-resolved",
    "billing-resolved",
    "technical-open",
    "complaint-open",
    "billing-open",
]


def pick(rng: np.random.Generator, p: list[float], size: int) -> np.ndarray:
    """Draw ``size`` category codes with probabilities ``p``."""
    return rng.choice(len(p), size=size, p=p).astype(np.int8)


def pick_rows(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """Draw one category code per row of the probability matrix ``p``."""
    u = rng.random(len(p))
    cum = np.cumsum(p, axis=1)
    return np.minimum((u[:, None] >= cum).sum(axis=1), p.shape[1] - 1).astype(np.int8)


def day_in(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray | int) -> np.ndarray:
    """Draw the midnight of a random day in ``[lo, hi)`` (both at midnight, ``hi > lo``)."""
    days = (hi - lo) // DAY
    return lo + np.floor(rng.random(len(lo)) * days).astype(np.int64) * DAY


def _office_time(rng: np.random.Generator, day: np.ndarray) -> np.ndarray:
    """Draw a time between 08:00 and 18:00 on each day (given at midnight)."""
    return day + 8 * HOUR + np.floor(rng.random(len(day)) * 10 * HOUR).astype(np.int64)


def _notes(rng: np.random.Generator, keys: list[str], group: np.ndarray | int, k: int) -> np.ndarray:
    group = np.broadcast_to(np.asarray(group, dtype=np.int64), (k,))
    return _vocab.group_codes(rng, _vocab.NOTE_GROUPS, keys, group)


class Buffer:
    """Column chunks of one event table, concatenated at the end."""

    def __init__(self, *names: str) -> None:
        self.chunks: dict[str, list[np.ndarray]] = {name: [] for name in names}

    def add(self, **columns: np.ndarray) -> None:
        """Append one chunk of every column."""
        for name, chunk in self.chunks.items():
            chunk.append(columns[name])

    def concat(self) -> dict[str, np.ndarray]:
        """Return the columns, releasing the chunks as they are joined."""
        return {name: np.concatenate(self.chunks.pop(name)) for name in list(self.chunks)}


def _add_contacts(
    s: Simulation,
    idx: np.ndarray,
    ts: np.ndarray,
    channel: np.ndarray,
    outbound: np.ndarray | bool,
    topic: np.ndarray | int,
    resolved: np.ndarray | bool,
    note: np.ndarray,
) -> None:
    rng, k = s.rng, idx.size
    duration = rng.lognormal(_DURATION_MEDIAN[channel], _DURATION_SIGMA[channel])
    duration = np.round(np.where(resolved, duration, duration * 1.4), 1)
    support = s.n_managers + rng.integers(0, s.n_agents, k)
    s.contacts.add(
        idx=idx.astype(np.int32),
        ts=ts,
        channel=channel.astype(np.int8),
        direction=np.broadcast_to(outbound, (k,)).astype(np.int8),
        topic=np.broadcast_to(np.asarray(topic, dtype=np.int8), (k,)).copy(),
        resolved=np.broadcast_to(resolved, (k,)).copy(),
        duration=duration,
        agent=np.where(outbound, s.manager[idx], support).astype(np.int16),
        note=note,
    )


def draw_onboarding(s: Simulation, new: np.ndarray) -> None:
    """Draw the onboarding contacts of the first 90 days of customers signing up now."""
    rng = s.rng
    poor = s.poor_onboarding[new]
    k = np.where(poor, rng.random(new.size) < 0.35, 1 + rng.poisson(1.8, new.size))
    idx = np.repeat(new, k)
    poor = np.repeat(poor, k)
    rank = np.arange(idx.size) - np.repeat(np.cumsum(k) - k, k)
    kickoff = (rank == 0) & ~poor  # well-run onboardings start within days
    lo = np.where(kickoff, 0, np.where(poor, 15, 7))
    hi = np.where(kickoff, 5, 85)
    day = lo + np.floor(rng.random(idx.size) * (hi - lo)).astype(np.int64)
    ts = _office_time(rng, s.signup[idx] + day * DAY)
    outbound = kickoff | (rng.random(idx.size) < 0.6)
    channel = pick(rng, [0.4, 0.25, 0.15, 0.0, 0.2], idx.size)
    note = _notes(rng, ["onboarding"], 0, idx.size)
    _add_contacts(s, idx, ts, channel, outbound, _ONBOARDING, True, note)
    np.maximum.at(s.last_outbound, idx[outbound], ts[outbound])


def draw_billing(s: Simulation, m: int, t0: int, t1: int, a: np.ndarray, ws: np.ndarray) -> None:
    """Draw invoices, billing complaints after price increases, and goodwill credits."""
    rng = s.rng
    day = t0 + s.bill_day[a] * DAY
    billed = day >= ws
    recorded = t1 > 0  # invoices of the burn-in are never seen
    if recorded:
        i = a[billed]
        amount = np.round(s.value[i] * s.price[i] * (1 + rng.normal(0, 0.01, i.size)), 2)
        kind = np.zeros(i.size, np.int8)
        s.transactions.add(idx=i.astype(np.int32), ts=day[billed] + 2 * HOUR, amount=amount, kind=kind)

    # An invoice that jumps often brings a billing complaint within days.
    upset = billed & (s.shock_month[a] == m) & (rng.random(a.size) < 0.45)
    i, day = a[upset], day[upset]
    ts = _office_time(rng, day_in(rng, day, day + np.minimum(10 * DAY, t1 - day)))
    resolved = rng.random(i.size) < 0.45
    channel = pick(rng, [0.5, 0.3, 0.0, 0.2, 0.0], i.size)
    note = _notes(rng, ["price-resolved", "price-open"], ~resolved, i.size)
    _add_contacts(s, i, ts, channel, False, _BILLING, resolved, note)
    s.count_unresolved(m, i[~resolved])

    # Goodwill credits (negative amounts), mostly after unresolved problems.
    if recorded:
        had_open = s.unresolved[(m - 1) % 3, a] > 0
        credit = rng.random(a.size) < 0.006 + 0.2 * had_open
        i = a[credit]
        s.transactions.add(
            idx=i.astype(np.int32),
            ts=_office_time(rng, day_in(rng, ws[credit], t1)),
            amount=-np.round(s.value[i] * rng.uniform(0.1, 0.5, i.size), 2),
            kind=np.ones(i.size, np.int8),
        )


def draw_usage(s: Simulation, t0: int, t1: int, a: np.ndarray, ws: np.ndarray) -> None:
    """Draw one usage row per month, or two (days 1-14 and the rest) for larger customers.

    A row is stamped 23:00 on the last day of the period it covers.
    """
    if t1 <= 0:  # burn-in: usage rows are never seen
        return
    rng = s.rng
    mid = t0 + 14 * DAY
    bi = s.biweekly[a]
    for i, w, ps, pe in ((a, ws, t0, np.where(bi, mid, t1)), (a[bi], ws[bi], mid, t1)):
        active = pe - np.maximum(ps, w)
        keep = active > 0
        i, pe, share = i[keep], np.broadcast_to(pe, keep.shape)[keep], active[keep] / (t1 - t0)
        mean = s.logins_base[i] * s.level[i] * share * rng.gamma(40.0, 1 / 40, i.size)
        logins = rng.poisson(mean)
        per_login = s.minutes_per_login[i] * rng.lognormal(0, 0.2, i.size)
        minutes = np.round(logins * per_login, 1)
        s.usage.add(idx=i.astype(np.int32), ts=pe - HOUR, logins=logins, minutes=minutes)


def draw_contacts(
    s: Simulation, m: int, t0: int, t1: int, a: np.ndarray, ws: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw check-ins, renewal calls, routine questions, problems and follow-ups.

    Returns
    -------
    tuple of ndarray
        Customer, time and "left unresolved" flag of the CSAT surveys sent
        after problem contacts.
    """
    rng = s.rng
    seg = s.segment[a]

    # Outbound check-ins on the customer's cadence, occasional ones when neglected.
    covered = s.covered[a]
    u = rng.random(a.size)
    due = covered & ((m - s.phase[a]) % s.cadence[a] == 0)
    due &= u < s.manager_diligence[s.manager[a]]
    due |= ~covered & (u < 0.03)
    i = a[due]
    ts = _office_time(rng, day_in(rng, ws[due], t1))
    channel = pick_rows(rng, _CHECK_IN_CHANNEL_P[seg[due]])
    note = _notes(rng, ["check-in", "visit"], channel == _VISIT, i.size)
    _add_contacts(s, i, ts, channel, True, _CHECK_IN, True, note)
    s.last_outbound[i] = np.maximum(s.last_outbound[i], ts)

    # Renewal calls the month before an annual contract renews.
    tenure = (t0 - s.signup[a]) / DAY
    renew = s.annual[a] & ((m + 1 - s.anniversary[a]) % 12 == 0) & (tenure > 300)
    renew &= rng.random(a.size) < 0.8
    i = a[renew]
    ts = _office_time(rng, day_in(rng, ws[renew], t1))
    channel = pick(rng, [0.6, 0.3, 0.0, 0.0, 0.1], i.size)
    _add_contacts(s, i, ts, channel, True, _RENEWAL, True, _notes(rng, ["renewal"], 0, i.size))
    s.last_outbound[i] = np.maximum(s.last_outbound[i], ts)

    # Routine inbound questions, always resolved.
    k = rng.poisson(_ROUTINE_RATE[seg])
    i, w = np.repeat(a, k), np.repeat(ws, k)
    kind = pick(rng, [0.35, 0.35, 0.3], i.size)  # billing, account, how-to
    topic = np.array([_BILLING, _ACCOUNT, _TECHNICAL], np.int8)[kind]
    ts = _office_time(rng, day_in(rng, w, t1))
    channel = pick(rng, [0.25, 0.35, 0.25, 0.15, 0.0], i.size)
    note = _notes(rng, ["billing", "account", "how-to"], kind, i.size)
    _add_contacts(s, i, ts, channel, False, topic, True, note)

    # Problems; some stay unresolved. Declining customers run into more of them.
    k = rng.poisson(s.problem_rate[a] * (1.0 + s.declining[a]))
    i, w = np.repeat(a, k), np.repeat(ws, k)
    kind = pick(rng, [0.5, 0.3, 0.2], i.size)  # technical, complaint, billing
    topic = np.array([_TECHNICAL, _COMPLAINT, _BILLING], np.int8)[kind]
    resolved = rng.random(i.size) >= s.unresolved_p[i]
    ts = _office_time(rng, day_in(rng, w, t1))
    channel = pick(rng, [0.25, 0.2, 0.15, 0.4, 0.0], i.size)
    note = _notes(rng, _PROBLEM_NOTES, kind + 3 * ~resolved, i.size)
    _add_contacts(s, i, ts, channel, False, topic, resolved, note)
    s.count_unresolved(m, i[~resolved])
    _follow_ups(s, m, t1, a, ws)
    s.open_issue[i[~resolved]] = True

    # Some problem contacts are followed by a CSAT survey within two days.
    asked = np.flatnonzero(rng.random(i.size) < 0.35)
    survey_ts = ts[asked] + HOUR + np.floor(rng.random(asked.size) * 47 * HOUR).astype(np.int64)
    inside = survey_ts < t1
    asked = asked[inside]
    return i[asked], survey_ts[inside], ~resolved[asked]


def _follow_ups(s: Simulation, m: int, t1: int, a: np.ndarray, ws: np.ndarray) -> None:
    """Draw the contacts of customers chasing their open issues, until these are fixed."""
    rng = s.rng
    u = rng.random(a.size)
    is_open = s.open_issue[a]
    fixed = is_open & (u < 0.3)
    chased = is_open & (u >= 0.3) & (u < 0.72)
    for mask, key, resolved in ((fixed, "fixed", True), (chased, "chase", False)):
        i = a[mask]
        ts = _office_time(rng, day_in(rng, ws[mask], t1))
        channel = pick(rng, [0.45, 0.25, 0.1, 0.2, 0.0], i.size)
        note = _notes(rng, [key], 0, i.size)
        _add_contacts(s, i, ts, channel, False, _COMPLAINT, resolved, note)
    s.open_issue[a[fixed]] = False
    s.count_unresolved(m, a[chased])


def draw_feedback(
    s: Simulation,
    m: int,
    t0: int,
    t1: int,
    a: np.ndarray,
    ws: np.ndarray,
    csat: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """Draw the yearly NPS surveys and the CSAT surveys sent after problem contacts."""
    rng = s.rng
    tenure = (t0 - s.signup[a]) / DAY
    due = ((m - s.nps_phase[a]) % 12 == 0) & (tenure >= 60)
    n_nps = int(due.sum())
    nps_ts = day_in(rng, ws[due], t1) + 10 * HOUR
    nps_ts += np.floor(rng.random(n_nps) * 6 * HOUR).astype(np.int64)
    csat_idx, csat_ts, csat_unresolved = csat
    idx = np.concatenate([a[due], csat_idx])
    ts = np.concatenate([nps_ts, csat_ts])
    is_nps = np.arange(idx.size) < n_nps

    # Mood: the base satisfaction dented by whatever the customer goes through.
    n_open = np.minimum(s.unresolved[:, idx].sum(axis=0, dtype=np.int64), 3)
    shock = (m - s.shock_month[idx] >= 0) & (m - s.shock_month[idx] <= 3)
    ref = s.level_ref[idx]
    falling = (ref > 0) & (s.level[idx] < 0.85 * ref)
    poor = s.poor_onboarding[idx] & ((t0 - s.signup[idx]) / DAY < 150)
    faded = (t0 - s.last_outbound[idx]) / DAY >= 120
    spell = s.mood_until[idx] >= m
    dents = (
        np.concatenate([np.zeros(n_nps), 3.0 * csat_unresolved])
        + 2.0 * n_open
        + 2.5 * shock
        + 1.5 * falling
        + 2.5 * poor
        + 1.0 * faded
        + 4.0 * spell
    )
    sat = s.sat_base[idx] - dents + rng.normal(0.0, 0.8, idx.size)
    answered = rng.random(idx.size) < np.where(sat < 5, 0.5, 0.68)
    # NPS 0-6 and CSAT 1-2 both mean a mood below 6.5.
    score = np.where(is_nps, np.clip(np.rint(sat), 0, 10), 1 + np.digitize(sat, [4, 6.5, 8, 9.2]))
    detractor = answered & np.where(is_nps, score <= 6, score <= 2)
    good = answered & np.where(is_nps, score >= 8, score >= 4)
    promoter = np.where(is_nps, score >= 9, score >= 5)

    # Comments: detractors say what bothers them.
    keys = list(_vocab.COMMENT_GROUPS)
    causes = [n_open > 0, shock, falling, poor, faded]
    reasons = [keys.index(k) for k in ("support", "price", "value", "onboarding", "contact")]
    reason = np.select(causes, reasons, default=keys.index("detractor"))
    group = np.where(detractor, reason, np.where(promoter, keys.index("promoter"), keys.index("passive")))
    commented = answered & (rng.random(idx.size) < np.where(detractor, 0.7, 0.35))
    comment = _vocab.group_codes(rng, _vocab.COMMENT_GROUPS, keys, group)
    s.feedback.add(
        idx=idx.astype(np.int32),
        ts=ts,
        survey=(~is_nps).astype(np.int8),
        score=np.where(answered, score, np.nan),
        comment=np.where(commented, comment, -1).astype(np.int16),
    )

    # A detractor answer arms the hazard (more after a good one); a later good answer disarms it.
    any_det = np.bincount(idx[detractor], minlength=s.n) > 0
    any_answer = np.bincount(idx[answered], minlength=s.n) > 0
    any_good = np.bincount(idx[good], minlength=s.n) > 0
    s.detractor_boost[any_det] = np.where(s.last_good[any_det], 1.6, 1.0)
    s.detractor_month[any_det] = m
    s.detractor_month[any_answer & ~any_det] = NEVER
    s.last_good = np.where(any_answer, any_good & ~any_det, s.last_good)
