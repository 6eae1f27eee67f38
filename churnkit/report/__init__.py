"""Reports for people: at-risk lists per account manager (CSV, XLSX, HTML).

Shared helpers for self-contained HTML pages and atomic writes live in
:mod:`churnkit.report._html`.
"""

from churnkit.report._at_risk import excel_sheet_name, write_at_risk_lists

__all__ = ["excel_sheet_name", "write_at_risk_lists"]
