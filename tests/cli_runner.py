"""One typer test runner for every CLI test: stdout and stderr kept apart on every click.

click 8.2+ always keeps them apart; click 8.1 (the minimum-versions run) mixes them
unless asked not to.
"""

import inspect

from typer.testing import CliRunner

__all__ = ["cli_runner"]


def cli_runner() -> CliRunner:
    """A runner whose results have separate ``stdout`` and ``stderr``."""
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    return CliRunner()
