"""Retention actions (event kind ``actions``) become point-in-time features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import churnkit as ck
from churnkit.datasets import make_crm
from churnkit.features import build_features

pytestmark = pytest.mark.slow  # loads and builds features of a sample CRM twice


@pytest.fixture(scope="module")
def campaign_project(tmp_path_factory):
    crm = make_crm(400, random_state=0, months=12, campaigns=2)
    config = ck.load_config(crm.write_project(tmp_path_factory.mktemp("actions")))
    return crm, config


def _spine(dataset, cutoff):
    return pd.DataFrame({"customer_id": dataset.customers["customer_id"], "cutoff": cutoff})


def test_actions_table_is_read_like_any_event_table(campaign_project):
    crm, config = campaign_project
    assert config.data.events["actions"].kind == "actions"
    dataset = ck.load_dataset(config, crm.tables)
    assert len(dataset.events["actions"]) == len(crm.actions) > 0
    cutoff = crm.assignments["as_of"].max() + pd.Timedelta(days=10)
    X = build_features(dataset, _spine(dataset, cutoff), windows=[30, 90])
    acts = crm.actions[crm.actions["timestamp"] < cutoff]
    counts = acts[acts["timestamp"] >= cutoff - pd.Timedelta(days=30)].groupby("customer_id").size()
    got = X["actions__count__30d"].set_axis(dataset.customers["customer_id"].astype(str))
    expected = counts.reindex(got.index, fill_value=0)
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
    last = acts.groupby("customer_id")["timestamp"].max()
    days = ((cutoff - last) / pd.Timedelta(days=1)).reindex(got.index)
    since = X["actions__days_since_last"].set_axis(got.index)
    np.testing.assert_allclose(since.to_numpy(), days.to_numpy(), rtol=1e-5)
    assert "actions__playbook=" in " ".join(X.columns)


def test_appending_future_actions_changes_no_feature(campaign_project):
    crm, config = campaign_project
    cutoff = crm.assignments["as_of"].max() + pd.Timedelta(days=3)  # mid-campaign
    dataset = ck.load_dataset(config, crm.tables)
    spine = _spine(dataset, cutoff)
    before = build_features(dataset, spine, windows=[30, 90])
    future = crm.actions.copy()
    hours = np.random.default_rng(0).integers(0, 24 * 40, len(future))
    future["timestamp"] = cutoff + pd.to_timedelta(hours, "h")
    future.loc[future.index[:20], "timestamp"] = cutoff  # at the cutoff: not before it
    tables = {**crm.tables, "actions": pd.concat([crm.actions, future], ignore_index=True)}
    more = ck.load_dataset(config, tables)
    assert len(more.events["actions"]) == 2 * len(crm.actions)
    after = build_features(more, spine, windows=[30, 90])
    pd.testing.assert_frame_equal(before, after)
