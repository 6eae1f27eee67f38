"""Names, contact notes and survey comments of the sample CRM.

Free text is drawn from small groups of templates. Each group is a list of
phrasings of the same situation, so the notes and comments of a customer read
like those of a real CRM and still tell the story of its hidden state (an open
complaint, a price increase, a team that stopped using the product...).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "COMMENT_GROUPS",
    "COMMENTS",
    "NOTE_GROUPS",
    "NOTES",
    "group_codes",
    "person_names",
]

# fmt: off
_FIRST_NAMES = (
    "Anna", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "James",
    "Kenji", "Laura", "Marco", "Nadia", "Oliver", "Priya", "Quentin", "Rosa", "Samuel", "Tara",
    "Umar", "Vera", "Walter", "Xenia", "Yusuf", "Zoe", "Amir", "Beatriz", "Chloe", "Daniel",
    "Emma", "Felix", "Hannah", "Ivan", "Julia", "Lucas", "Maya", "Noah", "Olga", "Pablo",
)
_LAST_NAMES = (
    "Andersen", "Baker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito",
    "Jensen", "Kowalski", "Lopez", "Martin", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi",
    "Schmidt", "Tanaka", "Usman", "Varga", "Weber", "Xu", "Young", "Zimmermann", "Ahmed",
    "Berg", "Carter", "Novak", "Moreau", "Silva", "Walsh", "Lindqvist", "Murphy", "Haddad",
    "Kim", "Santos", "Meyer", "Clarke",
)
# fmt: on


def person_names(rng: np.random.Generator, k: int) -> list[str]:
    """Return ``k`` distinct, realistic "First Last" names.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    k : int
        Number of names, at most ``len(first names) * len(last names)``.

    Returns
    -------
    list of str
        Distinct names in random order.
    """
    picks = rng.choice(len(_FIRST_NAMES) * len(_LAST_NAMES), size=k, replace=False)
    return [
        f"{_FIRST_NAMES[p // len(_LAST_NAMES)]} {_LAST_NAMES[p % len(_LAST_NAMES)]}" for p in picks.tolist()
    ]


def _with_suffixes(bases: tuple[str, ...], suffixes: tuple[str, ...]) -> list[str]:
    return [base + suffix for base in bases for suffix in ("", *(f". {s}" for s in suffixes))]


_OPEN = ("Follow-up needed", "Customer asked for a callback")
_DONE = ("Customer satisfied",)

# Contact notes, by situation. The keys are used by the simulation.
_NOTE_TEXT: dict[str, list[str]] = {
    "check-in": _with_suffixes(
        (
            "Quarterly check-in, all good",
            "Check-in call, customer happy with the service",
            "Check-in, discussed plans for next quarter",
            "Courtesy call, no issues raised",
            "Check-in email, shared product tips",
            "Left voicemail, no answer",
        ),
        ("Next check-in booked",),
    ),
    "visit": [
        "Site visit, met the team, positive feedback",
        "Site visit, walked through new features",
        "Business review on site, goals agreed",
    ],
    "renewal": [
        "Renewal call, customer intends to renew",
        "Sent renewal quote",
        "Renewal discussion, asked about a multi-year discount",
        "Reminder about upcoming renewal",
    ],
    "onboarding": [
        "Kickoff call, accounts set up",
        "Onboarding session: data import",
        "Training session for new users",
        "Onboarding follow-up, configuration questions answered",
        "Welcome email with getting-started guide",
    ],
    "billing": [
        "Asked for a copy of the invoice",
        "Updated billing address",
        "Question about VAT on invoice",
        "Changed payment method",
    ],
    "account": [
        "Requested to add a user",
        "Password reset",
        "Asked to change the account owner",
        "Requested a data export",
    ],
    "how-to": [
        "How-to question about reports, answered",
        "Question about the API, answered",
        "Helped with integration setup",
    ],
    "technical-resolved": _with_suffixes(
        (
            "Sync error fixed",
            "Login issue resolved",
            "Bug in export fixed after escalation",
            "Performance problem resolved",
        ),
        _DONE,
    ),
    "technical-open": _with_suffixes(
        (
            "Recurring sync errors, ticket still open",
            "Export fails on large files, waiting for a fix",
            "Outage reported, no fix yet",
            "Integration broken since update, escalated",
        ),
        _OPEN,
    ),
    "complaint-resolved": _with_suffixes(
        (
            "Complaint about slow support, apologised and resolved",
            "Complaint about a missing feature, workaround provided",
            "Complaint about response times, resolved",
        ),
        _DONE,
    ),
    "complaint-open": _with_suffixes(
        (
            "Customer frustrated, issue still not fixed",
            "Escalated complaint, awaiting callback",
            "Complaint about repeated outages, unresolved",
            "Customer threatens to cancel over open issue",
        ),
        _OPEN,
    ),
    "chase": _with_suffixes(
        (
            "Customer chasing open issue, still not fixed",
            "Second complaint about the same problem",
            "Customer asks for an update on the open ticket",
        ),
        _OPEN,
    ),
    "fixed": [
        "Open issue finally fixed",
        "Long-standing problem resolved, customer relieved",
    ],
    "billing-resolved": [
        "Billing error corrected, credit issued",
        "Disputed charge explained and resolved",
    ],
    "billing-open": _with_suffixes(
        ("Disputed invoice, still under review", "Double charge reported, refund pending"),
        _OPEN,
    ),
    "price-resolved": [
        "Customer upset about invoice increase, explained new pricing",
        "Questions about the price increase, answered",
    ],
    "price-open": _with_suffixes(
        (
            "Customer upset about invoice increase",
            "Price increase complaint, asked for a discount",
            "Customer questions the new price, wants to talk to a manager",
        ),
        _OPEN,
    ),
}

# Survey comments, by what drives the customer's mood.
_COMMENT_TEXT: dict[str, list[str]] = {
    "promoter": [
        "Great support team",
        "Love the product",
        "Very happy, easy to use",
        "Our account manager is really helpful",
    ],
    "passive": [
        "OK overall",
        "Works, but could be faster",
        "Decent value",
        "Reports could be better",
    ],
    "detractor": [
        "Disappointed",
        "Not happy with the service",
        "Expected more",
    ],
    "support": [
        "Support never fixed my issue",
        "Too many open tickets",
        "Slow support, problems keep coming back",
    ],
    "price": [
        "Price went up too much",
        "Too expensive for what we get",
        "Unexpected price increase",
    ],
    "value": [
        "We hardly use it anymore",
        "Not getting value from the product",
        "Team is moving to another tool",
    ],
    "contact": [
        "Nobody from your side has been in touch for months",
        "We never hear from our account manager",
    ],
    "onboarding": [
        "Setup was confusing",
        "We never got proper training",
    ],
}


def _flatten(groups: dict[str, list[str]]) -> tuple[list[str], dict[str, tuple[int, int]]]:
    texts: list[str] = []
    spans: dict[str, tuple[int, int]] = {}
    for key, values in groups.items():
        spans[key] = (len(texts), len(values))
        texts.extend(values)
    return texts, spans


NOTES, NOTE_GROUPS = _flatten(_NOTE_TEXT)
COMMENTS, COMMENT_GROUPS = _flatten(_COMMENT_TEXT)


def group_codes(
    rng: np.random.Generator,
    spans: dict[str, tuple[int, int]],
    keys: list[str],
    group: np.ndarray,
) -> np.ndarray:
    """Draw one text code per row from the template group of each row.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    spans : dict
        ``NOTE_GROUPS`` or ``COMMENT_GROUPS``: group name -> (first code, size).
    keys : list of str
        Group names; ``group`` holds positions in this list.
    group : ndarray of int
        Group position of every row.

    Returns
    -------
    ndarray of int16
        Codes into ``NOTES`` or ``COMMENTS``.
    """
    first = np.array([spans[k][0] for k in keys], dtype=np.int64)
    size = np.array([spans[k][1] for k in keys], dtype=np.int64)
    offset = np.floor(rng.random(len(group)) * size[group]).astype(np.int64)
    return (first[group] + offset).astype(np.int16)
