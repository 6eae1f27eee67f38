"""The JSON state reader: typed values, unknown keys refused, errors naming file and key."""

import json

import numpy as np
import pytest

from churnkit import ModelError
from churnkit._core.state import StateError, StateReader, dump_state


def test_values_read_back_exactly():
    values = {"x": [0.1, 1 / 3, 1e-300, 2.0**-1074, -0.0, 12345678.901234567]}
    r = StateReader(json.loads(dump_state(values, "s.json")), "s.json")
    got = r.floats("x")
    assert got.tobytes() == np.array(values["x"]).tobytes()  # bit for bit, sign of zero too
    r.close()


def test_types_are_checked_and_booleans_are_not_integers():
    r = StateReader({"n": True, "s": 3, "grid": [[1, 2], [3]], "m": {"a": 1}}, "f.json", "top")
    with pytest.raises(StateError, match=r"f\.json: top\.n: expected an integer, got a boolean"):
        r.integer("n")
    with pytest.raises(StateError, match=r"top\.s: expected a string, got an integer"):
        r.text("s")
    with pytest.raises(StateError, match=r"top\.grid: expected a 2-dimensional array"):
        r.floats("grid", ndim=2)
    with pytest.raises(StateError, match=r"top\.m\.a: expected strings as values"):
        r.mapping("m")
    with pytest.raises(StateError, match=r"top\.missing: missing"):
        r.value("missing")
    assert issubclass(StateError, ModelError)


def test_unknown_keys_are_refused():
    r = StateReader({"a": 1, "b": 2, "c": 3}, "f.json")
    r.integer("a")
    with pytest.raises(StateError, match=r"f\.json: unknown key\(s\) \['b', 'c'\]"):
        r.close()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1: "a"}, np.float32(1.0), (1, 2)])
def test_values_that_are_not_exact_json_are_refused_when_saving(value):
    with pytest.raises(StateError, match=r"x\.json"):
        dump_state({"v": value}, "x.json")
