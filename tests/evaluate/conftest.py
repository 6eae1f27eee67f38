"""Fixtures of the evaluation tests (the tables come from ``_evaluate_data``)."""

from __future__ import annotations

import pandas as pd
import pytest
from _evaluate_data import FAST_MODEL, make_event_tables, make_snapshot


@pytest.fixture(scope="session")
def event_tables() -> dict[str, pd.DataFrame]:
    return make_event_tables()


@pytest.fixture(scope="session")
def snapshot_frame() -> pd.DataFrame:
    return make_snapshot()


@pytest.fixture
def snapshot_config_dict() -> dict:
    return {"name": "snap <&> test",
            "data": {"snapshot": {"customer_id": "id", "label": "churned", "positive": ["Yes"],
                                  "value": "charges"}},
            "model": dict(FAST_MODEL)}
