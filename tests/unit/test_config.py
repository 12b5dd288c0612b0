"""Model specs, device names and threshold rules."""

from __future__ import annotations

import pytest

from asrbench.config.thresholds import Thresholds, parse_rules
from asrbench.core.errors import ConfigError
from asrbench.engines import parse_model_spec
from asrbench.hardware.devices import Device, parse_device


def test_model_spec_forms():
    assert parse_model_spec("faster_whisper").label == "faster_whisper:tiny.en"
    spec = parse_model_spec("faster_whisper:/models/ct2-small,compute_type=float32")
    assert (spec.model, spec.options) == ("/models/ct2-small", (("compute_type", "float32"),))
    assert spec.label == "faster_whisper:ct2-small,compute_type=float32"


def test_model_spec_option_values_are_checked():
    with pytest.raises(ConfigError, match="bad value for 'beam_size'"):
        parse_model_spec("faster_whisper,beam_size=wide")
    with pytest.raises(ConfigError, match="is not KEY=VALUE"):
        parse_model_spec("whisper,fp16")


def test_devices():
    assert parse_device("cuda:1") == Device("cuda", 1)
    assert str(parse_device("MPS")) == "mps"
    with pytest.raises(ConfigError, match="only cuda takes an index"):
        parse_device("mps:1")


def test_last_matching_rule_wins():
    rules = parse_rules(0.3, "x") + parse_rules({"faster_whisper:*": 0.2,
                                                 "faster_whisper:*@smoke": 0.1}, "y")
    limits = Thresholds(tuple(rules), ())
    assert limits.max_wer("faster_whisper:tiny.en", "smoke") == 0.1
    assert limits.max_wer("faster_whisper:tiny.en", "other") == 0.2
    assert limits.max_wer("whisper:tiny.en", "smoke") == 0.3
    assert Thresholds((), ()).max_corpus_wer("a", "b") == 0.5


def test_ini_lines():
    rules = parse_rules(["0.4", "whisper:* = 0.2"], "ini")
    assert [(r.model, r.dataset, r.value) for r in rules] == [("*", "*", 0.4),
                                                               ("whisper:*", "*", 0.2)]
