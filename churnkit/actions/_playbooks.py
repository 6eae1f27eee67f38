"""Retention playbooks: from a customer's reasons to concrete, owned actions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import field_validator

from churnkit._core import (
    Coded,
    StrictModel,
    cap_text,
    combine_coded,
    config_file,
    did_you_mean,
    load_yaml_model,
    short_repr,
    str_take,
)
from churnkit.exceptions import ConfigError
from churnkit.explain import ReasonConfig

__all__ = [
    "DEFAULT_PLAYBOOK",
    "PlaybookAction",
    "PlaybookConfig",
    "load_playbooks",
    "recommend",
    "validate_playbooks",
]

DEFAULT_PLAYBOOK = "default"
_REASON_ID_COL = re.compile(r"^reason_(\d+)_id$")


class PlaybookAction(StrictModel):
    """One retention action: what to do, who does it, when, and what for.

    ``purpose`` names what the action achieves (``value_review``,
    ``fix_issue``...). Actions of different playbooks that serve the same
    purpose ("Report the value delivered so far..." for a price reason and for
    a contract reason) share it, and a customer is never recommended two
    actions with the same purpose. Without it, an action's purpose is its own
    wording (case and spacing aside), so only identical actions are merged.

    Examples
    --------
    >>> a = PlaybookAction(action="Call  the customer", owner="account manager",
    ...                    timing="this week")
    >>> a.purpose_key
    'call the customer'
    >>> PlaybookAction(action="Call", owner="me", timing="now", purpose="Check-in").purpose_key
    'check-in'
    """

    action: str
    owner: str
    timing: str
    purpose: str | None = None

    @field_validator("action", "owner", "timing", "purpose")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @property
    def purpose_key(self) -> str:
        """The key two actions must share to count as the same purpose."""
        return " ".join((self.purpose or self.action).lower().split())

    def describe(self) -> str:
        """Return the action as one line, e.g. ``"Fix ... (support lead, within 48 hours)"``."""
        return f"{self.action} ({self.owner}, {self.timing})"


class PlaybookConfig(StrictModel):
    """Ordered actions per reason id, as read from ``configs/playbooks.yaml``."""

    playbooks: dict[str, tuple[PlaybookAction, ...]]

    @field_validator("playbooks")
    @classmethod
    def _has_default(
        cls, value: dict[str, tuple[PlaybookAction, ...]]
    ) -> dict[str, tuple[PlaybookAction, ...]]:
        if DEFAULT_PLAYBOOK not in value:
            raise ValueError(
                f"a {DEFAULT_PLAYBOOK!r} playbook is required (used for reasons without their own)"
            )
        empty = [key for key, actions in value.items() if not actions]
        if empty:
            raise ValueError(f"playbook {short_repr(empty[0])} has no actions; list at least one")
        return value

    def actions_for(self, reason_id: str) -> tuple[PlaybookAction, ...]:
        """Actions for ``reason_id``, or the default playbook if it has none."""
        return self.playbooks.get(reason_id) or self.playbooks[DEFAULT_PLAYBOOK]


def validate_playbooks(
    playbooks: PlaybookConfig, reasons: ReasonConfig, *, where: str = "playbooks"
) -> None:
    """Check that every playbook key is a reason id defined in ``reasons`` (or ``default``).

    Raises
    ------
    ConfigError
        Naming the unknown id(s) and listing the known ones.
    """
    known = reasons.ids
    unknown = [key for key in playbooks.playbooks if key != DEFAULT_PLAYBOOK and key not in known]
    if unknown:
        raise ConfigError(
            f"{where}: playbooks.{cap_text(str(unknown[0]), 60)}: unknown reason id "
            f"{short_repr(unknown[0])}"
            + did_you_mean(unknown[0], known)
            + (f" (and {len(unknown) - 1} more: {unknown[1:6]})" if len(unknown) > 1 else "")
            + f". Known reason ids: {', '.join(known)} (plus {DEFAULT_PLAYBOOK!r})."
        )


def load_playbooks(
    path: str | Path | None = None, *, reasons: ReasonConfig | None = None
) -> PlaybookConfig:
    """Load playbooks from YAML (default: the built-in ``configs/playbooks.yaml``).

    Parameters
    ----------
    path : str or Path, optional
        A playbooks file; ``None`` loads the one shipped with churnkit.
    reasons : ReasonConfig, optional
        If given, every playbook key must be one of its reason ids.

    Returns
    -------
    PlaybookConfig

    Raises
    ------
    ConfigError
        With the file and key path, e.g.
        ``configs/playbooks.yaml: playbooks.billing_price.0.owner: field required``.

    Examples
    --------
    >>> pb = load_playbooks()
    >>> pb.actions_for("unresolved_complaints")[0].owner
    'support lead'
    """
    file, where = config_file(path, "playbooks.yaml")
    config = load_yaml_model(file, PlaybookConfig, where=where,
                             hint="Start from the built-in configs/playbooks.yaml.")
    if reasons is not None:
        validate_playbooks(config, reasons, where=where)
    return config


def _reason_columns(reason_ids: pd.DataFrame) -> list[str]:
    matches = ((_REASON_ID_COL.match(str(c)), str(c)) for c in reason_ids.columns)
    numbered = sorted((int(m.group(1)), c) for m, c in matches if m)
    return [c for _, c in numbered] if numbered else [str(c) for c in reason_ids.columns]


def _pick(ids: tuple[Any, ...], playbooks: PlaybookConfig, k: int) -> list[str | None]:
    lists = [playbooks.actions_for(str(i)) for i in ids if isinstance(i, str) and i]
    if not lists:
        lists = [playbooks.actions_for(DEFAULT_PLAYBOOK)]
    chosen: list[str | None] = []
    seen: set[str] = set()
    for rank in range(max(len(actions) for actions in lists)):
        for actions in lists:
            if rank < len(actions) and len(chosen) < k:
                key = actions[rank].purpose_key
                if key not in seen:
                    seen.add(key)
                    chosen.append(actions[rank].describe())
    return chosen + [None] * (k - len(chosen))


def _distinct_rows(frame: pd.DataFrame) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
    """Each row's code among the distinct rows of ``frame``, and those rows (missing as ``""``).

    Codes each column on its own and combines the codes (:func:`combine_coded`):
    much faster than hashing tuples of strings.
    """
    if not len(frame.columns):
        return np.zeros(len(frame), dtype=np.intp), [()]
    parts = []
    for col in frame.columns:
        codes, found = pd.factorize(frame[col], use_na_sentinel=True)
        values = np.append(np.asarray(found, dtype=object), "")
        parts.append(Coded(np.where(codes < 0, len(values) - 1, codes), values))
    rows = combine_coded(parts, lambda *values: values)
    return rows.codes, list(rows.words)


def recommend(
    reason_ids: pd.DataFrame,
    playbooks: PlaybookConfig | str | Path | None = None,
    k: int = 3,
) -> pd.DataFrame:
    """Recommend ``k`` distinct actions per customer from their top reasons.

    Actions are taken in turn from each reason's playbook: the first action
    of reason 1, of reason 2, of reason 3, then the second actions, and so on,
    skipping an action whose purpose (:attr:`PlaybookAction.purpose`) an
    action already chosen serves (that playbook's next action comes in the
    next round). Reasons without a playbook use the ``default``
    one, as do customers with no positive reason.

    Parameters
    ----------
    reason_ids : DataFrame
        One row per customer. Columns ``reason_1_id, reason_2_id, ...`` (as
        :func:`churnkit.explain.top_reasons` returns; other columns are
        ignored), or else every column is read as a reason id in order.
    playbooks : PlaybookConfig, path or None
        ``None`` uses the built-in ``configs/playbooks.yaml``.
    k : int, default 3
        Number of actions per customer.

    Returns
    -------
    DataFrame
        Same index; columns ``action_1..k``, each ``"what (owner, timing)"``.
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"The 'k' parameter of recommend must be an int >= 1. Got {k!r} instead.")
    if not isinstance(playbooks, PlaybookConfig):
        playbooks = load_playbooks(playbooks)
    codes, uniques = _distinct_rows(reason_ids[_reason_columns(reason_ids)])
    table = np.array([_pick(u, playbooks, k) for u in uniques], dtype=object).reshape(-1, k)
    return pd.DataFrame({f"action_{i + 1}": str_take(table[:, i], codes) for i in range(k)},
                        index=reason_ids.index)
