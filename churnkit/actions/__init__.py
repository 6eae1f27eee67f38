"""Retention actions: risk bands, value at risk, playbooks and the at-risk table.

Typical use, after :func:`churnkit.explain.top_reasons`::

    playbooks = load_playbooks(reasons=reason_config)
    actions = recommend(reasons_frame, playbooks)
    at_risk = build_at_risk(scores, customers, reasons_frame, actions)
"""

from churnkit.actions._at_risk import (
    AT_RISK_COLUMNS,
    UNASSIGNED,
    at_risk_from_scores,
    build_at_risk,
)
from churnkit.actions._playbooks import (
    DEFAULT_PLAYBOOK,
    PlaybookAction,
    PlaybookConfig,
    load_playbooks,
    recommend,
    validate_playbooks,
)
from churnkit.actions._risk import DEFAULT_BANDS, band_order, risk_band, value_at_risk
from churnkit.actions._touches import (
    describe_last_contact,
    describe_last_feedback,
    last_contact_words,
    last_feedback_words,
)

__all__ = [
    "AT_RISK_COLUMNS",
    "DEFAULT_BANDS",
    "DEFAULT_PLAYBOOK",
    "UNASSIGNED",
    "PlaybookAction",
    "PlaybookConfig",
    "at_risk_from_scores",
    "band_order",
    "build_at_risk",
    "describe_last_contact",
    "describe_last_feedback",
    "last_contact_words",
    "last_feedback_words",
    "load_playbooks",
    "recommend",
    "risk_band",
    "validate_playbooks",
    "value_at_risk",
]
