"""faster-whisper and openai-whisper on the same real tiny.en weights."""

from __future__ import annotations

import pytest

from asrbench.core.errors import EngineError
from asrbench.engines import engine_class, parse_model_spec
from asrbench.hardware.devices import Device
from asrbench.scoring.metrics import get_normaliser, score, total

CPU = Device("cpu")


def _load(text: str):
    spec = parse_model_spec(text)
    return engine_class(spec.engine).load(spec, CPU)


@pytest.fixture(scope="module")
def fw_f32(cpu_model):
    return cpu_model("faster_whisper,compute_type=float32")


@pytest.fixture(scope="module")
def ow(cpu_model):
    return cpu_model("whisper")


def test_faster_whisper_int8_is_accurate_on_the_smoke_set(smoke, cpu_model, cpu_transcripts):
    engine = cpu_model("faster_whisper")
    assert engine.info()["compute_type"] == "int8"
    texts = [cpu_transcripts("faster_whisper")[u.id] for u in smoke]
    assert all(isinstance(t, str) and t for t in texts)  # the lazy generator was consumed
    corpus = total(score(u.text, t, get_normaliser("whisper-english")).words
                   for u, t in zip(smoke, texts, strict=True))
    assert corpus.rate <= 0.10


def test_openai_whisper_runs_the_converted_weights(ow, smoke):
    assert ow.info()["precision"] == "float32"
    assert ow.source.endswith(".pt")
    text = ow.transcribe(smoke[0].audio)  # austen-0870, 22 words
    assert text.startswith("And Mr. John Dashwood")
    assert score(smoke[0].text, text, get_normaliser("whisper-english")).wer == 0.0


def test_engines_agree_on_every_clip_in_float32(cpu_transcripts, smoke):
    """A converter that mangles one tensor changes transcripts: this is the converter's real test."""
    openai, ct2 = cpu_transcripts("whisper"), cpu_transcripts("faster_whisper,compute_type=float32")
    for utterance in smoke:
        assert openai[utterance.id] == ct2[utterance.id], utterance.id


def test_whisper_refuses_fp16_on_cpu():
    with pytest.raises(EngineError, match="fp16 is not supported on the CPU"):
        _load("whisper,fp16=true")


def test_missing_model_folder_is_an_engine_error(tmp_path):
    with pytest.raises(EngineError, match="no such model folder"):
        _load(f"faster_whisper:{tmp_path}/absent/model")


def test_smoke_set_hypotheses_score_exactly_as_jiwer(cpu_transcripts, smoke):
    import jiwer

    normaliser = get_normaliser("whisper-english")
    texts = cpu_transcripts("faster_whisper,compute_type=float32")
    for utterance in smoke:
        s = score(utterance.text, texts[utterance.id], normaliser)
        assert s.wer == pytest.approx(jiwer.wer(s.reference, s.hypothesis)), utterance.id
        assert s.cer == pytest.approx(jiwer.cer(s.reference, s.hypothesis)), utterance.id
