"""Locate the configuration files shipped with churnkit (``configs/*.yaml``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from churnkit.exceptions import ConfigError

__all__ = ["builtin_config", "config_file"]


def builtin_config(name: str) -> Path:
    """Return the path of a built-in configuration file such as ``"reasons.yaml"``.

    The repository's top-level ``configs/`` folder is installed as the
    ``churnkit.configs`` package, so the same files are found from a source
    checkout, an editable install and a wheel.

    Examples
    --------
    >>> builtin_config("reasons.yaml").name
    'reasons.yaml'
    """
    path = Path(str(resources.files("churnkit.configs").joinpath(name)))
    if not path.is_file():
        available = sorted(p.name for p in path.parent.glob("*.yaml"))
        raise ConfigError(f"No built-in config named {name!r}. Available: {available}.")
    return path


def config_file(path: str | Path | None, default: str) -> tuple[Path, str]:
    """The file to read and its name in messages: ``path``, or the built-in ``configs/<default>``.

    Examples
    --------
    >>> config_file(None, "playbooks.yaml")[1]
    'configs/playbooks.yaml'
    >>> config_file("my/playbooks.yaml", "playbooks.yaml")[1]
    'my/playbooks.yaml'
    """
    if path is None:
        return builtin_config(default), f"configs/{default}"
    return Path(path), str(path)
