"""The engine contract kit: the stub engine passes it, and a broken engine fails it where broken."""

from __future__ import annotations

import json

import pytest

from asrbench.engines import ModelSpec
from asrbench.testing import EngineContract
from stub_engine import StubEngine  # type: ignore[import-not-found]


class TestStubEngineContract(EngineContract):
    @pytest.fixture
    def engine_class(self):
        return StubEngine

    @pytest.fixture
    def model_spec(self, tmp_path):
        answers = tmp_path / "answers.json"
        answers.write_text(json.dumps({"default": "some words"}))
        return ModelSpec("stub", str(answers))


BROKEN = '''
import json
import pytest
from asrbench.engines.base import Engine
from asrbench.testing import EngineContract


class LazyEngine(Engine):
    name = "lazy"
    devices = frozenset({"cpu", "tpu"})
    default_model = "m"

    @classmethod
    def load(cls, spec, device):
        if spec.model and spec.model != "m":
            raise FileNotFoundError(spec.model)
        engine = cls()
        engine.device = device
        return engine

    def transcribe(self, audio):
        return (word for word in ["lazy", "words"])

    def info(self):
        return {"engine_version": "1", "precision": "float32", "loaded": object()}


class TestLazyEngine(EngineContract):
    @pytest.fixture
    def engine_class(self):
        return LazyEngine
'''


def test_a_broken_engine_fails_where_it_breaks_the_contract(pytester):
    pytester.makepyfile(test_lazy=BROKEN)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=5, failed=5)
    result.stdout.fnmatch_lines_random([
        "E*lazy: unknown device kinds ?'tpu'?; valid: cpu, cuda, mps",
        "E*AssertionError: transcribing silence returned generator",
        "E*Failed: lazy: loading lazy:*no-such-model raised FileNotFoundError: *; expected one of "
        "ConfigError, EngineUnavailable, EngineError",
        "E*LazyEngine.transcribe returned generator: it must do the work inside the call*",
        "E*LazyEngine.info() is not JSON-serialisable*",
    ])


GOOD = '''
import pytest
from asrbench.engines.base import Engine
from asrbench.core.errors import EngineError
from asrbench.testing import EngineContract


class EchoEngine(Engine):
    name = "echo"
    devices = frozenset({"cpu"})
    unsupported = {"mps": "echo has no Metal kernels"}
    default_model = "words"
    package = "pytest"

    @classmethod
    def load(cls, spec, device):
        if spec.model not in (None, "words"):
            raise EngineError(f"echo:{spec.model}: no such model")
        engine = cls()
        engine.device = device
        return engine

    def transcribe(self, audio):
        return f"{len(audio)} samples"

    def info(self):
        return {**super().info(), "precision": "float32"}


class TestEchoEngine(EngineContract):
    @pytest.fixture
    def engine_class(self):
        return EchoEngine
'''


def test_a_third_party_engine_passes_from_its_own_test_file(pytester):
    pytester.makepyfile(test_echo=GOOD)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly", "-v")
    result.assert_outcomes(passed=10)
    result.stdout.fnmatch_lines(["*TestEchoEngine::test_transcribe_returns_str_eagerly PASSED*"])
