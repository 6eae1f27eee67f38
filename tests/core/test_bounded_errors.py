"""Alias bombs in any YAML file churnkit reads are refused fast, and messages stay short."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cli_runner import cli_runner

from churnkit.actions import load_playbooks
from churnkit.cli import app
from churnkit.config import load_config
from churnkit.exceptions import ConfigError
from churnkit.explain import load_reasons


def _bomb(levels: int, top_key: str) -> str:
    """A billion-laughs document: ``levels`` lists, each of ten aliases of the list before."""
    lists = ["&a [l,l,l,l,l,l,l,l,l,l]"]
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lists.append(f"&{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    return f"{top_key}: [{','.join(lists)}]\n"


LOADERS = {"config": load_config, "reasons": load_reasons, "playbooks": load_playbooks}
TOP_KEYS = {"config": "name", "reasons": "groups", "playbooks": "playbooks"}


@pytest.mark.parametrize("kind", list(LOADERS))
def test_a_299_byte_billion_laughs_is_refused_fast_with_a_short_message(tmp_path, kind):
    text = _bomb(8, TOP_KEYS[kind])  # over 10**8 values once expanded
    assert len(text.encode()) <= 299
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text)
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        LOADERS[kind](path)
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert "aliases" in message
    assert str(path) in message
    assert len(message) < 400


@pytest.mark.parametrize("kind", list(LOADERS))
def test_a_large_value_under_the_alias_limit_is_not_echoed_in_full(tmp_path, kind):
    text = _bomb(5, TOP_KEYS[kind])  # 100,000 values: allowed, but of the wrong type
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text)
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        LOADERS[kind](path)
    assert time.perf_counter() - start < 20
    assert len(str(info.value)) < 3_000
    assert str(path) in str(info.value)


def test_billion_laughs_config_through_the_cli(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(_bomb(8, "name"))
    start = time.perf_counter()
    r = cli_runner().invoke(app, ["validate", "--config", str(path)])
    assert time.perf_counter() - start < 5
    assert r.exit_code == 1, r.output
    assert "aliases" in r.stderr
    assert len(r.stderr) < 500
    assert "Traceback" not in r.output


def test_a_huge_unknown_key_is_echoed_capped(tmp_path):
    path = tmp_path / "playbooks.yaml"
    path.write_text(f"playbooks: {{{'r' * 100_000}: [x]}}\n")
    with pytest.raises(ConfigError) as info:
        load_playbooks(Path(path))
    assert len(str(info.value)) < 2_000
