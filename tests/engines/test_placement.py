"""Each engine says where its weights really are: real weights on the CPU, simulated GPUs."""

from __future__ import annotations

import types
from typing import Any, ClassVar

import pytest

from asrbench.engines import engine_class, parse_model_spec
from asrbench.engines.faster_whisper import FasterWhisperEngine
from asrbench.hardware.devices import Device


def _load(text: str, device: Device | None = None) -> Any:
    spec = parse_model_spec(text)
    return engine_class(spec.engine).load(spec, device or Device("cpu"))


def test_faster_whisper_reports_the_device_ctranslate2_built_the_model_for(cpu_model):
    engine = cpu_model("faster_whisper")
    assert engine.weights_device() == "cpu"
    assert FasterWhisperEngine.runtime == "ctranslate2"


def test_openai_whisper_reports_its_parameters_device(cpu_model):
    assert cpu_model("whisper").weights_device() == "cpu"


class _FakeCt2Model:
    """What faster-whisper's ``WhisperModel`` would be on a machine with GPUs."""

    seen: ClassVar[dict[str, Any]] = {}

    def __init__(self, path: str, **kwargs: Any) -> None:
        _FakeCt2Model.seen = kwargs
        self.model = types.SimpleNamespace(device=kwargs["device"],
                                           device_index=[kwargs["device_index"]])


def test_faster_whisper_on_cuda_n_loads_on_that_gpu_and_says_so(monkeypatch):
    import faster_whisper

    monkeypatch.setattr(faster_whisper, "WhisperModel", _FakeCt2Model)
    engine = _load("faster_whisper", Device("cuda", 1))
    assert (_FakeCt2Model.seen["device"], _FakeCt2Model.seen["device_index"]) == ("cuda", 1)
    assert _FakeCt2Model.seen["compute_type"] == "float16"
    assert engine.weights_device() == "cuda:1"


def test_openai_whisper_moves_to_the_named_gpu():
    from asrbench.engines.whisper import _move

    class Model:
        alignment_heads = None
        moved_to: str | None = None

        def to(self, name: str) -> Model:
            self.moved_to = name
            return self

    model = _move(Model(), Device("cuda", 1), "tiny.en")
    assert model.moved_to == "cuda:1"


@pytest.mark.parametrize("kind", ["cpu", "cuda", "mps"])
def test_engines_ask_their_own_runtime_for_availability(monkeypatch, kind):
    from asrbench.hardware import runtimes

    asked: list[str] = []

    class Probe(runtimes.Runtime):
        def __init__(self, name: str) -> None:
            self.name = name

        def unavailable_reason(self, device: Device) -> str | None:
            asked.append(self.name)
            return None

    for name in ("torch", "ctranslate2"):
        monkeypatch.setitem(runtimes._RUNTIMES, name, Probe(name))
    engine_class("faster_whisper").device_unavailable(Device(kind))
    engine_class("whisper").device_unavailable(Device(kind))
    assert asked == ["ctranslate2", "torch"]
