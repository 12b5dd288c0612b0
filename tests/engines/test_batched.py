"""Batched transcription on the real tiny.en weights matches one-at-a-time transcription."""

from __future__ import annotations

import numpy as np
import pytest

from asrbench.data.batching import join_pieces, split_pieces
from asrbench.engines import engine_class, parse_model_spec
from asrbench.hardware.devices import Device
from asrbench.scoring.metrics import get_normaliser, score, total

CPU = Device("cpu")
#: Batched decoding pads every clip to the same window, so a word may differ, not more.
MAX_WER_VERSUS_SEQUENTIAL = 0.05


def _load(text: str):
    spec = parse_model_spec(text)
    return engine_class(spec.engine).load(spec, CPU)


def _wer(references: list[str], hypotheses: list[str]) -> float:
    normaliser = get_normaliser("whisper-english")
    return total(score(r, h, normaliser).words
                 for r, h in zip(references, hypotheses, strict=True)).rate


@pytest.fixture(scope="module")
def fw(cpu_model):
    return cpu_model("faster_whisper")


def test_faster_whisper_batch_matches_one_at_a_time(fw, smoke, cpu_transcripts):
    engine = fw
    audio = [u.audio for u in smoke]
    batched = engine.transcribe_batch(audio)
    sequential = [cpu_transcripts("faster_whisper")[u.id] for u in smoke]
    assert len(batched) == len(smoke)
    assert all(batched)
    assert _wer(sequential, batched) <= MAX_WER_VERSUS_SEQUENTIAL
    assert _wer([u.text for u in smoke], batched) <= 0.10
    assert engine.transcribe_batch([]) == []


def test_faster_whisper_batch_keeps_clip_order_and_long_clips(fw, smoke):
    """A 35 s clip becomes two windows whose texts are joined; the short clip keeps its place."""
    engine = fw
    long = np.concatenate([smoke[0].audio] * 5)  # 7.1 s × 5
    texts = engine.transcribe_batch([smoke[1].audio, long, smoke[4].audio])
    assert len(texts) == 3
    assert _wer([smoke[1].text], texts[:1]) <= 0.25
    assert _wer([smoke[4].text], texts[2:]) == 0.0
    assert texts[1].count("leisure") >= 2  # both windows contributed, the first one first
    assert texts[1].startswith("And Mr. John Dashwood")


def test_openai_whisper_batch_matches_one_at_a_time(smoke, cpu_model, cpu_transcripts):
    engine = cpu_model("whisper")
    clips = [smoke[1], smoke[4]]  # the two shortest, to keep the suite fast
    batched = engine.transcribe_batch([u.audio for u in clips])
    sequential = [cpu_transcripts("whisper")[u.id] for u in clips]  # one at a time, made once
    assert _wer(sequential, batched) <= MAX_WER_VERSUS_SEQUENTIAL


def test_lfm_declares_no_batching():
    reason = engine_class("lfm2_5_audio").batch_unsupported_reason()
    assert reason is not None
    assert "one conversation at a time" in reason
    assert engine_class("faster_whisper").batch_unsupported_reason() is None
    assert engine_class("whisper").batch_unsupported_reason() is None


def test_windows_split_long_clips_and_join_in_order():
    rate = 10
    clips = [np.zeros(25, np.float32), np.zeros(5, np.float32)]
    pieces, owners = split_pieces(clips, seconds=1, rate=rate)
    assert [len(p) for p in pieces] == [10, 10, 5, 5]
    assert owners == [0, 0, 0, 1]
    assert join_pieces(["a ", "", "b", "c"], owners, 2) == ["a b", "c"]


def test_engines_without_transcribe_batch_say_so():
    from asrbench.engines.base import Engine

    class Plain(Engine):
        name = "plain"
        devices = frozenset({"cpu"})
        default_model = "x"

        @classmethod
        def load(cls, spec, device):
            return cls()

        def transcribe(self, audio):
            return ""

    assert Plain.batch_unsupported_reason() == f"plain: {Engine.no_batch}"
    with pytest.raises(NotImplementedError, match="plain: the engine has no batched"):
        Plain().transcribe_batch([np.zeros(10, np.float32)])
