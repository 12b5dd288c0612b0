"""Helpers for engines that transcribe several clips in one batched call.

Whisper models read 30-second windows: a batch is a list of windows, at most one per clip when the
clips are short. A clip longer than the window is cut into consecutive windows (the one-at-a-time
path instead slides its window by what it decoded), and the texts of a clip's windows are joined
with spaces, in order.

:func:`mel_windows` cuts a clip's log-Mel features the way openai-whisper's ``transcribe`` does:
the spectrogram of the whole clip (normalised over it), cut into 3000-frame windows, the last one
padded with zeros *after* normalisation. Padding the audio to 30 s first (a feature extractor's
default) fills the tail with the log-Mel of silence instead, which the model reads differently on a
short or quiet clip.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from asrbench.data.audio import SAMPLE_RATE

__all__ = ["WINDOW_FRAMES", "WINDOW_SECONDS", "join_pieces", "mel_windows", "split_pieces"]

WINDOW_SECONDS = 30
#: Log-Mel frames in one window (10 ms hop).
WINDOW_FRAMES = 3000

Audio = npt.NDArray[np.float32]


def split_pieces(audio: Sequence[Audio], *, seconds: int = WINDOW_SECONDS,
                 rate: int = SAMPLE_RATE) -> tuple[list[Audio], list[int]]:
    """Every clip as windows of at most ``seconds``, and for each window the index of its clip."""
    size = seconds * rate
    pieces: list[Audio] = []
    owners: list[int] = []
    for index, clip in enumerate(audio):
        starts = range(0, max(len(clip), 1), size)
        for start in starts:
            pieces.append(clip[start:start + size])
            owners.append(index)
    return pieces, owners


def join_pieces(texts: Sequence[str], owners: Sequence[int], count: int) -> list[str]:
    """One text per clip: the texts of each clip's windows joined with spaces, in order."""
    parts: list[list[str]] = [[] for _ in range(count)]
    for text, owner in zip(texts, owners, strict=True):
        if text.strip():
            parts[owner].append(text.strip())
    return [" ".join(p) for p in parts]


def mel_windows(mel: npt.NDArray[np.float32], content: int, *,
                frames: int = WINDOW_FRAMES) -> list[npt.NDArray[np.float32]]:
    """The first ``content`` frames of ``mel`` (mels × frames) as windows of ``frames``, the last
    one padded with zeros; none for an empty clip (openai-whisper decodes nothing there)."""
    windows: list[npt.NDArray[np.float32]] = []
    for start in range(0, content, frames):
        stop = min(start + frames, content)
        window = np.zeros((mel.shape[0], frames), dtype=np.float32)
        window[:, :stop - start] = mel[:, start:stop]
        windows.append(window)
    return windows
