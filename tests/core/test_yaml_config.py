"""The strict YAML → pydantic loader: messages, did-you-mean, capped echoes, refused inputs."""

from __future__ import annotations

import pytest
from pydantic import Field

from churnkit._core import (
    ECHO_LIMIT,
    MAX_YAML_NODES,
    StrictModel,
    load_yaml_model,
    read_yaml,
    validate_model,
)
from churnkit.exceptions import ConfigError


class Window(StrictModel):
    days: int = Field(30, gt=0)
    label: str = "recent"


class Settings(StrictModel):
    name: str
    window: Window = Field(default_factory=Window)
    windows: dict[str, Window | int] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)


def load(tmp_path, text: str) -> Settings:
    path = tmp_path / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    return load_yaml_model(path, Settings, where="configs/settings.yaml")


def test_valid_file_loads(tmp_path):
    settings = load(tmp_path, "name: a\nwindow: {days: 7}\nwindows: {short: {days: 3}, long: 90}\n")
    assert settings.window.days == 7
    assert settings.windows["long"] == 90


def test_unknown_key_names_file_path_and_closest_field(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "name: a\nwindow: {dayz: 7}\n")
    assert str(info.value) == (
        "configs/settings.yaml: window.dayz: unknown key (did you mean 'days'?); "
        "allowed keys: days, label"
    )


def test_unknown_key_without_close_field_lists_the_allowed_ones(tmp_path):
    with pytest.raises(ConfigError, match=r"^configs/settings\.yaml: colour: unknown key; "
                                          r"allowed keys: name, window, windows, tags$"):
        load(tmp_path, "name: a\ncolour: red\n")


def test_misspelt_required_key_is_one_line_not_two(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "nme: a\n")
    assert str(info.value) == (
        "configs/settings.yaml: nme: unknown key (did you mean 'name'?); "
        "allowed keys: name, window, windows, tags"
    )


def test_union_member_names_are_left_out_of_the_key_path(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "name: a\nwindows: {short: {dais: 3}}\n")
    lines = str(info.value).splitlines()
    assert lines[0] == ("configs/settings.yaml: windows.short.dais: unknown key "
                        "(did you mean 'days'?); allowed keys: days, label")
    assert "Window" not in str(info.value)


def test_value_errors_are_lower_case_and_dotted(tmp_path):
    with pytest.raises(ConfigError, match=r"^configs/settings\.yaml: window\.days: "
                                          r"input should be greater than 0$"):
        load(tmp_path, "name: a\nwindow: {days: 0}\n")
    with pytest.raises(ConfigError, match=r"tags\.1: input should be a valid string"):
        load(tmp_path, "name: a\ntags: [x, [y]]\n")


def test_echoed_values_are_capped(tmp_path):
    huge = "k" * 50_000
    with pytest.raises(ConfigError) as info:
        load(tmp_path, f"name: a\n? {huge}\n: 1\n")  # a key of any length
    message = str(info.value)
    assert len(message) < 1_000
    assert "k" * ECHO_LIMIT not in message
    assert "more characters" in message


def test_yaml_syntax_error_is_capped(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML") as info:
        load(tmp_path, "name: [" + "x" * 100_000 + "\n")
    assert len(str(info.value)) < 1_000


def test_empty_and_non_mapping_documents(tmp_path):
    with pytest.raises(ConfigError, match="the file is empty: expected a mapping"):
        load(tmp_path, "")
    with pytest.raises(ConfigError, match="got list: expected a mapping"):
        load(tmp_path, "- a\n")
    with pytest.raises(ConfigError, match="got str: expected a mapping of keys at the top level. Hint"):
        validate_model("text", Settings, where="x", hint="Hint.")


def test_alias_bomb_is_refused(tmp_path):
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 7):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(levels) + "\n")
    with pytest.raises(ConfigError, match=f"more than {MAX_YAML_NODES:,} values through its aliases"):
        read_yaml(path)


def test_a_few_aliases_are_fine(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("base: &base {days: 7}\nname: a\nwindow: *base\n")
    assert read_yaml(path)["window"] == {"days": 7}


def test_self_referencing_alias_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("a: &a [*a]\n")
    with pytest.raises(ConfigError, match="refers to the value that contains it"):
        read_yaml(path)


def test_oversized_and_deeply_nested_files_are_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("name: " + "x" * 2_000 + "\n")
    with pytest.raises(ConfigError, match="more than the 1,000 a configuration may have"):
        read_yaml(path, max_bytes=1_000)
    path.write_text("[" * 20_000 + "]" * 20_000)
    with pytest.raises(ConfigError, match="nested too deeply"):
        read_yaml(path)


def test_missing_file_and_bad_values(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: cannot be read: the file does not exist"):
        read_yaml(tmp_path / "nope.yaml")
    path = tmp_path / "date.yaml"
    path.write_text("start: 2024-13-01\n")
    with pytest.raises(ConfigError, match="a value cannot be read: month must be in 1..12"):
        read_yaml(path)
    path.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_yaml(path)


def test_shorthand_through_coerce():
    class Tag(StrictModel):
        text: str

        @classmethod
        def _coerce(cls, data):
            return {"text": data} if isinstance(data, str) else data

    assert Tag.model_validate("hi").text == "hi"
    with pytest.raises(ConfigError, match="tx: unknown key \\(did you mean 'text'\\?\\)"):
        validate_model({"tx": "hi"}, Tag, where="t.yaml")
