"""The wheel ships every sub-package of churnkit/ and the YAML files of configs/."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.version import Version

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


def test_distribution_name_is_our_own_and_the_version_has_one_source():
    """``churnkit`` on the package index is another project: ours is churnkit-crm."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "churnkit-crm"
    assert "version" not in project
    assert project["dynamic"] == ["version"]
    assert _setuptools()["dynamic"]["version"] == {"attr": "churnkit._core.version.__version__"}
    for extra in project["optional-dependencies"].values():
        assert not any(dep.startswith("churnkit[") for dep in extra)


def test_no_install_line_names_the_other_project():
    """Every `pip install` in the docs and messages installs churnkit-crm or a local path."""
    other = re.compile(r"pip install\s+(-\S+\s+)*['\"]?churnkit(\[|['\"\s]|$)")
    assert other.search("pip install 'churnkit[dask]'")
    assert other.search("pip install -U churnkit")
    assert not other.search("pip install 'churnkit-crm[dask]'")
    texts = [REPO / "README.md", *sorted((REPO / "churnkit").rglob("*.py"))]
    found = [f"{path.name}: {line.strip()}" for path in texts
             for line in path.read_text(encoding="utf-8").splitlines() if other.search(line)]
    assert found == []


def test_version_option_prints_the_package_version():
    from cli_runner import cli_runner

    from churnkit import __version__
    from churnkit.cli import app

    result = cli_runner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"churnkit {__version__} (distribution churnkit-crm)"


def test_minimum_versions_file_pins_every_declared_floor():
    """.ci/min-versions.txt tests exactly the floors pyproject.toml declares."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {}
    for dep in [*project["dependencies"], *project["optional-dependencies"]["test"]]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?>=([0-9.]+)", dep)
        assert match, f"{dep}: declare a floor with >="
        declared[match[1].lower()] = match[3]
    pinned = dict(
        line.split("==") for line in (REPO / ".ci" / "min-versions.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(declared) <= set(pinned), "pin these floors in .ci/min-versions.txt"
    differ = {n: (v, pinned[n]) for n, v in declared.items() if Version(v) != Version(pinned[n])}
    assert differ == {}, "declared floor != tested version"
