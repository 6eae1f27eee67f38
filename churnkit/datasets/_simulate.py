"""Month-by-month simulation behind :func:`churnkit.datasets.make_crm`.

Every customer carries a hidden state (usage level, open complaints, last survey
answer, price, last outbound touch, onboarding quality). Each month, in order:

1. churners are drawn with the hazards set at the start of the previous month
   (customers act with a delay, e.g. a notice period);
2. the hazard of each planted cause for next month is computed from the state
   at the start of this month, i.e. from what the events up to then show;
3. the state evolves (usage declines start or recover, prices go up,
   relationships fade...);
4. the month's events are drawn from the state: invoices, usage rows, contacts
   and survey answers (see ``_activity``).

All steps are vectorised over customers; only the months are looped over.
Times are integer seconds since the start of the data; the caller turns them
into timestamps.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from churnkit.datasets import _vocab
from churnkit.datasets._activity import (
    CHANNELS,
    DAY,
    DIRECTIONS,
    KINDS,
    NEVER,
    SURVEYS,
    TOPICS,
    Buffer,
    day_in,
    draw_billing,
    draw_contacts,
    draw_feedback,
    draw_onboarding,
    draw_usage,
    pick,
    pick_rows,
)
from churnkit.datasets._campaigns import CampaignPlan

__all__ = [
    "CAUSES",
    "CHANNELS",
    "CONTRACTS",
    "DIRECTIONS",
    "KINDS",
    "PRODUCTS",
    "REASON_OF_CAUSE",
    "REGIONS",
    "SEGMENTS",
    "SURVEYS",
    "TOPICS",
    "Simulation",
]

SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
PRODUCTS = ("Starter", "Professional", "Premium")
REGIONS = ("North", "South", "East", "West")
CONTRACTS = ("monthly", "annual")
CAUSES = (
    "other",
    "unresolved_complaints",
    "detractor_feedback",
    "falling_usage",
    "price_shock",
    "no_outbound_contact",
    "poor_onboarding",
)
#: The reason group of ``configs/reasons.yaml`` in which each planted cause shows
#: (all but ``other``, which has no evidence in the data).
REASON_OF_CAUSE = {
    "unresolved_complaints": "unresolved_complaints",
    "detractor_feedback": "low_satisfaction",
    "falling_usage": "falling_usage",
    "price_shock": "billing_price",
    "no_outbound_contact": "fading_relationship",
    "poor_onboarding": "early_life",
}
_ACTIVE = np.iinfo(np.int64).max  # end of a customer who has not churned

# Customer mix (rows: SMB, Mid-Market, Enterprise).
_SEGMENT_P = [0.6, 0.3, 0.1]
_PRODUCT_P = np.array([[0.55, 0.35, 0.10], [0.25, 0.50, 0.25], [0.05, 0.45, 0.50]])
_REGION_P = [0.3, 0.25, 0.25, 0.2]
_ANNUAL_P = np.array([0.3, 0.6, 0.85])
_VALUE_BASE = np.array([300.0, 2500.0, 15000.0])
_VALUE_PRODUCT = np.array([0.7, 1.0, 1.6])
_LOGINS_BASE = np.array([40.0, 120.0, 400.0])
_PROBLEM_RATE = np.array([0.05, 0.065, 0.09])  # problem contacts per month (median)
_NEGLECT_P = np.array([0.10, 0.05, 0.02])  # no regular check-ins
_CADENCE_P = np.array([[0.15, 0.40, 0.45], [0.30, 0.45, 0.25], [0.55, 0.35, 0.10]])
_POOR_ONBOARDING_P = np.array([0.35, 0.25, 0.15])

# Churn hazard per month: the base rate and the planted mechanisms.
_BASE_HAZARD = 0.002
_H_UNRESOLVED = 0.06  # times (unresolved contacts in the last 3 months) ** 1.4
_H_DETRACTOR = 0.09  # for 9 months after the answer, x1.6 after an earlier good score
_H_DETRACTOR_DECAY = 0.93
_H_DETRACTOR_MONTHS = 9
_H_USAGE = 0.45  # times how far usage fell below 85 % of its level before the decline
_H_PRICE = 0.10  # for a 25 % increase, for 6 months
_H_PRICE_DECAY = 0.9
_H_PRICE_MONTHS = 6
_H_NO_OUTBOUND = (0.03, 0.015, 0.09)  # from 120 days without touch, per extra month, cap
_H_ONBOARDING = 0.15  # first 150 days of a poorly onboarded customer
_HAZARD_SEGMENT = np.array([1.1, 1.0, 0.75])
_HAZARD_PRODUCT = np.array([1.15, 1.0, 0.85])
_HAZARD_CONTRACT = np.array([1.25, 0.75])  # monthly, annual
_PROTECTED = 0.75  # hazard multiplier within 45 days of an outbound touch


class Simulation:
    """Hidden state and event buffers of one simulated CRM.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    n : int
        Number of customers.
    bounds : ndarray of int64
        Month boundaries in seconds since the start of the data, each at
        midnight: first the burn-in months (negative times), then the months of
        the data (from 0 on).

    Notes
    -----
    The months before the start of the data are a burn-in: states evolve and
    events are drawn (and later dropped) but nobody churns, so the first months
    of the data already have open complaints, declines and price increases in
    progress, and the churn rate is steady from the start.
    """

    def __init__(self, rng: np.random.Generator, n: int, bounds: np.ndarray) -> None:
        self.rng = rng
        self.n = n
        self.bounds = bounds
        self.horizon = int(bounds[-1])
        self.first_month = int(np.searchsorted(bounds, 0))
        self.break_month: int | None = None
        """From this month on the cause ``break_cause`` no longer drives churn (see ``make_crm``)."""
        self.break_cause = 3
        self._draw_customers()
        self.contacts = Buffer(
            "idx", "ts", "channel", "direction", "topic", "resolved", "duration", "agent", "note"
        )
        self.feedback = Buffer("idx", "ts", "survey", "score", "comment")
        self.transactions = Buffer("idx", "ts", "amount", "kind")
        self.usage = Buffer("idx", "ts", "logins", "minutes")
        self.campaigns: CampaignPlan | None = None  # past retention campaigns (make_crm)

    # ------------------------------------------------------------------ setup
    def _draw_customers(self) -> None:
        rng, n = self.rng, self.n
        existing = rng.random(n) < 0.6
        signup = np.empty(n, dtype=np.int64)
        n_old = int(existing.sum())
        # Customers of before the start: 100 days to 4 years old, more of them recent.
        signup[existing] = -(100 + np.floor(1360 * rng.random(n_old) ** 1.4).astype(np.int64)) * DAY
        days = np.floor(rng.random(n - n_old) * (self.horizon // DAY)).astype(np.int64)
        signup[~existing] = days * DAY
        order = np.argsort(signup, kind="stable")  # ids follow the order of signup
        self.signup = signup[order]
        self.existing = existing[order]

        seg = pick(rng, _SEGMENT_P, n)
        self.segment = seg
        self.product = pick_rows(rng, _PRODUCT_P[seg])
        self.region = pick(rng, _REGION_P, n)
        self.annual = rng.random(n) < _ANNUAL_P[seg]
        self.value = np.round(
            _VALUE_BASE[seg] * _VALUE_PRODUCT[self.product] * rng.lognormal(0.0, 0.45, n), 2
        )
        self.wallet_share = np.clip(np.round(rng.beta(2.5, 2.0, n), 3), 0.01, 1.0)
        n_managers = int(np.clip(round(n / 250), 3, 40))
        n_agents = int(np.clip(round(n / 400), 4, 60))
        self.names = _vocab.person_names(rng, n_managers + n_agents)
        self.n_managers, self.n_agents = n_managers, n_agents
        self.manager = rng.integers(0, n_managers, n).astype(np.int16)
        self.manager_diligence = rng.uniform(0.75, 1.0, n_managers)

        # Hidden traits.
        self.logins_base = _LOGINS_BASE[seg] * rng.lognormal(0.0, 0.6, n)
        self.minutes_per_login = rng.lognormal(np.log(12.0), 0.35, n)
        self.problem_rate = _PROBLEM_RATE[seg] * rng.lognormal(0.0, 0.9, n)
        self.unresolved_p = rng.beta(1.2, 4.0, n)
        self.sat_base = rng.normal(8.6, 0.9, n)
        self.covered = rng.random(n) >= _NEGLECT_P[seg]
        self.cadence = (pick_rows(rng, _CADENCE_P[seg]) + 1).astype(np.int64)
        self.phase = rng.integers(0, 12, n)
        self.nps_phase = rng.integers(0, 12, n)
        self.biweekly = seg > 0
        self.poor_onboarding = ~self.existing & (rng.random(n) < _POOR_ONBOARDING_P[seg])
        month_of_signup = np.searchsorted(self.bounds, self.signup, side="right") - 1
        new_day = (self.signup - self.bounds[np.clip(month_of_signup, 0, None)]) // DAY
        self.bill_day = np.where(self.existing, rng.integers(0, 28, n), np.minimum(new_day, 27))
        self.anniversary = np.where(self.existing, rng.integers(0, 12, n), month_of_signup % 12)

        # Dynamic state.
        self.level = np.where(self.existing, 1.0, np.where(self.poor_onboarding, 0.3, 0.7))
        self.level_ref = np.zeros(n)  # usage level when the current decline started
        self.declining = np.zeros(n, dtype=bool)
        self.decline_rate = np.ones(n)
        self.price = np.ones(n)
        self.shock_month = np.full(n, NEVER, dtype=np.int64)
        self.shock_size = np.zeros(n)
        self.unresolved = np.zeros((3, n), dtype=np.int8)  # per month, ring of 3 months
        self.open_issue = np.zeros(n, dtype=bool)  # an unresolved problem the customer chases
        touched = self.bounds[0] - np.floor(rng.random(n) * 60).astype(np.int64) * DAY
        self.last_outbound = np.maximum(touched, self.signup)
        self.detractor_month = np.full(n, NEVER, dtype=np.int64)
        self.detractor_boost = np.ones(n)
        self.last_good = np.zeros(n, dtype=bool)
        self.mood_until = np.full(n, NEVER, dtype=np.int64)
        self.end = np.full(n, _ACTIVE, dtype=np.int64)
        self.pending = np.zeros((len(CAUSES), n), dtype=np.float32)  # next month's hazards
        self.cause = np.full(n, -1, dtype=np.int8)

    # -------------------------------------------------------------------- run
    def run(self) -> None:
        """Simulate every month."""
        for m in range(len(self.bounds) - 1):
            self._month(m)

    def _month(self, m: int) -> None:
        t0, t1 = int(self.bounds[m]), int(self.bounds[m + 1])
        alive = (self.signup < t1) & (self.end == _ACTIVE)
        r = np.flatnonzero(alive & (self.signup < t0))
        if m >= self.first_month:
            self._churn(t0, t1, r, m)
        # Customers act with a delay (notice periods, waiting for the renewal date):
        # the hazard of next month is set by what the events show now.
        comps, mult = self.hazards(m, t0, r)
        self.pending[:] = 0.0
        self.pending[:, r] = comps * mult
        if self.campaigns is not None:
            self.campaigns.refresh(self, m, t0)
            self.campaigns.select(self, m, t1)
        a = np.flatnonzero(alive)
        ws = np.maximum(self.signup[a], t0)  # start of each customer's window this month
        self.unresolved[m % 3] = 0
        self._evolve(m, t0, a)
        draw_onboarding(self, a[self.signup[a] >= t0])
        draw_billing(self, m, t0, t1, a, ws)
        draw_usage(self, t0, t1, a, ws)
        csat = draw_contacts(self, m, t0, t1, a, ws)
        draw_feedback(self, m, t0, t1, a, ws, csat)

    # ------------------------------------------------------------------ churn
    def hazards(self, m: int, t0: int, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Monthly hazard of each planted cause and the customer's multiplier.

        Parameters
        ----------
        m : int
            Month number.
        t0 : int
            Start of the month (seconds).
        r : ndarray of int
            Customers at risk.

        Returns
        -------
        components : ndarray of shape (len(CAUSES), len(r))
            Hazard rate contributed by each cause, in the order of ``CAUSES``.
        multiplier : ndarray of shape (len(r),)
            Segment, product, contract and recent-outbound-touch factor.
        """
        comps = np.zeros((len(CAUSES), r.size))
        comps[0] = _BASE_HAZARD
        n_open = self.unresolved[:, r].sum(axis=0, dtype=np.int64)
        comps[1] = _H_UNRESOLVED * np.minimum(n_open, 6) ** 1.4
        since = np.clip(m - self.detractor_month[r], 0, 99)
        comps[2] = np.where(
            (since >= 1) & (since <= _H_DETRACTOR_MONTHS),
            _H_DETRACTOR * self.detractor_boost[r] * _H_DETRACTOR_DECAY ** (since - 1),
            0.0,
        )
        ref = self.level_ref[r]
        ratio = np.divide(self.level[r], ref, out=np.ones(r.size), where=ref > 0)
        comps[3] = _H_USAGE * np.clip(0.85 - ratio, 0.0, None)
        since = np.clip(m - self.shock_month[r], 0, 99)
        comps[4] = np.where(
            (since >= 1) & (since <= _H_PRICE_MONTHS),
            _H_PRICE * self.shock_size[r] / 0.25 * _H_PRICE_DECAY ** (since - 1),
            0.0,
        )
        gap = (t0 - self.last_outbound[r]) / DAY
        first, step, cap = _H_NO_OUTBOUND
        comps[5] = np.where(gap >= 120, np.minimum(first + step * (gap - 120) / 30, cap), 0.0)
        tenure = (t0 - self.signup[r]) / DAY
        comps[6] = np.where(self.poor_onboarding[r] & (tenure < 150), _H_ONBOARDING, 0.0)
        if self.break_month is not None and m >= self.break_month and r.size:
            # as much churn as before, unrelated to the cause's evidence: baseline ("other")
            comps[0] += comps[self.break_cause].mean()
            comps[self.break_cause] = 0.0
        mult = (
            _HAZARD_SEGMENT[self.segment[r]]
            * _HAZARD_PRODUCT[self.product[r]]
            * _HAZARD_CONTRACT[self.annual[r].astype(np.int8)]
            * np.where(gap < 45, _PROTECTED, 1.0)
        )
        return comps, mult

    def _churn(self, t0: int, t1: int, r: np.ndarray, m: int = -1) -> None:
        comps = self.pending[:, r]
        p = -np.expm1(-comps.sum(axis=0, dtype=np.float64))
        if self.campaigns is not None:
            p = self.campaigns.churn_probability(m, r, p)
        churn = self.rng.random(r.size) < p
        who = r[churn]
        self.end[who] = day_in(self.rng, np.full(who.size, t0, dtype=np.int64), t1)
        self.cause[who] = comps[:, churn].argmax(axis=0)

    # ------------------------------------------------------------------ state
    def _evolve(self, m: int, t0: int, a: np.ndarray) -> None:
        rng = self.rng
        tenure = (t0 - self.signup[a]) / DAY
        # Usage: declines start (more often with open issues), deepen, sometimes recover.
        dec = self.declining[a]
        has_open = self.unresolved[:, a].sum(axis=0) > 0
        start = ~dec & (tenure > 90) & (rng.random(a.size) < 0.008 + 0.015 * has_open)
        self.decline_rate[a[start]] = rng.uniform(0.8, 0.9, int(start.sum()))
        self.level_ref[a[start]] = self.level[a[start]]
        recover = dec & (rng.random(a.size) < 0.08)
        dec = (dec & ~recover) | start
        self.declining[a] = dec
        poor = self.poor_onboarding[a]
        target = np.where(poor & (tenure < 90), 0.4, np.where(poor, 0.85, 1.0))
        level = self.level[a]
        level = np.where(dec, level * self.decline_rate[a], level + (target - level) * 0.5)
        self.level[a] = level
        recovered = ~dec & (self.level_ref[a] > 0) & (level >= 0.95 * self.level_ref[a])
        self.level_ref[a[recovered]] = 0.0

        # Prices: increases at annual renewals or, for monthly contracts, any month.
        at_anniversary = (m - self.anniversary[a]) % 12 == 0
        eligible = (tenure > 180) & (m - self.shock_month[a] > 10)
        p = np.where(self.annual[a], np.where(at_anniversary, 0.2, 0.0), 0.008)
        shock = eligible & (rng.random(a.size) < p)
        s = a[shock]
        self.shock_size[s] = rng.uniform(0.15, 0.40, s.size)
        self.price[s] *= 1.0 + self.shock_size[s]
        self.shock_month[s] = m
        indexed = a[self.annual[a] & at_anniversary & ~shock & (rng.random(a.size) < 0.5)]
        self.price[indexed] *= 1.0 + rng.uniform(0.02, 0.05, indexed.size)

        # Bad spells (off the record) that only show in survey answers.
        spell = a[rng.random(a.size) < 0.012]
        self.mood_until[spell] = m + rng.integers(3, 8, spell.size)

        # Relationships fade (no more check-ins) and are picked up again.
        covered = self.covered[a]
        u = rng.random(a.size)
        lose = a[covered & (u < 0.004)]
        gain = a[~covered & (u < 0.03)]
        self.covered[lose] = False
        self.covered[gain] = True
        self.phase[gain] = m

    def count_unresolved(self, m: int, idx: np.ndarray) -> None:
        """Count unresolved contacts of month ``m`` (``idx`` may repeat customers)."""
        counts = np.bincount(idx, minlength=self.n)
        self.unresolved[m % 3] = np.minimum(self.unresolved[m % 3] + counts, 100)

    # ----------------------------------------------------------------- output
    def events(self) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
        """Yield each event table's columns, one table at a time, emptying the buffers.

        Only events inside each customer's life and inside the data are kept,
        sorted by customer and time.

        Yields
        ------
        name : str
            "contacts", "feedback", "transactions" or "usage".
        columns : dict of str to ndarray
            Column name -> values; ``idx`` is the customer position and ``ts``
            the time in seconds since the start.
        """
        end = np.minimum(self.end, self.horizon)
        # Largest first: its sorting scratch space is needed while fewer tables are held.
        for name in ("usage", "transactions", "contacts", "feedback"):
            cols = getattr(self, name).concat()
            idx, ts = cols["idx"], cols["ts"]
            keep = (ts >= self.signup[idx]) & (ts < end[idx]) & (ts >= 0)
            rows = np.flatnonzero(keep)
            del keep
            key = (idx[rows].astype(np.int64) << 32) | ts[rows]
            rows = rows[np.argsort(key, kind="stable")]
            del key, idx, ts
            yield name, {col: cols.pop(col)[rows] for col in list(cols)}
