"""Reading the JSON state of fitted objects: typed values, unknown keys refused.

A saved model is data: each fitted object writes its state as plain JSON
(strings, numbers, lists, objects) and reads it back through a
:class:`StateReader`, which checks the type of every value it takes, refuses
keys it was not asked for, and names the file and the key path in every error,
e.g. ``features.json: events.contacts.windows_: expected a list of integers``.

Floats are written by :func:`dump_state` with Python's shortest round-trip
``repr``, so they read back bit for bit; NaN and infinities are refused at
writing time (they are not JSON).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnkit.exceptions import ModelError

__all__ = ["StateError", "StateReader", "dump_state", "plain_json"]


class StateError(ModelError):
    """A saved state file holds a value of the wrong type, misses a key or has an unknown one."""


def plain_json(obj: Any) -> Any:
    """``obj`` as plain JSON data (keys, timestamps and paths as text; no numpy scalars).

    Non-finite floats become ``None``, as saved metrics do.
    """
    if isinstance(obj, dict):
        return {str(k): plain_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain_json(v) for v in obj]
    if isinstance(obj, np.generic):
        return plain_json(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, pd.Timestamp | Path):
        return str(obj)
    return obj


def dump_state(state: Any, where: str) -> bytes:
    """``state`` as UTF-8 JSON bytes (key order kept, floats exact); refuses non-JSON values.

    Examples
    --------
    >>> json.loads(dump_state({"b": [0.1, 1e-300], "a": None}, "x.json"))
    {'b': [0.1, 1e-300], 'a': None}
    """
    _check_jsonable(state, where)
    text = json.dumps(state, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (text + "\n").encode()


def _check_jsonable(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StateError(f"{where}: {value!r} cannot be saved (not a finite number).")
        return
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check_jsonable(v, f"{where}.{i}")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise StateError(f"{where}: the key {k!r} cannot be saved (keys must be text).")
            _check_jsonable(v, f"{where}.{k}")
        return
    raise StateError(f"{where}: a {type(value).__name__} cannot be saved as JSON.")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


class StateReader:
    """Typed access to one JSON object of a saved state.

    Every accessor marks its key as read; :meth:`close` refuses the keys no
    accessor read, so a file from another version (or edited by hand) is not
    half understood. Errors are :class:`StateError` (a
    :class:`~churnkit.exceptions.ModelError`) naming the file and the key path.

    Parameters
    ----------
    data : object
        The parsed JSON value, which must be an object.
    file : str
        The file it was read from, for messages, e.g. ``"models/m/features.json"``.
    path : str, optional
        Its key path in the file, e.g. ``"events.usage"``.

    Examples
    --------
    >>> r = StateReader({"max_categories": 10, "windows": [30, 90]}, "features.json")
    >>> r.integer("max_categories"), r.ints("windows")
    (10, [30, 90])
    >>> r.close()
    >>> StateReader({"x": "1"}, "f.json").integer("x")
    Traceback (most recent call last):
    ...
    churnkit._core.state.StateError: f.json: x: expected an integer, got a string. ...
    """

    def __init__(self, data: Any, file: str, path: str = "") -> None:
        self.file = file
        self.path = path
        if not isinstance(data, dict):
            raise self.fail("", f"expected an object, got {_kind(data)}")
        self.data = data
        self._read: set[str] = set()

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path and key else (key or self.path)

    @staticmethod
    def _error(where: str, problem: str) -> StateError:
        return StateError(
            f"{where}: {problem}. The model folder was modified or written by another "
            "churnkit version: restore it from a backup or train the model again."
        )

    def fail(self, key: str, problem: str) -> StateError:
        """An error about ``key`` (to raise) for checks beyond the value's type."""
        at = self._at(key)
        return self._error(f"{self.file}: {at}" if at else self.file, problem)

    def has(self, key: str) -> bool:
        """Whether ``key`` is present (it is not marked as read)."""
        return key in self.data

    def value(self, key: str) -> Any:
        """The raw JSON value of ``key`` (any type)."""
        if key not in self.data:
            raise self.fail(key, "missing")
        self._read.add(key)
        return self.data[key]

    def _typed(self, key: str, types: Any, what: str) -> Any:
        v = self.value(key)
        if not isinstance(v, types) or (isinstance(v, bool) and bool not in _as_tuple(types)):
            raise self.fail(key, f"expected {what}, got {_kind(v)}")
        return v

    def text(self, key: str) -> str:
        """A string."""
        return str(self._typed(key, str, "a string"))

    def integer(self, key: str) -> int:
        """An integer (not a boolean)."""
        return int(self._typed(key, int, "an integer"))

    def flag(self, key: str) -> bool:
        """A boolean."""
        return bool(self._typed(key, bool, "a boolean"))

    def number(self, key: str) -> float:
        """A number."""
        return float(self._typed(key, (int, float), "a number"))

    def optional(self, key: str) -> bool:
        """``True`` when ``key`` holds ``null`` (marked as read), else ``False``."""
        if self.value(key) is None:
            return True
        self._read.discard(key)
        return False

    def _list(self, key: str, types: Any, what: str) -> list[Any]:
        v = self._typed(key, list, f"a list of {what}")
        for item in v:
            if not isinstance(item, types) or (isinstance(item, bool)
                                                and bool not in _as_tuple(types)):
                raise self.fail(key, f"expected a list of {what}, found {_kind(item)}")
        return list(v)

    def strs(self, key: str) -> list[str]:
        """A list of strings."""
        return self._list(key, str, "strings")

    def ints(self, key: str) -> list[int]:
        """A list of integers."""
        return self._list(key, int, "integers")

    def scalars(self, key: str) -> list[Any]:
        """A list of strings, numbers or booleans (category values)."""
        return self._list(key, (str, int, float, bool), "strings or numbers")

    def floats(self, key: str, *, ndim: int = 1) -> np.ndarray:
        """A float64 array of ``ndim`` dimensions (nested lists of numbers, rectangular)."""
        v = self.value(key)
        try:
            arr = np.array(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise self.fail(key, f"expected a {ndim}-dimensional array of numbers") from None
        flat = list(_leaves(v, ndim))
        if arr.ndim != ndim or any(isinstance(x, bool) or not isinstance(x, int | float)
                                   for x in flat):
            raise self.fail(key, f"expected a {ndim}-dimensional array of numbers")
        return arr

    def mapping(self, key: str, what: str = "strings") -> dict[str, Any]:
        """An object of strings (``what="strings"``), booleans, or lists of strings."""
        v = self._typed(key, dict, "an object")
        check = {"strings": lambda x: isinstance(x, str),
                 "booleans": lambda x: isinstance(x, bool),
                 "lists of strings": lambda x: isinstance(x, list)
                 and all(isinstance(i, str) for i in x),
                 "lists of values": lambda x: isinstance(x, list) and all(
                     isinstance(i, str | int | float | bool) for i in x)}[what]
        for k, item in v.items():
            if not check(item):
                raise self.fail(f"{key}.{k}", f"expected {what} as values, got {_kind(item)}")
        return dict(v)

    def sub(self, key: str) -> StateReader:
        """A reader of the object under ``key``."""
        return StateReader(self.value(key), self.file, self._at(key))

    def items(self, key: str) -> list[tuple[str, StateReader]]:
        """``(name, reader)`` of each entry of the object under ``key``, in file order."""
        obj = self._typed(key, dict, "an object")
        return [(k, StateReader(v, self.file, f"{self._at(key)}.{k}")) for k, v in obj.items()]

    def nullable_items(self, key: str) -> list[tuple[str, StateReader | None]]:
        """Like :meth:`items`, with ``None`` for the entries that are ``null``."""
        obj = self._typed(key, dict, "an object")
        return [(k, None if v is None else StateReader(v, self.file, f"{self._at(key)}.{k}"))
                for k, v in obj.items()]

    def close(self) -> None:
        """Refuse the keys that no accessor read."""
        unknown = sorted(set(self.data) - self._read)
        if unknown:
            raise self.fail("", f"unknown key(s) {unknown[:5]}")


def _as_tuple(types: Any) -> tuple[Any, ...]:
    return types if isinstance(types, tuple) else (types,)


def _leaves(value: Any, depth: int) -> Iterable[Any]:
    if depth == 0 or not isinstance(value, list):
        yield value
        return
    for v in value:
        yield from _leaves(v, depth - 1)
