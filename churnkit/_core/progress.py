"""The progress callback type that long-running steps accept."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Progress", "no_progress"]


class Progress(Protocol):
    """Called with a short message (e.g. ``"features: 3 of 8 partitions"``) as work advances.

    Any callable taking one string fits: ``print``, a rich progress bar's
    ``update`` wrapper, a logger's ``info``.
    """

    def __call__(self, message: str, /) -> None:
        """Report ``message``."""


def no_progress(message: str) -> None:
    """Ignore ``message``: the default :class:`Progress` of steps that run silently."""
