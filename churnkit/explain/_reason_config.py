"""The reason groups of ``configs/reasons.yaml``: validated models and their loading."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, field_validator

from churnkit._core import StrictModel, config_file, load_yaml_model, short_repr
from churnkit.explain._wording import glob_regex, parse_condition, parse_template

__all__ = [
    "EXPECTED_COLUMN",
    "ReasonConfig",
    "ReasonGroup",
    "ReasonPattern",
    "ReasonTemplate",
    "as_reason_config",
    "load_reasons",
]

EXPECTED_COLUMN = "(expected)"
_ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_IF_RE = re.compile(r"\s+if\s+")
_AND_RE = re.compile(r"\s+and\s+")


def _as_tuple(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


def _conditions_parse(value: tuple[str, ...], *, allow_self: bool) -> tuple[str, ...]:
    for cond in value:
        parse_condition(cond, allow_self=allow_self)
    return value


Strings = Annotated[tuple[str, ...], BeforeValidator(_as_tuple)]
"""A tuple of strings, also written as one string."""
Conditions = Annotated[Strings, AfterValidator(partial(_conditions_parse, allow_self=False))]
"""Conditions ``operand op operand`` naming features."""
OwnConditions = Annotated[Strings, AfterValidator(partial(_conditions_parse, allow_self=True))]
"""Conditions that may also be ``op value`` about the matched feature itself."""


# ----------------------------------------------------------------------------- config models
class ReasonTemplate(StrictModel):
    """One wording of a reason, used when its fields exist and ``when`` holds."""

    text: str
    when: Conditions = ()
    top_feature: Strings = ()
    """Globs: use the template only if the group's strongest feature matches one."""

    @classmethod
    def _coerce(cls, data: Any) -> Any:
        return {"text": data} if isinstance(data, str) else data

    @field_validator("text")
    @classmethod
    def _text_parses(cls, value: str) -> str:
        parse_template(value)
        return value


class ReasonPattern(StrictModel):
    """Globs on feature names, optionally conditional on the customer's values.

    Written as a string, ``"glob"`` or ``"glob if cond and cond"``, or as a
    mapping ``{pattern: glob or [globs], when: cond or [conds]}``. A condition
    is ``op value`` about the matched feature itself (``"> 0"``) or ``operand
    op operand`` naming other features (``"static__tenure_days < 180"``); all
    must hold.
    """

    pattern: Strings
    when: OwnConditions = ()

    @classmethod
    def _coerce(cls, data: Any) -> Any:
        if isinstance(data, str):
            glob, *conds = _IF_RE.split(data.strip(), maxsplit=1)
            return {"pattern": glob, "when": _AND_RE.split(conds[0]) if conds else ()}
        if not isinstance(data, Mapping):
            raise ValueError(
                "input should be a valid string (a glob such as 'usage__*' or "
                f"'x__change* if > 0') or a mapping {{pattern: ..., when: ...}}, got {short_repr(data)}"
            )
        return data

    @field_validator("pattern")
    @classmethod
    def _globs_ok(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("needs at least one glob, e.g. 'usage__*'")
        for glob in value:
            if not glob.strip() or re.search(r"\sif(\s|$)", glob.strip()):
                raise ValueError(
                    f"{short_repr(glob)} is not a glob; write e.g. 'usage__*' or 'usage__* if > 0' "
                    "(in the mapping form, conditions go in 'when')"
                )
        return tuple(glob.strip() for glob in value)

    def matches(self, feature: str) -> bool:
        """Whether ``feature``'s name matches one of the globs (conditions aside)."""
        return glob_regex(self.pattern).match(feature) is not None


class ReasonGroup(StrictModel):
    """A reason: the features it claims and how to word it."""

    id: str
    label: str
    patterns: tuple[ReasonPattern, ...]
    template: tuple[ReasonTemplate, ...]

    @field_validator("id")
    @classmethod
    def _id_ok(cls, value: str) -> str:
        if not _ID_RE.match(value) or value == "default":
            raise ValueError(
                f"{short_repr(value)} is not a valid reason id: use letters, digits, '_', '.', '-' "
                "(and not the reserved 'default')"
            )
        return value

    @field_validator("patterns", mode="before")
    @classmethod
    def _patterns_list(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple) or not value:
            raise ValueError(
                "must be a non-empty list of glob patterns, e.g. ['contacts__unresolved__*']"
            )
        return value

    @field_validator("template", mode="before")
    @classmethod
    def _template_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | Mapping) else value

    def matches(self, feature: str) -> bool:
        """Whether ``feature`` matches one of the group's globs (conditions aside)."""
        return any(p.matches(feature) for p in self.patterns)


Chain = tuple[tuple[str | None, tuple[str, ...]], ...]


class ReasonConfig(StrictModel):
    """Ordered reason groups, as read from ``configs/reasons.yaml``."""

    reasons: tuple[ReasonGroup, ...]

    @field_validator("reasons")
    @classmethod
    def _unique_ids(cls, value: tuple[ReasonGroup, ...]) -> tuple[ReasonGroup, ...]:
        seen: set[str] = set()
        for group in value:
            if group.id in seen:
                raise ValueError(f"reason id {group.id!r} is defined twice")
            seen.add(group.id)
        return value

    @property
    def ids(self) -> list[str]:
        """Reason ids in configuration order."""
        return [group.id for group in self.reasons]

    def chain(self, feature: str) -> Chain:
        """The ``(reason id, conditions)`` a feature may belong to, in the order they are tried.

        The last entry has no conditions; its id is ``None`` when no group
        claims the feature unconditionally (it is then a reason of its own).
        """
        out: list[tuple[str | None, tuple[str, ...]]] = []
        for group in self.reasons:
            for pat in group.patterns:
                if pat.matches(feature):
                    out.append((group.id, pat.when))
                    if not pat.when:
                        return tuple(out)
        return (*out, (None, ()))

    def assign(self, features: Sequence[str]) -> dict[str, str | None]:
        """Map each feature to the first group that claims it unconditionally (or ``None``).

        This is the grouping when feature values are unknown; use
        :func:`churnkit.explain.feature_reasons` for the grouping of each customer.
        """
        return {f: self.chain(f)[-1][0] for f in features}


def load_reasons(path: str | Path | None = None) -> ReasonConfig:
    """Load reason groups from a YAML file (default: the built-in ``configs/reasons.yaml``).

    Parameters
    ----------
    path : str or Path, optional
        A reasons file; ``None`` loads the one shipped with churnkit.

    Returns
    -------
    ReasonConfig

    Raises
    ------
    ConfigError
        With the file and key path, e.g.
        ``configs/reasons.yaml: reasons.2.label: field required``.

    Examples
    --------
    >>> cfg = load_reasons()
    >>> cfg.ids[0]
    'unresolved_complaints'
    """
    file, where = config_file(path, "reasons.yaml")
    return load_yaml_model(file, ReasonConfig, where=where,
                           hint="Start from the built-in configs/reasons.yaml.")


def as_reason_config(reasons: ReasonConfig | str | Path | None) -> ReasonConfig:
    """``reasons`` itself, or the reason groups loaded from a path (None: the built-in file)."""
    return reasons if isinstance(reasons, ReasonConfig) else load_reasons(reasons)
