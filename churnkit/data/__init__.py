"""Data layer: read, parse and validate input tables; quarantine bad rows.

Besides the customers table and the event tables, a configuration can link
tables: an event table keyed by another id reaches the customers through
``lookup`` tables (usage by subscription → subscriptions → account), and
``customers.joins`` compute customer columns from tables with several rows per
customer (the latest churn date, the revenue of open subscriptions).
"""

from churnkit.data._customers import CUSTOMER_ROLES
from churnkit.data._dataset import (
    REJECT_COLUMNS,
    Dataset,
    EventSpec,
    load_dataset,
    rejected_customers,
    stamp_of,
)
from churnkit.data._end import DayCounts, day_counts, find_end, first_day, late_reason
from churnkit.data._io import ENCODINGS, read_table, sniff_bytes, sniff_delimiter
from churnkit.data._links import require_config_columns, source_table
from churnkit.data._parse import (
    ColumnFormat,
    Evidence,
    column_evidence,
    date_order,
    infer_type,
    parse_dates,
    parse_ids,
    parse_numeric,
)

__all__ = [
    "CUSTOMER_ROLES",
    "ENCODINGS",
    "ColumnFormat",
    "DayCounts",
    "Evidence",
    "REJECT_COLUMNS",
    "Dataset",
    "EventSpec",
    "column_evidence",
    "date_order",
    "day_counts",
    "find_end",
    "first_day",
    "infer_type",
    "late_reason",
    "load_dataset",
    "parse_dates",
    "parse_ids",
    "parse_numeric",
    "read_table",
    "rejected_customers",
    "require_config_columns",
    "sniff_bytes",
    "sniff_delimiter",
    "source_table",
    "stamp_of",
]
