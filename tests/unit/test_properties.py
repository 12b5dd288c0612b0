"""Property-based tests of the audio layer and the scoring path (hypothesis; bounded, fast).

Invariants: any accepted input becomes float32 mono 16 kHz of the expected length; anything else is
an :class:`AudioError`; WER of identical texts is 0; WER and CER are never negative and equal
jiwer's on texts whose words are unambiguous.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import jiwer
import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asrbench.core.errors import AudioError
from asrbench.data.audio import SAMPLE_RATE, load_audio, to_mono_float32
from asrbench.scoring.metrics import get_normaliser, score

FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

DTYPES = ["uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SUBTYPES = ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"]
RATES = st.sampled_from([8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 96000])


def _expected_length(frames: int, rate: int) -> float:
    return frames * SAMPLE_RATE / rate


def _samples(rng: np.random.Generator, frames: int, channels: int, dtype: str) -> np.ndarray:
    values = rng.uniform(-1, 1, size=(frames, channels))
    kind = np.dtype(dtype)
    if kind.kind == "f":
        return values.astype(kind)
    info = np.iinfo(kind)
    return (values * (info.max - info.min) / 2 + (info.max + info.min) / 2).astype(kind)


@FAST
@given(frames=st.integers(1, 3000), channels=st.integers(1, 8), rate=RATES,
       dtype=st.sampled_from(DTYPES), transposed=st.booleans(), seed=st.integers(0, 2**16))
def test_any_array_becomes_float32_mono_16k_of_the_expected_length(
        frames, channels, rate, dtype, transposed, seed):
    frames = max(frames, channels)  # (channels, frames) is told apart by the shorter axis
    data = _samples(np.random.default_rng(seed), frames, channels, dtype)
    if channels == 1 and seed % 2:
        data = data[:, 0]
    elif transposed:
        data = data.T
    out = to_mono_float32(data, rate)
    assert out.dtype == np.float32
    assert out.ndim == 1
    assert abs(len(out) - _expected_length(frames, rate)) <= 1
    assert np.all(np.isfinite(out))


@FAST
@given(frames=st.integers(1, 3000), channels=st.integers(1, 4), rate=RATES,
       subtype=st.sampled_from(SUBTYPES), seed=st.integers(0, 2**16))
def test_any_wav_file_decodes_to_float32_mono_16k_of_the_expected_length(
        frames, channels, rate, subtype, seed):
    data = np.random.default_rng(seed).uniform(-0.9, 0.9, size=(frames, channels))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.wav"
        sf.write(path, data, rate, subtype=subtype)
        out = load_audio(path)
    assert out.dtype == np.float32
    assert out.ndim == 1
    assert abs(len(out) - _expected_length(frames, rate)) <= 1
    if rate == SAMPLE_RATE and subtype in ("PCM_24", "PCM_32", "FLOAT", "DOUBLE"):
        np.testing.assert_allclose(out, data.mean(axis=1), atol=1e-4)


@FAST
@given(content=st.binary(max_size=3000), suffix=st.sampled_from([".wav", ".flac", ".ogg", ".mp3"]),
       header=st.sampled_from([b"", b"RIFF", b"fLaC", b"OggS", b"ID3"]))
def test_arbitrary_bytes_decode_or_raise_audio_error_only(content, suffix, header):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"clip{suffix}"
        path.write_bytes(header + content)
        try:
            out = load_audio(path)
        except AudioError as exc:
            message = str(exc)
        else:
            message = None
            assert out.dtype == np.float32
            assert out.ndim == 1
            assert np.all(np.isfinite(out))
    if message is not None:
        assert message.startswith(str(path))


WORD = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=6)
WORDS = st.lists(WORD, min_size=1, max_size=12).map(" ".join)


@FAST
@given(text=st.text(max_size=80), name=st.sampled_from(["whisper-english", "whisper-basic", "none"]))
def test_identical_texts_score_zero_whatever_the_text(text, name):
    result = score(text, text, get_normaliser(name))
    assert result.wer == 0.0
    assert result.cer == 0.0


@FAST
@given(reference=st.text(max_size=60), hypothesis=st.text(max_size=60),
       name=st.sampled_from(["whisper-english", "whisper-basic", "none"]))
def test_scores_are_never_negative_and_nothing_raises(reference, hypothesis, name):
    result = score(reference, hypothesis, get_normaliser(name))
    assert result.wer >= 0
    assert result.cer >= 0
    assert result.words.errors >= 0
    assert result.chars.errors >= 0


@FAST
@given(reference=WORDS, hypothesis=WORDS | st.just(""))
def test_wer_agrees_with_jiwer(reference, hypothesis):
    result = score(reference, hypothesis, get_normaliser("none"))
    assert result.wer == jiwer.wer(reference, hypothesis)


@FAST
@given(reference=WORDS, hypothesis=WORDS | st.just(""))
def test_cer_agrees_with_jiwer(reference, hypothesis):
    # spaces count as characters, as in jiwer (e.g. "0" against "0 0" is 2.0)
    result = score(reference, hypothesis, get_normaliser("none"))
    assert result.cer == pytest.approx(jiwer.cer(reference, hypothesis), abs=1e-12)
