"""Locate the configuration files shipped with churnkit (``configs/*.yaml``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["builtin_config"]


def builtin_config(name: str) -> Path:
    """Return the path of a built-in configuration file such as ``"reasons.yaml"``.

    The repository's top-level ``configs/`` folder is installed as the
    ``churnkit.configs`` package, so the same files are found from a source
    checkout, an editable install and a wheel.
    """
    path = Path(str(resources.files("churnkit.configs").joinpath(name)))
    if not path.is_file():
        from churnkit.exceptions import ConfigError

        available = sorted(p.name for p in path.parent.glob("*.yaml"))
        raise ConfigError(f"No built-in config named {name!r}. Available: {available}.")
    return path
