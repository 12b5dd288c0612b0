"""Word timings: one word with where it starts and ends in its utterance, in seconds.

Reference timings come with a dataset (a manifest line's ``words``, CTM files) or from forced
alignment; engines may attach their own to a streaming update. Streaming latency is measured
against the reference ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["WordTiming", "timed_words"]


@dataclass(frozen=True)
class WordTiming:
    """One word with its start and end in seconds from the start of the utterance."""

    word: str
    start: float
    end: float

    def __post_init__(self) -> None:
        if not (0.0 <= self.start <= self.end):
            raise ValueError(f"word {self.word!r}: start {self.start} and end {self.end} out of order")


def timed_words(words: Iterable[tuple[str, float, float]]) -> tuple[WordTiming, ...]:
    """Whisper-style ``(text, start, end)`` pieces as whitespace-separated words with timings.

    A piece that does not start with a space continues the word before it (Whisper splits
    ``old-sposed`` into `` old`` and ``-sposed``), so the words are the text's own ``split()``;
    times are clipped so that ``0 <= start <= end`` (decoders may overlap words slightly).
    """
    timings: list[WordTiming] = []
    for text, start, end in words:
        if not text.strip():
            continue
        if timings and not text[:1].isspace():
            last = timings.pop()
            timings.append(WordTiming(last.word + text.strip(), last.start, max(float(end), last.start)))
            continue
        begin = max(float(start), timings[-1].end if timings else 0.0, 0.0)
        timings.append(WordTiming(text.strip(), begin, max(float(end), begin)))
    return tuple(timings)
