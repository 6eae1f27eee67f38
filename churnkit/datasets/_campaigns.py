"""Past retention campaigns of the sample CRM, with random holdouts and planted effects.

Used by :func:`churnkit.datasets.make_crm` when ``campaigns > 0``. A campaign
starts on the first day of a month (its ``as_of``). Among the customers at
risk that month who were in no earlier campaign, half take part; each is
assigned at random to the treated group (70 %) or the control group (30 %),
and gets a recommended playbook:

- the playbook of its strongest planted cause that month (65 %), e.g.
  ``unresolved_complaints`` for open complaints, ``billing_price`` after a
  price shock; customers without a planted cause get ``contract_plan``
  (monthly contracts) or ``default``;
- any other playbook (35 %): the recommendation missed the cause.

80 % of the treated customers are reached (a row in the actions log, in the
first week); the others and the control group are not contacted. A contact
changes the customer's churn hazard for the three monthly churn draws from
``as_of`` on (about the 90-day horizon):

- matched playbook: the hazard of the cause drops by 75 %, the rest by 10 %
  — unless the customer is a lost cause (the cause's monthly hazard above
  12 %: the decision is made), then every hazard drops by 10 % only;
- mismatched playbook: every hazard drops by 15 %;
- ``contract_plan`` (a renewal reminder) to price-sensitive customers (on a
  monthly contract): the hazard doubles and 3 points a month are added —
  they leave *because* they were reminded that they can.

The planted per-customer effect is the change in the probability of churning
within the three months if contacted, computed along the customer's hazard
path (the same draws decide the churn of treated and control customers).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CampaignPlan", "PLAYBOOKS", "PLAYBOOK_OF_CAUSE"]

#: Playbook ids (ids of ``configs/playbooks.yaml``) used by the simulated campaigns.
PLAYBOOKS = (
    "unresolved_complaints",
    "low_satisfaction",
    "falling_usage",
    "billing_price",
    "fading_relationship",
    "early_life",
    "contract_plan",
    "default",
)
#: The playbook that addresses each planted cause (index in ``CAUSES`` → playbook).
PLAYBOOK_OF_CAUSE = {1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5}
_CONTRACT_PLAN = PLAYBOOKS.index("contract_plan")
_DEFAULT = PLAYBOOKS.index("default")
_WINDOW = 3  # monthly churn draws affected (about 90 days)
_GAP = 4  # months between campaigns
_SHARE = 0.5  # share of the eligible customers taking part
_TREATED = 0.7
_REACHED = 0.8
_MATCHED = 0.65
_CUT_MATCHED, _CUT_REST, _CUT_MISMATCHED = 0.25, 0.9, 0.85
_LOST_CAUSE = 0.12  # monthly hazard of the cause above which contact no longer helps much
_HARM_FACTOR, _HARM_ADD = 2.0, 0.03
CHANNELS = ("phone", "email", "visit")


def campaign_months(campaigns: int, months: int) -> list[int]:
    """Month numbers (0 = first month of the data) of the campaigns; the last ends with the data."""
    last = months - _WINDOW
    return [last - _GAP * (campaigns - 1 - k) for k in range(campaigns)]


def max_campaigns(months: int) -> int:
    """How many campaigns fit in ``months`` months of data (each in month 1 or later)."""
    return max(0, (months - _WINDOW - 1) // _GAP + 1)


class CampaignPlan:
    """Campaign state of one simulation: who takes part, their group, playbook and effect.

    Parameters
    ----------
    rng : numpy.random.Generator
        Randomness of the campaigns only (the simulation keeps its own stream).
    months : list of int
        Simulation month numbers (burn-in included) at which a campaign starts.
    n : int
        Number of customers.
    """

    def __init__(self, rng: np.random.Generator, months: list[int], n: int) -> None:
        self.rng = rng
        self.months = months
        self.n = n
        self.campaign = np.full(n, -1, dtype=np.int16)  # campaign number per customer
        self.treated = np.zeros(n, dtype=bool)
        self.reached = np.zeros(n, dtype=bool)
        self.playbook = np.full(n, -1, dtype=np.int8)
        self.cause = np.full(n, -1, dtype=np.int8)  # strongest planted cause at as_of
        self.baseline = np.zeros(n)  # planted 3-month churn probability without contact
        self.factor = np.ones((0, n))  # per cause hazard multiplier if contacted
        self.add = np.zeros(n)
        self.log_s0 = np.zeros(n)  # log survival over the window, without / with contact
        self.log_s1 = np.zeros(n)
        self.next_comps: dict[int, np.ndarray] = {}  # campaign -> hazards of the next draw
        self.action_ts = np.zeros(n, dtype=np.int64)
        self.channel = np.zeros(n, dtype=np.int8)

    def _members(self, k: int) -> np.ndarray:
        return np.flatnonzero(self.campaign == k)

    def _window(self, m: int) -> list[int]:
        """Campaigns whose window holds the churn draw of month ``m``."""
        return [k for k, start in enumerate(self.months) if start <= m < start + _WINDOW]

    def select(self, sim: object, m: int, t1: int) -> None:
        """After the hazards of month ``m`` are set: start the campaign of month ``m + 1``."""
        if m + 1 not in self.months:
            return
        k = self.months.index(m + 1)
        pending = sim.pending  # type: ignore[attr-defined]
        comps = pending.astype(np.float64)
        total = comps.sum(axis=0)
        alive = sim.end >= t1  # type: ignore[attr-defined]  # not churned before as_of
        eligible = np.flatnonzero((total > 0) & alive & (self.campaign < 0))
        rng = self.rng
        who = eligible[rng.random(eligible.size) < _SHARE]
        self.campaign[who] = k
        self.treated[who] = rng.random(who.size) < _TREATED
        self.reached[who] = self.treated[who] & (rng.random(who.size) < _REACHED)
        c = comps[:, who]
        strongest = np.where(c[1:].max(axis=0) > c[0], c[1:].argmax(axis=0) + 1, 0)
        self.cause[who] = strongest
        monthly = ~sim.annual[who]  # type: ignore[attr-defined]
        book = np.where(strongest > 0, 0, np.where(monthly, _CONTRACT_PLAN, _DEFAULT))
        for cause, pb in PLAYBOOK_OF_CAUSE.items():
            book[strongest == cause] = pb
        miss = rng.random(who.size) >= _MATCHED
        other = rng.integers(0, len(PLAYBOOKS) - 1, who.size)
        book[miss] = np.where(other >= book, other + 1, other)[miss]
        self.playbook[who] = book
        if self.factor.shape[0] == 0:
            self.factor = np.ones((c.shape[0], self.n))
        matched = np.zeros(who.size, dtype=bool)
        for cause, pb in PLAYBOOK_OF_CAUSE.items():
            hit = (strongest == cause) & (book == pb)
            matched |= hit
            self.factor[:, who[hit]] = _CUT_REST
            saveable = hit & (c[cause] <= _LOST_CAUSE)
            self.factor[cause, who[saveable]] = _CUT_MATCHED
        self.factor[:, who[~matched]] = _CUT_MISMATCHED
        harm = monthly & (book == _CONTRACT_PLAN)  # price-sensitive, reminded of renewal
        self.factor[:, who[harm]] = _HARM_FACTOR
        self.add[who[harm]] = _HARM_ADD
        self.baseline[who] = -np.expm1(-_WINDOW * total[who])
        self.next_comps[k] = c
        day = rng.integers(0, 7, who.size)
        self.action_ts[who] = t1 + day * 86_400 + rng.integers(9 * 3600, 17 * 3600, who.size)
        self.channel[who] = rng.integers(0, len(CHANNELS), who.size)

    def refresh(self, sim: object, m: int, t0: int) -> None:
        """After the hazards of month ``m``: keep every member's hazards of the next draw.

        Members who already churned keep their last state (it no longer
        evolves), so their counterfactual path continues.
        """
        for k in self._window(m + 1):
            if self.months[k] == m + 1:
                continue  # set by select
            who = self._members(k)
            comps, mult = sim.hazards(m, t0, who)  # type: ignore[attr-defined]
            self.next_comps[k] = comps * mult

    def churn_probability(self, m: int, r: np.ndarray, p: np.ndarray) -> np.ndarray:
        """The month's churn probabilities of the customers ``r``, contacts applied.

        Also accumulates every member's survival with and without contact.
        """
        out = p
        for k in self._window(m):
            who = self._members(k)
            c = self.next_comps.pop(k)
            h0 = c.sum(axis=0)
            h1 = (c * self.factor[:, who]).sum(axis=0) + self.add[who]
            self.log_s0[who] -= h0
            self.log_s1[who] -= h1
            if not who.size:
                continue
            pos = np.minimum(np.searchsorted(who, r), who.size - 1)
            contacted = (who[pos] == r) & self.reached[r]
            if contacted.any():
                out = out.copy() if out is p else out
                out[contacted] = -np.expm1(-h1[pos[contacted]])
        return out

    def effect(self) -> np.ndarray:
        """Planted change in the 3-month churn probability if contacted (NaN: not in a campaign)."""
        eff = np.exp(self.log_s0) - np.exp(self.log_s1)
        return np.where(self.campaign >= 0, eff, np.nan)
