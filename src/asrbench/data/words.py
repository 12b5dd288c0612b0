"""Word timings: one word with where it starts and ends in its utterance, in seconds.

Reference timings come with a dataset (a manifest line's ``words``, CTM files) or from forced
alignment; engines may attach their own to a streaming update. Streaming latency is measured
against the reference ends.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WordTiming"]


@dataclass(frozen=True)
class WordTiming:
    """One word with its start and end in seconds from the start of the utterance."""

    word: str
    start: float
    end: float

    def __post_init__(self) -> None:
        if not (0.0 <= self.start <= self.end):
            raise ValueError(f"word {self.word!r}: start {self.start} and end {self.end} out of order")
