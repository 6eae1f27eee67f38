"""Fixtures of the feature tests: the sample CRM loaded with the built-in default config."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest

import churnkit as ck
from churnkit.config import Config
from churnkit.datasets import make_crm


@pytest.fixture(scope="session")
def default_config() -> Config:
    """``configs/default.yaml``, the configuration of the sample CRM."""
    return ck.load_config(Path(str(resources.files("churnkit.configs").joinpath("default.yaml"))))


@pytest.fixture(scope="session")
def crm_dataset(default_config: Config) -> Callable[..., ck.Dataset]:
    """Load ``make_crm(n, random_state=random_state)`` as a validated Dataset."""
    def load(n: int = 300, random_state: int = 0) -> ck.Dataset:
        return ck.load_dataset(default_config, make_crm(n, random_state=random_state).tables)

    return load
