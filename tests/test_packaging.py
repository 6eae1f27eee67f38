"""The wheel ships every sub-package of churnkit/ and the YAML files of configs/."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _setuptools() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_sub_package_is_listed():
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "churnkit").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    listed = set(_setuptools()["packages"])
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - found == {"churnkit.configs"}, "listed packages that do not exist"


def test_configs_ship_as_churnkit_configs_with_their_yaml_files():
    tool = _setuptools()
    assert tool["package-dir"] == {"churnkit.configs": "configs"}
    assert tool["package-data"]["churnkit.configs"] == ["*.yaml"]
    assert (REPO / "configs" / "__init__.py").is_file()
    assert list((REPO / "configs").glob("*.yaml"))
