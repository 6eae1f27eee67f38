"""Sample data: a generated CRM whose churners left for known, planted reasons."""

from churnkit.datasets._crm import CRM, make_crm

__all__ = ["CRM", "make_crm"]
