"""One strict YAML → pydantic loader for every configuration file of churnkit.

A file is read with ``yaml.safe_load`` semantics, refused when it is larger than
:data:`MAX_YAML_BYTES` or when its aliases would expand to more than
:data:`MAX_YAML_NODES` nodes (a "billion laughs" alias bomb), then validated by a
pydantic model that forbids unknown keys. Validation errors are rewritten one
per line as ``path/to/file.yaml: section.key: message``; an unknown key gets a
did-you-mean hint from the model's own field names, and no message repeats
more than about :data:`~churnkit._core.messages.ECHO_LIMIT` characters of a value.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from churnkit._core.messages import ECHO_LIMIT, cap_text, closest
from churnkit.exceptions import ConfigError

__all__ = [
    "MAX_YAML_BYTES",
    "MAX_YAML_NODES",
    "StrictModel",
    "format_validation_error",
    "load_yaml_model",
    "read_yaml",
    "validate_model",
]

M = TypeVar("M", bound=BaseModel)

MAX_YAML_BYTES = 1 << 20
"""Largest configuration file read (1 MiB; the shipped ones are a few KiB)."""
MAX_YAML_NODES = 200_000
"""Most values a file may hold once its aliases are expanded."""
_MESSAGE_LIMIT = 3 * ECHO_LIMIT  # one error line: a message and the value it quotes
_KEY_LIMIT = 60  # one key of a location


class StrictModel(BaseModel):
    """Frozen pydantic model that rejects unknown keys.

    A subclass may accept a shorthand (e.g. a plain string for a mapping) by
    overriding :meth:`_coerce`, which runs before validation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def _coerce(cls, data: Any) -> Any:
        """Turn a shorthand form of the model's input into the mapping form."""
        return data

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return cls._coerce(data)


# ----------------------------------------------------------------------------- reading
def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


_MAX_DEPTH = 1000  # nesting levels of a document


def _check_expansion(root: yaml.Node, where: str, limit: int) -> None:
    """Refuse a document that aliases expand beyond ``limit`` nodes, or too deeply nested.

    Also refused: an alias that refers to itself, and nesting deeper than
    :data:`_MAX_DEPTH` levels.
    """
    size: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, bool, int]] = [(root, False, 0)]
    while stack:
        node, children_done, depth = stack.pop()
        if depth > _MAX_DEPTH:  # as libyaml refuses; older libyaml and PyYAML do not
            raise ConfigError(f"{where}: the values are nested too deeply to be a configuration.")
        key = id(node)
        if children_done:
            visiting.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in _children(node))
            if size[key] > limit:
                raise ConfigError(
                    f"{where}: the file expands to more than {limit:,} values through its "
                    "aliases (*name); write the values out, or use fewer nested aliases."
                )
            continue
        if key in size:
            continue
        visiting.add(key)
        stack.append((node, True, depth))
        for child in _children(node):
            if id(child) in visiting:
                raise ConfigError(f"{where}: an alias refers to the value that contains it.")
            if id(child) not in size:
                stack.append((child, False, depth + 1))


# libyaml's parser where PyYAML was built with it (the wheels are): the same documents,
# parsed several times faster
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(
    path: str | Path,
    *,
    where: str | None = None,
    max_bytes: int = MAX_YAML_BYTES,
    max_nodes: int = MAX_YAML_NODES,
) -> Any:
    """Parse a YAML file safely (``yaml.SafeLoader``), refusing oversized inputs and alias bombs.

    Parameters
    ----------
    path : path-like
        The file.
    where : str, optional
        How the file is named in messages (default: ``path``).
    max_bytes, max_nodes : int
        Largest file size, and most values once aliases are expanded.

    Returns
    -------
    Any
        The document (``None`` for an empty file).

    Raises
    ------
    ConfigError
        If the file is missing, unreadable, too large, not UTF-8 or not valid YAML.
    """
    path = Path(path)
    where = str(path) if where is None else where
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ConfigError(f"{where}: cannot be read: it is not a file. Check the path.")
        if size > max_bytes:
            raise ConfigError(
                f"{where}: the file has {size:,} bytes, more than the {max_bytes:,} a "
                "configuration may have. Check the path."
            )
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            f"{where}: cannot be read: the file does not exist. Check the path."
        ) from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be read ({exc.strerror}). Check the path.") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{where}: not UTF-8 text (byte {exc.start}). Save the file as UTF-8."
        ) from None
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, where, max_nodes)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's limit
            raise ConfigError(
                f"{where}: the values are nested too deeply to be a configuration.") from None
        raise ConfigError(f"{where}: not valid YAML: {cap_text(str(exc), _MESSAGE_LIMIT)}") from None
    except (ValueError, OverflowError) as exc:  # e.g. a date such as 2024-13-01
        raise ConfigError(
            f"{where}: a value cannot be read: {cap_text(str(exc), _MESSAGE_LIMIT)}. Write dates "
            "as YYYY-MM-DD, or quote the value to keep it as text."
        ) from None
    except RecursionError:
        raise ConfigError(f"{where}: the values are nested too deeply to be a configuration.") from None
    finally:
        loader.dispose()


# ----------------------------------------------------------------------------- validating
def _members(tp: Any) -> tuple[Any, ...]:
    """The alternatives of a union type (``None`` left out); ``(tp,)`` for any other type."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        return tuple(m for m in get_args(tp) if m is not type(None))
    return (tp,)


def _step(tp: Any, part: str | int) -> tuple[Any, bool]:
    """The type found at ``part`` inside ``tp``, and whether ``part`` names a union member.

    Returns ``(None, False)`` when the type cannot be followed.
    """
    members = _members(tp)
    if len(members) > 1:
        # pydantic names the union member it tried in the location: ``JoinColumn``, ``str``,
        # ``list[date]``, ``function-after[...]``
        for member in members:
            if part in (getattr(member, "__name__", None), re.sub(r"\b\w+\.", "", str(member))):
                return member, True
        if isinstance(part, str) and ("[" in part or "-" in part):
            return tp, True
        for member in members:
            found, tag = _step(member, part)
            if found is not None:
                return found, tag
        return None, False
    (tp,) = members
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(str(part))
        return (field.annotation, False) if field is not None else (None, False)
    origin, args = get_origin(tp), get_args(tp)
    if origin in (dict, Mapping) and len(args) == 2:
        return args[1], False
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if isinstance(part, int) and 0 <= part < len(args):
            return args[part], False
        return None, False
    if origin in (list, tuple, set, frozenset) and args and isinstance(part, int):
        return args[0], False
    return None, False


def _locate(model: type[BaseModel], loc: tuple[str | int, ...]) -> tuple[list[str], Any]:
    """The shown parts of a pydantic location (union member names left out) and the type at its end."""
    shown: list[str] = []
    tp: Any = model
    for part in loc:
        tag = False
        if tp is not None:
            tp, tag = _step(tp, part)
        if not tag:
            shown.append(cap_text(str(part), _KEY_LIMIT))
    return shown, tp


def _fields(tp: Any) -> list[str]:
    members = [m for m in _members(tp) if isinstance(m, type) and issubclass(m, BaseModel)]
    return [name for m in members for name in m.model_fields]


def format_validation_error(exc: ValidationError, where: str, model: type[BaseModel]) -> str:
    """Rewrite a pydantic error as lines ``where: section.key: message``.

    Messages start in lower case, without pydantic's ``Value error, `` prefix; an
    unknown key names the allowed keys of its section with a did-you-mean hint
    (and the "field required" error of the key it was probably meant to be is left
    out); no line repeats more than a few hundred characters of the input.
    """
    errors = exc.errors(include_url=False)
    lines: list[tuple[tuple[str, ...], str]] = []
    suggested: set[tuple[str, ...]] = set()
    for err in errors:
        shown, _ = _locate(model, tuple(err["loc"]))
        msg = str(err["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(prefix)
        if err["type"] == "extra_forbidden" and err["loc"]:
            *parent, key = err["loc"]
            _, section = _locate(model, tuple(parent))
            allowed = _fields(section)
            renamed = getattr(section, "renamed_keys", {}).get(key)
            close = renamed or closest(key, allowed)
            msg = (f"renamed to {renamed!r}" if renamed else
                   "unknown key" + ("" if close is None else f" (did you mean {close!r}?)"))
            msg += f"; allowed keys: {', '.join(allowed)}" if allowed else ""
            if close is not None:
                suggested.add((*shown[:-1], close))
        lines.append((tuple(shown), msg[:1].lower() + msg[1:]))
    out = []
    for loc, msg in lines:
        if loc in suggested and msg == "field required":
            continue  # the unknown key beside it is this field misspelt: one line says it all
        text = cap_text(msg, _MESSAGE_LIMIT)
        out.append(f"{where}: {'.'.join(loc)}: {text}" if loc else f"{where}: {text}")
    return "\n".join(out)


def validate_model(data: Any, model: type[M], *, where: str, hint: str = "") -> M:
    """Validate a parsed document with ``model``; errors name ``where`` and the key path.

    Parameters
    ----------
    data : Any
        The parsed YAML document; it must be a mapping.
    model : type of pydantic BaseModel
        The model (strict: unknown keys are errors when it forbids extras).
    where : str
        Name of the source in messages, usually the file path.
    hint : str, optional
        Appended to the message when the document is not a mapping, e.g.
        ``"Start from the built-in configs/default.yaml."``.

    Raises
    ------
    ConfigError
        One line per problem, e.g. ``configs/x.yaml: labels.horizon_days: input should
        be greater than 0``.
    """
    if not isinstance(data, Mapping):
        what = "the file is empty" if data is None else f"got {type(data).__name__}"
        raise ConfigError(
            f"{where}: {what}: expected a mapping of keys at the top level. {hint}".rstrip()
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where, model)) from None


def load_yaml_model(path: str | Path, model: type[M], *, where: str | None = None, hint: str = "") -> M:
    """Read a YAML file (see :func:`read_yaml`) and validate it with ``model``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> class Window(StrictModel):
    ...     days: int = 30
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "w.yaml"
    ...     _ = path.write_text("dayz: 7")
    ...     try:
    ...         load_yaml_model(path, Window, where="w.yaml")
    ...     except Exception as exc:
    ...         print(exc)
    w.yaml: dayz: unknown key (did you mean 'days'?); allowed keys: days
    """
    where = str(path) if where is None else where
    return validate_model(read_yaml(path, where=where), model, where=where, hint=hint)
