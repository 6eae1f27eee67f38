"""Data layer: read, parse and validate input tables; quarantine bad rows."""

from churnkit.data._dataset import REJECT_COLUMNS, Dataset, EventSpec, load_dataset
from churnkit.data._io import read_table

__all__ = ["REJECT_COLUMNS", "Dataset", "EventSpec", "load_dataset", "read_table"]
