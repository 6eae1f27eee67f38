"""The reason groups of ``configs/reasons.yaml``: validated models and their loading.

Also the small pieces other YAML files of churnkit share (``configs/playbooks.yaml``):
a strict pydantic base model and loading a YAML file into a model with errors that
name the file and key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from churnkit._resources import builtin_config
from churnkit.exceptions import ConfigError
from churnkit.explain._wording import glob_regex, parse_condition, parse_template

__all__ = [
    "EXPECTED_COLUMN",
    "ReasonConfig",
    "ReasonGroup",
    "ReasonPattern",
    "ReasonTemplate",
    "StrictModel",
    "as_reason_config",
    "load_reasons",
    "load_yaml_model",
]

EXPECTED_COLUMN = "(expected)"
_ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_IF_RE = re.compile(r"\s+if\s+")
_AND_RE = re.compile(r"\s+and\s+")


# ----------------------------------------------------------------------------- config plumbing
class StrictModel(BaseModel):
    """Frozen pydantic model that rejects unknown keys, naming the allowed ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    _scalar_key: ClassVar[str | None] = None

    @classmethod
    def _coerce(cls, data: Any) -> Any:
        """Turn a scalar into a mapping (``{_scalar_key: data}``) before validation."""
        if cls._scalar_key is not None and isinstance(data, str):
            return {cls._scalar_key: data}
        return data

    @model_validator(mode="before")
    @classmethod
    def _check_keys(cls, data: Any) -> Any:
        data = cls._coerce(data)
        if isinstance(data, Mapping):
            allowed = list(cls.model_fields)
            unknown = [key for key in data if key not in allowed]
            if unknown:
                key = str(unknown[0])
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"unknown key {key!r} (allowed: {', '.join(allowed)}){hint}")
        return data


def format_validation_error(exc: ValidationError, where: str) -> str:
    """Rewrite a pydantic error as ``where: a -> 0 -> b: message`` lines."""
    lines = []
    for err in exc.errors(include_url=False):
        msg = str(err["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(prefix)
        msg = msg[:1].lower() + msg[1:]
        loc = " -> ".join(str(part) for part in err["loc"])
        lines.append(f"{where}: {loc}: {msg}" if loc else f"{where}: {msg}")
    return "\n".join(lines)


def load_yaml_model(path: str | Path | None, model: type[BaseModel], default: str) -> Any:
    """Load ``path`` (or the built-in ``configs/<default>``) into ``model``.

    Raises
    ------
    ConfigError
        If the file cannot be read, is not YAML, or does not validate; the
        message names the file and the key path.
    """
    if path is None:
        file, where = builtin_config(default), f"configs/{default}"
    else:
        file, where = Path(path), str(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be read ({exc.strerror}). Check the path.") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{where}: expected a mapping of keys at the top level, got {type(data).__name__}. "
            f"Start from the built-in configs/{default}."
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where)) from None


def _as_tuple(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


# ----------------------------------------------------------------------------- config models
class ReasonTemplate(StrictModel):
    """One wording of a reason, used when its fields exist and ``when`` holds."""

    _scalar_key: ClassVar[str | None] = "text"
    text: str
    when: tuple[str, ...] = ()
    top_feature: tuple[str, ...] = ()
    """Globs: use the template only if the group's strongest feature matches one."""

    @field_validator("when", "top_feature", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        return _as_tuple(value)

    @field_validator("text")
    @classmethod
    def _text_parses(cls, value: str) -> str:
        parse_template(value)
        return value

    @field_validator("when")
    @classmethod
    def _when_parses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cond in value:
            parse_condition(cond)
        return value


class ReasonPattern(StrictModel):
    """Globs on feature names, optionally conditional on the customer's values.

    Written as a string, ``"glob"`` or ``"glob if cond and cond"``, or as a
    mapping ``{pattern: glob or [globs], when: cond or [conds]}``. A condition
    is ``op value`` about the matched feature itself (``"> 0"``) or ``operand
    op operand`` naming other features (``"static__tenure_days < 180"``); all
    must hold.
    """

    pattern: tuple[str, ...]
    when: tuple[str, ...] = ()

    @classmethod
    def _coerce(cls, data: Any) -> Any:
        if isinstance(data, str):
            glob, *conds = _IF_RE.split(data.strip(), maxsplit=1)
            return {"pattern": glob, "when": _AND_RE.split(conds[0]) if conds else ()}
        if not isinstance(data, Mapping):
            raise ValueError(
                "input should be a valid string (a glob such as 'usage__*' or "
                f"'x__change* if > 0') or a mapping {{pattern: ..., when: ...}}, got {data!r}"
            )
        return data

    @field_validator("pattern", "when", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        return _as_tuple(value)

    @field_validator("pattern")
    @classmethod
    def _globs_ok(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("needs at least one glob, e.g. 'usage__*'")
        for glob in value:
            if not glob.strip() or re.search(r"\sif(\s|$)", glob.strip()):
                raise ValueError(
                    f"{glob!r} is not a glob; write e.g. 'usage__*' or 'usage__* if > 0' "
                    "(in the mapping form, conditions go in 'when')"
                )
        return tuple(glob.strip() for glob in value)

    @field_validator("when")
    @classmethod
    def _when_parses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cond in value:
            parse_condition(cond, allow_self=True)
        return value

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
                f"{value!r} is not a valid reason id: use letters, digits, '_', '.', '-' "
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
        ``configs/reasons.yaml: reasons -> 2 -> label: field required``.

    Examples
    --------
    >>> cfg = load_reasons()
    >>> cfg.ids[0]
    'unresolved_complaints'
    """
    return load_yaml_model(path, ReasonConfig, "reasons.yaml")


def as_reason_config(reasons: ReasonConfig | str | Path | None) -> ReasonConfig:
    """``reasons`` itself, or the reason groups loaded from a path (None: the built-in file)."""
    return reasons if isinstance(reasons, ReasonConfig) else load_reasons(reasons)
