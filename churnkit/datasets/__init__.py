"""Sample data: a generated CRM whose churners left for known, planted reasons."""

from churnkit.datasets._crm import CRM, make_crm
from churnkit.datasets._simulate import REASON_OF_CAUSE

__all__ = ["CRM", "REASON_OF_CAUSE", "make_crm"]
