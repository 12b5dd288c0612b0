"""JSON-safe figures: a NaN or infinity anywhere in a report becomes null, nothing else changes."""

from __future__ import annotations

import json
import math

import pytest

from asrbench.core.jsonsafe import clean_json, finite_or_none


def test_non_finite_floats_become_none_and_everything_else_is_kept():
    assert [finite_or_none(v) for v in (math.nan, math.inf, -math.inf)] == [None, None, None]
    assert [finite_or_none(v) for v in (0.0, 1.5, 3, None, "nan", True)] == [0.0, 1.5, 3, None, "nan",
                                                                               True]


def test_nested_values_are_cleaned_and_then_valid_json():
    data = {"wer": math.nan, "ci": (0.1, math.inf), "runs": [{"rtfx": -math.inf, "n": 3}],
            "name": "x", 1: [math.nan]}
    cleaned = clean_json(data)
    assert cleaned == {"wer": None, "ci": [0.1, None], "runs": [{"rtfx": None, "n": 3}],
                       "name": "x", 1: [None]}
    json.dumps(cleaned, allow_nan=False)  # raises on any NaN left
    assert data["ci"] == (0.1, math.inf)  # the input is not changed


def test_builtin_types_leave_no_subclass_for_execnet_to_refuse():
    import execnet
    import numpy as np

    from asrbench.core.jsonsafe import builtin_types

    class Version(str):
        pass

    data = {"v": Version("2.11.0"), "n": np.float32(0.5), "i": np.int64(3), "t": (1, Version("a")),
            2: [True, None, float("nan")]}
    plain = builtin_types(data)
    assert plain["v"] == "2.11.0"
    assert type(plain["v"]) is str
    assert type(plain["n"]) is float
    assert type(plain["i"]) is int
    assert plain["t"] == [1, "a"]
    assert type(plain["t"][1]) is str
    assert plain["2"][:2] == [True, None]
    with pytest.raises(execnet.DataFormatError):
        execnet.dumps(data)
    execnet.loads(execnet.dumps(plain))  # what a worker sends, the controller reads


def test_builtin_types_write_what_json_would():
    """What a worker sends reads as the JSON report would: a ``str``-mixin enum is its value (its
    ``str()`` is its name), keys are JSON's (``true``, ``null``, not Python's spelling)."""
    import enum

    from asrbench.core.jsonsafe import builtin_types

    class Clock(str, enum.Enum):  # noqa: UP042 - the mixin whose str() is its name
        WALL = "wall"

    data = {"clock": Clock.WALL, Clock.WALL: 1, True: 2, None: 3, 1.5: 4, 7: [Clock.WALL]}
    plain = builtin_types(data)
    assert plain == json.loads(json.dumps(data))
    assert type(plain["clock"]) is str
