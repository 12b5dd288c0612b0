"""The audio layer: any file, dtype, rate and channel layout → float32 mono 16 kHz."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from asrbench.core.errors import AudioError
from asrbench.data.audio import load_audio, to_mono_float32
from asrbench.data.datasets import smoke_manifest

TONE = np.sin(2 * np.pi * 440 * np.arange(8000) / 16000).astype(np.float32) * 0.5


@pytest.mark.parametrize(("fmt", "subtype"), [("WAV", "PCM_16"), ("WAV", "FLOAT"),
                                              ("FLAC", "PCM_24"), ("OGG", "VORBIS")])
def test_formats_decode_to_float32_mono(tmp_path, fmt, subtype):
    path = tmp_path / f"tone.{fmt.lower()}"
    sf.write(path, TONE, 16000, format=fmt, subtype=subtype)
    audio = load_audio(path)
    assert audio.dtype == np.float32
    assert audio.ndim == 1
    assert abs(len(audio) - 8000) < 100
    assert np.abs(audio).max() == pytest.approx(0.5, abs=0.05)


def test_stereo_44k_int16_is_downmixed_and_resampled(tmp_path):
    t = np.arange(44100) / 44100
    left = (np.sin(2 * np.pi * 300 * t) * 16000).astype(np.int16)
    stereo = np.stack([left, left], axis=1)
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, 44100, subtype="PCM_16")
    audio = load_audio(path)
    assert len(audio) == 16000
    assert np.abs(audio).max() == pytest.approx(16000 / 32768, abs=0.02)


@pytest.mark.parametrize("layout", ["frames_channels", "channels_frames"])
def test_arrays_in_either_layout(layout):
    stereo = np.stack([TONE, TONE])
    data = stereo.T if layout == "frames_channels" else stereo
    np.testing.assert_allclose(to_mono_float32(data, 16000), TONE, atol=1e-6)


def test_integer_arrays_are_scaled():
    assert to_mono_float32(np.array([-32768, 0, 16384], np.int16), 16000).tolist() == [-1, 0, 0.5]
    assert to_mono_float32(np.array([0, 128, 255], np.uint8), 16000)[1] == 0


def test_mp3(tmp_path):
    # the soundfile wheel bundles a libsndfile with MP3 (1.1+): not having it is a broken install
    path = tmp_path / "tone.mp3"
    sf.write(path, TONE, 16000, format="MP3")
    assert load_audio(path).dtype == np.float32


def _dominant_hz(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / rate)[int(np.argmax(spectrum))])


@pytest.mark.parametrize(("rate", "hz"), [(44100, 1000.0), (8000, 440.0), (48000, 3000.0)])
def test_resampling_keeps_frequency_and_exact_length(rate, hz):
    seconds = 2
    t = np.arange(rate * seconds) / rate
    audio = to_mono_float32((0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32), rate)
    assert len(audio) == 16000 * seconds
    assert _dominant_hz(audio, 16000) == pytest.approx(hz, abs=1.0)
    middle = audio[4000:-4000]  # away from the filter's edges
    assert np.abs(middle).max() == pytest.approx(0.5, abs=0.01)


def test_resampling_imports_no_torch():
    import subprocess
    import sys

    code = ("import sys, numpy as np; from asrbench.data.audio import to_mono_float32; "
            "to_mono_float32(np.zeros(44100, np.float32), 44100); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(("content", "message"), [
    (b"not audio at all", "cannot decode audio"),
    (b"", "cannot decode audio"),
])
def test_bad_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=f"broken.wav: {message}"):
        load_audio(path)


def test_missing_file_and_bad_samples():
    with pytest.raises(AudioError, match=r"nope\.wav: audio file not found"):
        load_audio("nope.wav")
    with pytest.raises(AudioError, match="NaN"):
        to_mono_float32(np.array([0.0, np.nan]), 16000)
    with pytest.raises(AudioError, match="no samples"):
        to_mono_float32(np.array([]), 16000)


def test_smoke_clips_are_real_16k_speech():
    for line in smoke_manifest().read_text().splitlines():
        name = line.split('"audio": "')[1].split('"')[0]
        audio = load_audio(smoke_manifest().parent / name)
        assert 2.5 < len(audio) / 16000 < 8
        assert audio.std() > 0.01
