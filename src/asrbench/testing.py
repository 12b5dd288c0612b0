"""The engine contract kit: a test class an engine author subclasses to check an engine.

It verifies what asrbench relies on: the declared devices and a reason for each unsupported one,
the documented error types when a model cannot load, an eager ``transcribe`` that returns ``str``
(the benchmark times that call, so a generator or a lazy object would time nothing), repeatable
results, and ``info()`` facts that go into a JSON report. Example, in an engine package's tests::

    import pytest
    from asrbench.engines.spec import ModelSpec
    from asrbench.testing import EngineContract

    from my_engine import MyEngine

    class TestMyEngine(EngineContract):
        @pytest.fixture
        def engine_class(self):
            return MyEngine

        @pytest.fixture
        def model_spec(self):  # optional: the engine's default model otherwise
            return ModelSpec("my_engine", "small")

Fixtures to override: ``engine_class`` (required), ``model_spec``, ``bad_model_spec`` (a model
that cannot load; by default a path that does not exist), ``device`` (default ``cpu``) and
``audio`` (default: the shortest clip of the bundled smoke set). The model is loaded once and kept
while consecutive tests use the same engine, model and device (one model in memory at a time).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from asrbench.core.errors import ConfigError, EngineError, EngineUnavailable
from asrbench.data.datasets import SMOKE, load_dataset
from asrbench.engines.base import Engine
from asrbench.engines.spec import ModelSpec
from asrbench.hardware.devices import KINDS, Device

__all__ = ["LOAD_ERRORS", "REQUIRED_INFO", "EngineContract"]

#: What ``Engine.load`` may raise for a model that cannot load: a usage error, "cannot run here"
#: (the test skips with the message) or a real failure.
LOAD_ERRORS = (ConfigError, EngineUnavailable, EngineError)
#: Keys every ``info()`` carries: they label every result in the summary and the report.
REQUIRED_INFO = ("engine_version", "precision")

_LOADED: dict[tuple[type[Engine], str, str], Engine] = {}


@cache
def _smoke_clip() -> npt.NDArray[np.float32]:
    smoke = load_dataset(SMOKE)
    return min((smoke.load(item).audio for item in smoke.items), key=len)


class EngineContract:
    """Subclass as ``Test<Engine>`` and override ``engine_class``; every test here then runs."""

    @pytest.fixture
    def engine_class(self) -> type[Engine]:
        """The engine under test: override this fixture."""
        raise pytest.UsageError(
            f"{type(self).__name__}: override the engine_class fixture to return your Engine class")

    @pytest.fixture
    def model_spec(self, engine_class: type[Engine]) -> ModelSpec:
        """The model loaded for the transcription checks: the engine's default model."""
        return ModelSpec(engine_class.name)

    @pytest.fixture
    def bad_model_spec(self, engine_class: type[Engine], tmp_path: Path) -> ModelSpec:
        """A model that cannot load: a path that does not exist."""
        return ModelSpec(engine_class.name, str(tmp_path / "no-such-model"))

    @pytest.fixture
    def device(self) -> Device:
        """The device the engine is loaded on."""
        return Device("cpu")

    @pytest.fixture
    def audio(self) -> npt.NDArray[np.float32]:
        """Float32 mono 16 kHz speech: the shortest clip of the bundled smoke set (3 s)."""
        return _smoke_clip().copy()

    @pytest.fixture
    def engine(self, engine_class: type[Engine], model_spec: ModelSpec, device: Device) -> Engine:
        """The loaded engine; skips only when the device is absent from this machine."""
        if engine_class.unsupported_reason(device) is not None:
            pytest.fail(f"{engine_class.name} does not support {device}: choose another device")
        reason = engine_class.device_unavailable(device)  # asked of the engine's own runtime
        if reason is not None:
            pytest.skip(reason)
        key = (engine_class, str(model_spec), str(device))
        if key not in _LOADED:
            _LOADED.clear()  # free the previous model before loading the next
            _LOADED[key] = engine_class.load(model_spec, device)
        return _LOADED[key]

    def test_names_itself_as_a_marker(self, engine_class: type[Engine]) -> None:
        name = getattr(engine_class, "name", None)
        valid = isinstance(name, str) and name.isidentifier()
        assert valid, (
            f"{engine_class.__name__}.name must be an identifier (it is the pytest marker), "
            f"got {name!r}")
        default = getattr(engine_class, "default_model", None)
        named = isinstance(default, str) and bool(default)
        assert named, (
            f"{name}: default_model must name the model used when a spec names none")

    def test_declares_its_devices(self, engine_class: type[Engine]) -> None:
        declared = engine_class.devices
        valid = isinstance(declared, frozenset) and bool(declared)
        assert valid, (
            f"{engine_class.name}: devices must be a non-empty frozenset, got {declared!r}")
        assert declared <= set(KINDS), (
            f"{engine_class.name}: unknown device kinds {sorted(declared - set(KINDS))}; "
            f"valid: {', '.join(KINDS)}")

    def test_unsupported_devices_give_a_reason(self, engine_class: type[Engine]) -> None:
        for kind in KINDS:
            reason = engine_class.unsupported_reason(Device(kind))
            if kind in engine_class.devices:
                assert reason is None, f"{engine_class.name}: declares {kind} yet gives {reason!r}"
            else:
                given = isinstance(reason, str) and bool(reason.strip())
                assert given, (
                    f"{engine_class.name}: no reason given for the unsupported {kind} device")

    def test_options_have_parsers(self, engine_class: type[Engine]) -> None:
        options = engine_class.options
        assert isinstance(options, Mapping), f"{engine_class.name}: options must be a mapping"
        for key, parser in options.items():
            valid = isinstance(key, str) and callable(parser)
            assert valid, (
                f"{engine_class.name}: option {key!r} needs a parser (str -> value)")

    def test_bad_model_raises_a_documented_error(self, engine_class: type[Engine],
                                                 bad_model_spec: ModelSpec, device: Device) -> None:
        try:
            engine_class.load(bad_model_spec, device)
        except LOAD_ERRORS as exc:
            message = str(exc)
            one_line = bool(message.strip()) and "\n" not in message.strip()
            assert one_line, (
                f"{engine_class.name}: the error should be one line, got {message!r}")
            named = {engine_class.name, Path(bad_model_spec.model or "").name} - {""}
            assert any(name in message for name in named), (
                f"{engine_class.name}: the error should name the model, got {message!r}")
        except Exception as exc:
            pytest.fail(f"{engine_class.name}: loading {bad_model_spec} raised "
                        f"{type(exc).__name__}: {exc}; expected one of "
                        f"{', '.join(e.__name__ for e in LOAD_ERRORS)}")
        else:
            pytest.fail(f"{engine_class.name}: loading {bad_model_spec} did not fail")

    def test_loads_on_the_device(self, engine: Engine, engine_class: type[Engine],
                                 device: Device) -> None:
        assert isinstance(engine, engine_class), (
            f"{engine_class.name}.load returned {type(engine).__name__}, not the engine")
        assert engine.device == device, f"{engine_class.name}: engine.device is {engine.device!r}"

    def test_transcribe_returns_str_eagerly(self, engine: Engine,
                                            audio: npt.NDArray[np.float32]) -> None:
        before = audio.copy()
        text = engine.transcribe(audio)
        lazy = inspect.isgenerator(text) or inspect.isawaitable(text)
        assert not lazy, (
            f"{type(engine).__name__}.transcribe returned {type(text).__name__}: it must do the "
            "work inside the call and return the text")
        assert type(text) is str, (
            f"{type(engine).__name__}.transcribe returned {type(text).__name__}, not str")
        assert np.array_equal(audio, before), "transcribe must not modify the audio it is given"

    def test_transcribe_repeats_without_carrying_state(self, engine: Engine,
                                                       audio: npt.NDArray[np.float32]) -> None:
        """Timed rounds repeat a call: each must do the whole work and give the same text."""
        first = engine.transcribe(audio)
        silence = engine.transcribe(np.zeros(16000, np.float32))
        again = engine.transcribe(audio)
        assert type(silence) is str, f"transcribing silence returned {type(silence).__name__}"
        assert first == again, (
            f"{type(engine).__name__}: the same audio gave {first!r}, then {again!r}")

    def test_batch_gives_one_text_per_clip_or_says_why_not(
            self, engine: Engine, audio: npt.NDArray[np.float32]) -> None:
        """``transcribe_batch`` is optional; an engine without it gives the throughput skip reason."""
        reason = type(engine).batch_unsupported_reason()
        if reason is not None:
            assert reason.strip(), "batch_unsupported_reason is empty"
            return
        texts = engine.transcribe_batch([audio, np.zeros(16000, np.float32)])
        assert isinstance(texts, list), (
            f"{type(engine).__name__}.transcribe_batch returned {type(texts).__name__}, not list")
        assert len(texts) == 2, f"transcribe_batch gave {len(texts)} texts for 2 clips"
        assert all(type(t) is str for t in texts), "transcribe_batch must return str texts"
        assert engine.transcribe_batch([]) == [], "an empty batch must give an empty list"

    def test_info_is_json_with_the_expected_keys(self, engine: Engine) -> None:
        info: Any = engine.info()
        assert isinstance(info, dict), f"info() returned {type(info).__name__}, not a dict"
        assert all(isinstance(key, str) for key in info), "info() keys must be strings"
        try:
            json.dumps(info, allow_nan=False)
        except (TypeError, ValueError) as exc:
            pytest.fail(f"{type(engine).__name__}.info() is not JSON-serialisable: {exc}")
        missing = [key for key in REQUIRED_INFO if key not in info]
        assert not missing, f"{type(engine).__name__}.info() lacks {', '.join(missing)}"
