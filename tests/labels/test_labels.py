import pandas as pd
import pytest

from churnkit import ConfigError, load_dataset, make_cutoffs, make_labels
from churnkit.config import CutoffSchedule, config_from_dict
from churnkit.labels import active_mask


@pytest.fixture
def tiny(tiny_config_dict, tiny_raw):
    return load_dataset(config_from_dict(tiny_config_dict), tiny_raw)


def test_contractual_labels_only_active_customers_and_churn_in_horizon(tiny):
    labels = make_labels(tiny, pd.to_datetime(["2024-01-01", "2024-03-01"]), horizon_days=30)
    got = {(r.customer_id, str(r.cutoff.date())): r.label for r in labels.itertuples()}
    # c signs up 2024-01-10 (not yet a customer on 01-01); d ended 2024-01-05 (churns in horizon)
    assert got == {
        ("a", "2024-01-01"): False, ("b", "2024-01-01"): False, ("d", "2024-01-01"): True,
        ("a", "2024-03-01"): False, ("b", "2024-03-01"): True, ("c", "2024-03-01"): False,
    }


def test_cutoffs_whose_horizon_runs_past_the_data_are_excluded(tiny):
    labels = make_labels(tiny, pd.to_datetime(["2024-02-01", "2024-03-15"]), horizon_days=30)
    assert set(labels["cutoff"].dt.date.astype(str)) == {"2024-02-01"}
    with pytest.raises(ConfigError, match="horizon inside the data"):
        make_labels(tiny, pd.to_datetime(["2024-03-15"]), horizon_days=30)


def test_inactivity_labels(tiny):
    labels = make_labels(tiny, pd.to_datetime(["2024-02-01"]), definition="inactivity",
                         horizon_days=30, lookback_days=60)
    got = dict(zip(labels.customer_id, labels.label, strict=True))
    # a: contacts 2024-01-20 (active) and 2024-02-25 (in horizon) → stays
    # b: contact 2024-01-05 (active) and 2024-02-10 (in horizon) → stays
    assert got == {"a": False, "b": False}
    labels = make_labels(tiny, pd.to_datetime(["2024-01-15"]), definition="inactivity",
                         horizon_days=20, lookback_days=60)
    # horizon [01-15, 02-04): a comes back on 01-20, b not until 02-10
    assert dict(zip(labels.customer_id, labels.label, strict=True)) == {"a": False, "b": True}


def test_active_mask_contractual(tiny):
    mask = active_mask(tiny, pd.Timestamp("2024-01-06"))
    assert dict(zip(tiny.customers.customer_id, mask, strict=True)) == {
        "a": True, "b": True, "c": False, "d": False}


def test_schedule_and_explicit_cutoffs():
    end = pd.Timestamp("2024-07-01")
    got = make_cutoffs(CutoffSchedule(start="2024-01-01", every="MS"), end=end, horizon_days=60)
    assert got[0] == pd.Timestamp("2024-01-01")
    assert got[-1] == pd.Timestamp("2024-05-01")  # 2024-05-01 + 60 days <= end
    got = make_cutoffs(["2024-03-01", "2024-01-01", "2024-03-01"], end=end, horizon_days=60)
    assert list(got) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-03-01")]
    with pytest.raises(ConfigError, match="gives no cutoff"):
        make_cutoffs(CutoffSchedule(start="2024-06-01"), end=end, horizon_days=60)


def test_bad_definition_is_a_clear_error(tiny):
    with pytest.raises(ConfigError, match="'definition' parameter of make_labels"):
        make_labels(tiny, pd.to_datetime(["2024-01-01"]), definition="magic")
