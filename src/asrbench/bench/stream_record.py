"""One streamed utterance as the report keeps it: the trace, the reference timings and the scores.

The trace (a_k, c_k, f_k, partial, committed per call) is saved whole, so every figure can be
recomputed and re-scored from a report without running the engine again
(:func:`rescore`); the scores computed when it ran ride along so that merging reports needs no
normaliser plugin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asrbench.bench.stream_clock import StreamStep, steps_from_dicts
from asrbench.data.words import WordTiming
from asrbench.scoring.metrics import Counts
from asrbench.scoring.streaming import StreamScore, score_stream

__all__ = ["TIMING_SOURCES", "StreamRecord", "rescore"]

#: Where reference word timings come from, as ``timing_source`` says.
TIMING_SOURCES = ("manifest", "forced-alignment", "engine")


@dataclass(frozen=True)
class StreamRecord:
    """One utterance streamed: its conditions, trace, reference timings and figures."""

    chunk_ms: float
    clock: str
    compute_clock: str
    policy: dict[str, Any]
    steps: tuple[StreamStep, ...]
    #: The reference word timings scored against and where they came from; ``None`` and the reason
    #: when there were none.
    words: tuple[WordTiming, ...] | None
    timing_source: str | None
    timing_reason: str | None
    #: The final text's word errors against the reference (the stream's WER).
    errors: Counts
    score: StreamScore = field(compare=False)

    @property
    def final(self) -> str:
        return self.steps[-1].partial if self.steps else ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "chunk_ms": self.chunk_ms, "clock": self.clock, "compute_clock": self.compute_clock,
            "policy": self.policy, "timing_source": self.timing_source,
            **({"timing_reason": self.timing_reason} if self.timing_reason else {}),
            "words": None if self.words is None else [
                {"word": w.word, "start": w.start, "end": w.end} for w in self.words],
            "word_errors": self.errors.as_dict(),
            "trace": [s.as_dict() for s in self.steps],
            "figures": self.score.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StreamRecord:
        words = data.get("words")
        errors = data.get("word_errors") or {}
        return cls(
            float(data["chunk_ms"]), str(data["clock"]), str(data["compute_clock"]),
            dict(data.get("policy") or {}), steps_from_dicts(data["trace"]),
            None if words is None else tuple(WordTiming(str(w["word"]), float(w["start"]),
                                                        float(w["end"])) for w in words),
            data.get("timing_source"), data.get("timing_reason"),
            Counts(int(errors.get("substitutions", 0)), int(errors.get("deletions", 0)),
                   int(errors.get("insertions", 0)), int(errors.get("reference_tokens", 0))),
            StreamScore.from_dict(data["figures"]))


def rescore(record: StreamRecord, normalise: Callable[[str], str]) -> StreamScore:
    """The record's figures recomputed from its saved trace (another normaliser, say)."""
    return score_stream(record.steps, record.words, normalise)
