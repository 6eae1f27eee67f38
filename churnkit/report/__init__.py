"""Reports for people: at-risk lists per account manager (CSV, XLSX, HTML).

The HTML page kit and the atomic writer they use are in :mod:`churnkit._core`.
"""

from churnkit.report._at_risk import excel_sheet_name, write_at_risk_lists

__all__ = ["excel_sheet_name", "write_at_risk_lists"]
