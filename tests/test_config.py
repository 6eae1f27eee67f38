from pathlib import Path

import pandas as pd
import pytest

from churnkit import ConfigError, load_config
from churnkit.config import config_from_dict
from churnkit.data import load_dataset
from churnkit.features import feature_set

REPO = Path(__file__).resolve().parents[1]


PIPELINE_CONFIGS = sorted(
    [p for p in (REPO / "configs").glob("*.yaml") if p.name not in {"reasons.yaml", "playbooks.yaml"}]
    + list((REPO / "benchmarks" / "configs").glob("*.yaml")), key=lambda p: p.name)


@pytest.mark.parametrize("path", PIPELINE_CONFIGS, ids=lambda p: p.name)
def test_every_pipeline_config_is_valid(path):
    cfg = load_config(path)
    assert cfg.name


def test_the_package_ships_only_configs_that_work_after_install():
    """Public-dataset configs point at ../shared/data: they live beside the benchmarks."""
    shipped = sorted(p.name for p in (REPO / "configs").glob("*.yaml"))
    assert shipped == ["default.yaml", "playbooks.yaml", "reasons.yaml"]
    assert "shared" not in (REPO / "configs" / "default.yaml").read_text(encoding="utf-8")


def _write(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


def test_unknown_key_names_file_and_path(tmp_path):
    path = _write(tmp_path, "data:\n  customers: {path: c.csv, custmer_id: id}\n"
                            "labels: {cutoffs: [2024-01-01]}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: data\.customers\.custmer_id: unknown key \(did you mean 'customer_id'\?\)"):
        load_config(path)


def test_bad_value_names_the_key(tmp_path):
    path = _write(tmp_path, "data: {customers: {path: c.csv}}\n"
                            "labels: {horizon_days: 0, cutoffs: [2024-01-01]}\n")
    with pytest.raises(ConfigError, match=r"labels\.horizon_days: input should be greater than 0"):
        load_config(path)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"data": {}}, "give exactly one of 'customers'"),
        ({"data": {"customers": {}}, "labels": {"definition": "contractual"}}, "needs 'cutoffs'"),
        ({"data": {"customers": {}}, "labels": {"cutoffs": {"start": "2024-01-01", "every": "fortnight"}}},
         "not a pandas offset alias"),
        ({"data": {"snapshot": {"label": "y"}}, "labels": {"definition": "contractual",
                                                            "cutoffs": ["2024-01-01"]}},
         "snapshot data needs labels.definition: column"),
        ({"data": {"customers": {"from_events": "nope"}}, "labels": {"cutoffs": ["2024-01-01"]}},
         "from_events names 'nope'"),
        ({"data": {"customers": {}, "events": {"e": {"roles": {"colour": "x"}}}},
          "labels": {"cutoffs": ["2024-01-01"]}}, r"unknown role\(s\) \['colour'\]"),
        ({"data": {"customers": {}}, "labels": {"cutoffs": ["2024-01-01"]},
          "scoring": {"risk_bands": {"medium": 0.2, "high": 0.5}}}, "highest threshold"),
        ({"data": {"customers": {}}, "labels": {"cutoffs": ["2024-01-01"]},
          "model": {"calibration": "magic"}}, r"model\.calibration: input should be 'isotonic', 'sigmoid' or 'none'"),
    ],
)
def test_invalid_configs(raw, match):
    with pytest.raises(ConfigError, match=match):
        config_from_dict(raw)


def test_missing_empty_and_broken_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="the file is empty"):
        load_config(_write(tmp_path, ""))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(_write(tmp_path, "data: [unclosed\n"))
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(_write(tmp_path, "- a\n- b\n"))


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    cfg = load_config(_write(tmp_path, "data: {customers: {path: sub/c.csv}}\n"
                                       "labels: {cutoffs: [2024-01-01]}\n"))
    assert cfg.resolve(cfg.data.customers.path) == tmp_path / "sub" / "c.csv"


def test_unknown_key_suggests_the_closest_known_key(tmp_path):
    path = _write(tmp_path, "data: {customers: {path: c.csv}}\n"
                            "labels: {cutoffs: {start: 2024-01-01, evry: MS}}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: labels\.cutoffs\.evry: unknown key "
                                          r"\(did you mean 'every'\?\); allowed keys: start, end, every"):
        load_config(path)
    with pytest.raises(ConfigError, match=r"unknown aggregation\(s\) \['summ'\] \(did you mean 'sum'\?\)"):
        config_from_dict({"data": {"customers": {}, "events": {"e": {"aggregations": {"a": ["summ"]}}}},
                          "labels": {"cutoffs": ["2024-01-01"]}})


def test_a_long_value_is_echoed_cut_short(tmp_path):
    path = _write(tmp_path, "data: {customers: {path: c.csv}}\n"
                            "labels: {cutoffs: {start: 2024-01-01, every: '" + "M" * 100_000 + "'}}\n")
    with pytest.raises(ConfigError, match=r"labels\.cutoffs\.every: 'MMM.*more characters\) is not a "
                                          r"pandas offset alias") as info:
        load_config(path)
    assert "M" * 250 not in str(info.value)
    assert len(str(info.value)) < 1_000


def test_alias_bomb_is_refused(tmp_path):
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"{c}: &{c} [" + ", ".join([f"*{p}"] * 10) + "]" for p, c in zip("abcdef", "bcdefg", strict=True)]
    with pytest.raises(ConfigError, match="through its aliases"):
        load_config(_write(tmp_path, "\n".join(lines) + "\n"))


def test_a_renamed_key_names_its_new_name():
    """features.top_k became features.max_categories (the name StaticFeatures uses too)."""
    raw = {"data": {"customers": {"path": "customers.csv"}},
           "labels": {"cutoffs": ["2024-01-01"]}, "features": {"top_k": 5}}
    with pytest.raises(ConfigError, match=r"features\.top_k: renamed to 'max_categories'"):
        config_from_dict(raw)


def _event_config(**features):
    return config_from_dict({
        "data": {"customers": {"customer_id": "id"},
                 "events": {"logins": {"kind": "usage", "timestamp": "day"}}},
        "labels": {"definition": "contractual", "horizon_days": 45,
                   "cutoffs": {"start": "2024-03-01", "every": "MS"}},
        "features": features,
    })


def test_the_label_horizon_is_a_feature_window_unless_turned_off():
    """Activity in the last horizon-long period: the window is added where the list lacks it,
    kept once where it has it, and left out on request; the features follow."""
    assert _event_config(windows=[30, 90]).features.windows == [30, 45, 90]
    assert _event_config(windows=[45, 90]).features.windows == [45, 90]
    assert _event_config(windows=[30, 90], horizon_window=False).features.windows == [30, 90]
    days = pd.date_range("2024-01-01", periods=120, freq="D")
    tables = {"customers": pd.DataFrame({"id": ["a", "b"]}),
              "logins": pd.DataFrame({"customer_id": ["a"] * 120, "day": days})}
    cfg = _event_config(windows=[30, 90])
    ds = load_dataset(cfg, tables)
    spine = pd.DataFrame({"customer_id": ["a", "b"], "cutoff": pd.Timestamp("2024-04-20")})
    X = feature_set(cfg.features).fit_transform(ds, spine)
    assert X.loc[0, "logins__count__45d"] == 45  # 2024-03-06 .. 04-19
    assert X.loc[0, "logins__count__30d"] == 30
