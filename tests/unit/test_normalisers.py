"""The normaliser registry: built-ins and added normalisers resolve the same way."""

from __future__ import annotations

import pytest

from asrbench.core.errors import ConfigError
from asrbench.scoring.metrics import (
    NORMALISERS,
    get_normaliser,
    normaliser_names,
    register_normaliser,
    score,
    unregister_normaliser,
)


def test_builtins_are_registered():
    assert NORMALISERS == ("whisper-english", "whisper-basic", "none")
    assert normaliser_names()[:3] == NORMALISERS
    assert get_normaliser("none").apply("  a   b ") == "a b"
    assert get_normaliser("whisper-english").label.startswith("whisper-english (whisper-normalizer ")


def test_registered_normaliser_scores_and_is_removed():
    register_normaliser("upper", str.upper)
    try:
        assert "upper" in normaliser_names()
        normaliser = get_normaliser("upper")
        assert normaliser.label == "upper"  # no package: nothing to version
        assert score("Hello", "HELLO", normaliser).wer == 0.0
    finally:
        unregister_normaliser("upper")
    assert "upper" not in normaliser_names()
    with pytest.raises(ConfigError, match=r"'upper': unknown; valid: whisper-english"):
        get_normaliser("upper")


def test_replacing_a_builtin_can_be_undone():
    original = get_normaliser("none")
    register_normaliser("none", str.lower, package="pytest-asrbench")
    try:
        assert get_normaliser("none").apply("AB") == "ab"
    finally:
        unregister_normaliser("none", original)
    assert get_normaliser("none") is original


@pytest.mark.parametrize(("name", "function"), [("", str.lower), ("x", "not callable")])
def test_bad_registrations(name, function):
    with pytest.raises(ConfigError):
        register_normaliser(name, function)
