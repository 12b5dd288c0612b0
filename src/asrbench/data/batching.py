"""Helpers for engines that transcribe several clips in one batched call.

Whisper models read 30-second windows: a batch is a list of windows, at most one per clip when the
clips are short. A clip longer than the window is cut into consecutive windows (the one-at-a-time
path instead slides its window by what it decoded), and the texts of a clip's windows are joined
with spaces, in order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from asrbench.data.audio import SAMPLE_RATE

__all__ = ["WINDOW_SECONDS", "join_pieces", "split_pieces"]

WINDOW_SECONDS = 30

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
