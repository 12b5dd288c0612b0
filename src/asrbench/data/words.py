"""Word timings: one word with where it starts and ends in its utterance, in seconds.

Reference timings come with a dataset (a manifest line's ``words``, CTM files) or from forced
alignment; engines may attach their own to a streaming update. Streaming latency is measured
against the reference ends.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["WordTiming", "parse_words", "read_ctm", "timed_words"]


@dataclass(frozen=True)
class WordTiming:
    """One word with its start and end in seconds from the start of the utterance."""

    word: str
    start: float
    end: float

    def __post_init__(self) -> None:
        if not (0.0 <= self.start <= self.end):
            raise ValueError(f"word {self.word!r}: start {self.start} and end {self.end} out of order")


def parse_words(value: object, *, where: str) -> tuple[WordTiming, ...]:
    """A manifest line's ``words``: a list of ``{"word", "start", "end"}`` in seconds, in order.

    ``where`` (``FILE:LINE``) names the line in the one-line :class:`ValueError` for a bad entry.
    """
    if not isinstance(value, list):
        raise ValueError(f"{where}: 'words' must be a list of {{\"word\", \"start\", \"end\"}} "
                         f"objects, not {type(value).__name__}")
    out: list[WordTiming] = []
    for index, entry in enumerate(value, start=1):
        at = f"{where}: 'words' entry {index}"
        if not isinstance(entry, dict) or not {"word", "start", "end"} <= set(entry):
            raise ValueError(f"{at}: expected an object with 'word', 'start' and 'end'")
        word, start, end = entry["word"], entry["start"], entry["end"]
        if not isinstance(word, str) or not word.strip():
            raise ValueError(f"{at}: 'word' must be a non-empty string")
        out.append(_timing(word, start, end, at))
    return _in_order(out, where)


def read_ctm(lines: Iterable[str], *, where: str) -> dict[str, tuple[WordTiming, ...]]:
    """CTM lines ``UTTERANCE CHANNEL START DURATION WORD [CONFIDENCE]`` → timings by utterance id."""
    found: dict[str, list[WordTiming]] = {}
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields or line.lstrip().startswith(";;"):
            continue
        at = f"{where}:{number}"
        if len(fields) not in (5, 6):
            raise ValueError(f"{at}: expected 'UTTERANCE CHANNEL START DURATION WORD [CONFIDENCE]'")
        try:
            start, duration = float(fields[2]), float(fields[3])
        except ValueError:
            raise ValueError(f"{at}: START and DURATION must be numbers of seconds") from None
        found.setdefault(fields[0], []).append(_timing(fields[4], start, start + duration, at))
    return {uid: _in_order(words, where) for uid, words in found.items()}


def _timing(word: str, start: object, end: object, at: str) -> WordTiming:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
               for v in (start, end)):
        raise ValueError(f"{at}: 'start' and 'end' must be finite numbers of seconds")
    try:
        return WordTiming(word, float(start), float(end))  # type: ignore[arg-type]
    except ValueError as exc:
        raise ValueError(f"{at}: {exc}") from None


def _in_order(words: list[WordTiming], where: str) -> tuple[WordTiming, ...]:
    for before, after in itertools.pairwise(words):
        if after.start < before.start:
            raise ValueError(f"{where}: word {after.word!r} starts at {after.start} s, before "
                             f"the previous word {before.word!r} ({before.start} s)")
    return tuple(words)


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
