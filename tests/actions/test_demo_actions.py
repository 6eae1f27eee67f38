"""The demo's at-risk lists never recommend two actions with one purpose."""

from __future__ import annotations

import pandas as pd
import pytest
from cli_runner import cli_runner

from churnkit.actions import load_playbooks
from churnkit.cli import app

pytestmark = pytest.mark.slow  # runs `churnkit demo` end to end


def purposes_of(at_risk: pd.DataFrame) -> pd.DataFrame:
    """The purpose of each recommended action (``action_1..3``), by its described text."""
    playbooks = load_playbooks()
    purpose = {a.describe(): a.purpose_key for actions in playbooks.playbooks.values() for a in actions}
    cols = ["action_1", "action_2", "action_3"]
    unknown = {a for a in at_risk[cols].to_numpy().ravel() if isinstance(a, str)} - set(purpose)
    assert not unknown, f"actions not in the built-in playbooks: {sorted(unknown)[:3]}"
    return at_risk[cols].apply(lambda col: col.map(purpose))


def repeated_purposes(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with two actions of one purpose."""
    purposes = purposes_of(frame)
    repeated = purposes.nunique(axis=1) < purposes.notna().sum(axis=1)
    return frame.loc[repeated, ["customer_id", "action_1", "action_2", "action_3"]]


@pytest.fixture(scope="module")
def demo_600(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo_actions")
    result = cli_runner().invoke(app, ["demo", "--out", str(out), "--customers", "600",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("name", ["at_risk", "scores"])
def test_no_row_recommends_two_actions_of_one_purpose(demo_600, name):
    """Every at-risk row, and every scored customer (the demo explains all of them)."""
    frame = pd.read_csv(demo_600 / f"{name}.csv")
    assert len(frame) >= 20, len(frame)
    assert frame["action_1"].notna().all()  # every listed customer gets actions
    repeated = repeated_purposes(frame)
    assert repeated.empty, repeated.head(3).to_dict("records")
