"""Time to first text in the real engines: faster-whisper marks its first segment, whisper.cpp its
first segment with text (from its new-segment callback), LFM2.5-Audio its first text token (not an
audio frame); the others return whole transcripts and say so."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

from asrbench.engines import engine_class, parse_model_spec
from asrbench.engines.first_text import recording
from asrbench.hardware.devices import Device


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("name", "incremental"), [
    ("faster_whisper", True), ("lfm2_5_audio", True), ("whisper", False), ("transformers", False),
    ("mlx_whisper", False), ("whisper_cpp", True)])
def test_which_engines_report_first_text(name, incremental):
    assert engine_class(name).incremental is incremental


@pytest.fixture(scope="module")
def faster_whisper(cpu_model):
    return cpu_model("faster_whisper")


def test_faster_whisper_marks_its_first_segment(faster_whisper, monkeypatch):
    clock = Clock()

    def segments():
        for text, seconds in ((" the first", 0.3), (" and the rest", 0.5)):
            clock.now += seconds
            yield SimpleNamespace(text=text)

    monkeypatch.setattr(faster_whisper._model, "transcribe", lambda *a, **k: (segments(), None))
    with recording(clock) as recorder:
        assert faster_whisper.transcribe(np.zeros(16000, np.float32)) == "the first and the rest"
    assert recorder.result(incremental=True).seconds == pytest.approx(0.3)
    assert clock.now == pytest.approx(0.8)  # eager: every segment decoded inside the call


@pytest.mark.parametrize("name", ["faster_whisper", "whisper_cpp"])
def test_first_text_on_a_real_clip(name, cpu_model, smoke):
    engine = cpu_model(name)
    with recording(time.perf_counter) as recorder:
        text = engine.transcribe(smoke[0].audio)
        total = time.perf_counter() - recorder.started
    first = recorder.result(incremental=True).seconds
    assert text
    assert first is not None
    assert 0 < first <= total


@pytest.mark.filterwarnings("ignore::UserWarning:transformers.*")
def test_lfm_marks_its_first_text_token_not_an_audio_frame(tmp_path, monkeypatch):
    import torch
    from lfm_tiny import build_tiny_lfm  # type: ignore[import-not-found]

    folder = build_tiny_lfm(tmp_path / "tiny")
    spec = parse_model_spec(f"lfm2_5_audio:{folder},max_new_tokens=8")
    engine = engine_class("lfm2_5_audio").load(spec, Device("cpu"))
    words = engine._processor.text.encode("hello world", add_special_tokens=False)
    clock = Clock()

    def script(**kwargs):
        for item in [list(range(8)), *[[w] for w in words], [7]]:  # an audio frame first
            clock.now += 1.0
            yield torch.tensor(item)

    monkeypatch.setattr(engine._model, "generate_sequential", script)
    with recording(clock) as recorder:
        assert engine.transcribe(np.zeros(8000, np.float32)) == "hello world"
    assert recorder.result(incremental=True).seconds == 2.0  # the frame at 1 s, first text at 2 s
