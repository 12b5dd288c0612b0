"""The one audio-format layer: any file or array → float32 mono at 16 kHz.

Every engine receives audio in this form, so file decoding and resampling happen once, outside the
timed region. Engines that need another shape (a torch tensor, a batch axis) convert from here.

Files are decoded in blocks of :data:`BLOCK_FRAMES`, each mixed down to mono as it is read, so a
long multichannel recording never sits in memory with all its channels. What cannot be decoded
(an empty, foreign or cut-off compressed file), holds no samples, or holds NaN or infinity raises
:class:`AudioError` naming the file; a WAV cut short gives the samples it holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asrbench.core.errors import AudioError

__all__ = ["BLOCK_FRAMES", "SAMPLE_RATE", "load_audio", "to_mono_float32", "to_wave_tensor"]

SAMPLE_RATE = 16_000
BLOCK_FRAMES = 1 << 16

Audio = npt.NDArray[np.float32]


def load_audio(path: str | Path, *, sample_rate: int = SAMPLE_RATE) -> Audio:
    """Decode ``path`` (wav, flac, ogg; mp3 where libsndfile can) to float32 mono ``sample_rate``."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: audio file not found")
    try:
        with sf.SoundFile(str(path)) as handle:
            rate = int(handle.samplerate)
            data = _read_mono(handle)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        cause = str(exc).replace(f"Error opening {str(path)!r}: ", "").strip()
        raise AudioError(f"{path}: cannot decode audio ({cause})") from exc
    if data.shape[0] == 0:
        raise AudioError(f"{path}: audio file holds no samples")
    return to_mono_float32(data, rate, sample_rate=sample_rate, source=str(path))


def _read_mono(handle: Any) -> Audio:
    """Every frame of an open ``soundfile.SoundFile``, averaged over channels block by block.

    The output is allocated once from the header's frame count; a file holding fewer frames gives
    the ones it holds, one holding more (a header that lied) gets them appended.
    """
    out = np.empty(max(int(handle.frames), 0), dtype=np.float32)
    filled = 0
    extra: list[Audio] = []
    for block in handle.blocks(blocksize=BLOCK_FRAMES, dtype="float32", always_2d=True):
        mono = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float32)
        room = min(len(mono), len(out) - filled)
        out[filled:filled + room] = mono[:room]
        filled += room
        if room < len(mono):
            extra.append(mono[room:].copy())
    return np.concatenate([out[:filled], *extra]) if extra else out[:filled]


def to_mono_float32(
    data: npt.ArrayLike,
    rate: int,
    *,
    sample_rate: int = SAMPLE_RATE,
    source: str = "audio",
) -> Audio:
    """Convert samples of any dtype and layout to float32 mono at ``sample_rate``.

    Integer samples are scaled to [-1, 1). A 2-D array is read as (frames, channels) or
    (channels, frames), whichever axis is shorter holding the channels, and averaged to mono.
    """
    array = np.asarray(data)
    if array.ndim == 0 or array.size == 0:
        raise AudioError(f"{source}: no samples")
    if array.ndim > 2:
        raise AudioError(f"{source}: expected 1-D or 2-D samples, got shape {array.shape}")
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        if info.min == 0:  # unsigned PCM (8-bit WAV) is centred on the midpoint
            array = array.astype(np.float64) - (info.max + 1) / 2
            scale = (info.max + 1) / 2
        else:
            scale = -float(info.min)
        array = (array / scale).astype(np.float32)
    elif np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32, copy=False)
    else:
        raise AudioError(f"{source}: unsupported sample type {array.dtype}")
    if array.ndim == 2:
        channel_axis = 1 if array.shape[1] <= array.shape[0] else 0
        array = array.mean(axis=channel_axis, dtype=np.float32)
    if not np.all(np.isfinite(array)):
        raise AudioError(f"{source}: samples contain NaN or infinity")
    if rate <= 0:
        raise AudioError(f"{source}: invalid sample rate {rate}")
    if rate != sample_rate:
        array = _resample(array, rate, sample_rate)
    return np.ascontiguousarray(array, dtype=np.float32)


def to_wave_tensor(data: npt.ArrayLike, rate: int = SAMPLE_RATE) -> Any:
    """A torch float32 tensor shaped (channels, samples) = (1, N) at 16 kHz.

    The layout torch audio APIs expect (liquid-audio's ``ChatState.add_audio`` asserts it); built
    from any array this layer accepts, so shape and rate are fixed in one place.
    """
    import torch

    return torch.from_numpy(to_mono_float32(data, rate)).unsqueeze(0)


def _resample(array: Audio, rate: int, target: int) -> Audio:
    """Band-limited resampling with soxr (librosa's default), the same filter for every engine.

    soxr needs no torch, so audio loads even where torch is absent or broken, and a
    faster-whisper run never imports torch to read a file. The output has exactly
    ``ceil(len * target / rate)`` samples, soxr's whole-signal length.
    """
    import soxr

    out = soxr.resample(np.ascontiguousarray(array, dtype=np.float32), rate, target, quality="HQ")
    result: Audio = np.asarray(out, dtype=np.float32)
    return result
