"""Shared fixtures: tiny inline tables, a seeded rng, the public datasets folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"public datasets folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture
def tiny_customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "start": ["2023-01-01", "2023-06-15", "2024-01-10", "2022-03-01"],
            "stop": [None, "2024-03-20", None, "2024-01-05"],
            "tier": ["gold", "silver", "gold", "bronze"],
            "mrr": ["100", "1,250.5", "80", "40"],
            "owner": ["Ann", "Ann", "Bob", None],
        }
    )


@pytest.fixture
def tiny_contacts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cust": ["a", "a", "a", "b", "b", "c", "zz"],
            "when": [
                "2023-12-01T10:00:00", "2024-01-20", "2024-02-25", "2024-01-05",
                "2024-02-10", "not a date", "2024-01-01",
            ],
            "topic": ["billing", "complaint", "billing", "technical", "complaint", "billing", "x"],
            "direction": ["inbound", "inbound", "outbound", "inbound", "inbound", "outbound", "in"],
            "resolved": ["yes", "no", "yes", "yes", "no", "yes", "yes"],
            "minutes": [5, 12.5, 3, 8, -1, 4, 1],
        }
    )


@pytest.fixture
def tiny_raw(tiny_customers, tiny_contacts) -> dict:
    return {"customers": tiny_customers, "contacts": tiny_contacts}


@pytest.fixture
def tiny_config_dict() -> dict:
    return {
        "name": "tiny",
        "data": {
            "customers": {
                "customer_id": "id", "signup_date": "start", "end_date": "stop",
                "segment": "tier", "value": "mrr", "account_manager": "owner",
            },
            "events": {
                "contacts": {
                    "kind": "contacts", "customer_id": "cust", "timestamp": "when",
                    "columns": {"topic": "categorical", "direction": "categorical",
                                "resolved": "boolean", "minutes": "numeric"},
                    "roles": {"topic": "topic", "direction": "direction",
                              "resolved": "resolved", "duration": "minutes"},
                }
            },
            "end": "2024-04-01",
        },
        "labels": {"definition": "contractual", "horizon_days": 30,
                   "cutoffs": ["2024-01-01", "2024-02-01", "2024-03-01"]},
    }
