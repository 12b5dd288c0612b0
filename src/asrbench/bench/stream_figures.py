"""How each streaming figure of a run is computed from its streamed utterances.

Registered in the figures table (:mod:`asrbench.bench.figures`), so they reach the summary, the
report and its schema, compare, merge and the gates like every other figure. Per-word latencies are
pooled over the words of every utterance; OpenBench's latencies pool their components over
utterances as OpenBench accumulates them; erasure is words removed over final words, summed first.
A run that streamed nothing has every one ``null`` with the reason, as has a figure that needs
reference word timings when no utterance had any.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from asrbench.core.figures import Figure, ratio
from asrbench.scoring.metrics import percentile, total

if TYPE_CHECKING:
    from asrbench.bench.results import UtteranceResult
    from asrbench.bench.stream_record import StreamRecord

__all__ = ["NOT_STREAMED", "commit_violations", "corrections", "erasure", "lag_slope",
           "openbench", "per_utterance", "stream_facts", "stream_rtf", "stream_wer",
           "stream_wer_gap", "word_latency"]

NOT_STREAMED = "not streamed in this run (pass --asr-stream)"

Compute = Callable[[Sequence["UtteranceResult"], Mapping[str, Any]], Figure]


def _streams(rows: Sequence[UtteranceResult]) -> list[StreamRecord]:
    return [r.stream for r in rows if r.stream is not None]


def _no_timings(streams: Sequence[StreamRecord]) -> str:
    return next((s.timing_reason for s in streams if s.timing_reason), "no reference timings")


def word_latency(which: str, stat: str) -> Compute:
    """p50, p90 or mean of first-appearance (``first``) or commit (``commit``) latency per word."""
    def compute(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
        streams = _streams(rows)
        if not streams:
            return Figure.missing(NOT_STREAMED)
        pooled = [v for s in streams for v in (getattr(s.score, f"{which}_latencies") or ())]
        if not pooled:
            timed = [s for s in streams if s.words]
            return Figure.missing("no correctly recognised word to time" if timed
                                  else _no_timings(streams))
        if stat == "mean":
            return Figure(statistics.fmean(pooled))
        return Figure(percentile(pooled, float(stat.removeprefix("p"))))
    return compute


def openbench(confirmed: bool) -> Compute:
    """OpenBench's (confirmed) streaming latency: Σ latency × duration / Σ duration, pooled."""
    def compute(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
        streams = _streams(rows)
        if not streams:
            return Figure.missing(NOT_STREAMED)
        parts = [p for s in streams
                 if (p := (s.score.openbench_confirmed if confirmed else s.score.openbench))]
        if not parts:
            return Figure.missing("no interim result with a correct word" if any(
                s.words for s in streams) else _no_timings(streams))
        return ratio(sum(p[0] for p in parts), sum(p[1] for p in parts),
                     what="OpenBench latency (seconds of newly covered audio)")
    return compute


def per_utterance(attr: str, *, median: bool) -> Compute:
    """The median (or mean) over utterances of a per-utterance timing (first word, end of utterance)."""
    def compute(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
        streams = _streams(rows)
        if not streams:
            return Figure.missing(NOT_STREAMED)
        values = [v for s in streams if (v := getattr(s.score, attr)) is not None]
        if not values:
            return Figure.missing("no correctly recognised word" if any(s.words for s in streams)
                                  else _no_timings(streams))
        return Figure(float(statistics.median(values) if median else statistics.fmean(values)))
    return compute


def erasure(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
    streams = _streams(rows)
    if not streams:
        return Figure.missing(NOT_STREAMED)
    return ratio(sum(s.score.removed_words for s in streams),
                 sum(s.score.final_words for s in streams),
                 what="erasure (words in the final hypotheses)")


def corrections(index: int) -> Compute:
    def compute(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
        streams = _streams(rows)
        if not streams:
            return Figure.missing(NOT_STREAMED)
        return Figure(float(sum(s.score.corrections[index] for s in streams)))
    return compute


def commit_violations(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
    streams = _streams(rows)
    if not streams:
        return Figure.missing(NOT_STREAMED)
    return Figure(float(sum(len(s.score.violations) for s in streams)))


def stream_wer(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
    streams = _streams(rows)
    if not streams:
        return Figure.missing(NOT_STREAMED)
    return Figure(total(s.errors for s in streams).rate)


def stream_wer_gap(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
    """Stream WER minus offline WER over the utterances that have both."""
    both = [r for r in rows if r.stream is not None and r.offline]
    if not both:
        return Figure.missing(NOT_STREAMED if not _streams(rows) else
                              "offline WER not measured in this run on the streamed utterances")
    stream = total(r.stream.errors for r in both if r.stream is not None).rate
    return Figure(stream - total(r.score.words for r in both).rate)


def stream_rtf(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
    both = [r for r in rows if r.stream is not None]
    if not both:
        return Figure.missing(NOT_STREAMED)
    return ratio(sum(r.stream.score.compute_seconds for r in both if r.stream is not None),
                 sum(r.audio_seconds for r in both), what="streaming RTF (audio seconds)")


def lag_slope(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
    streams = _streams(rows)
    if not streams:
        return Figure.missing(NOT_STREAMED)
    slopes = [s.score.lag_slope for s in streams if s.score.lag_slope is not None]
    if not slopes:
        return Figure.missing("every stream was a single chunk: no slope")
    return Figure(statistics.fmean(slopes))


def stream_facts(rows: Sequence[UtteranceResult]) -> dict[str, Any]:
    """A streaming run's conditions (chunk, clock, policy) and where its timings came from."""
    streams = _streams(rows)
    if not streams:
        return {}
    first = streams[0]
    sources = sorted({s.timing_source for s in streams if s.timing_source})
    missing = sum(s.timing_source is None for s in streams)
    facts: dict[str, Any] = {
        "stream_chunk_ms": first.chunk_ms, "stream_clock": first.clock,
        "stream_compute_clock": first.compute_clock, "stream_policy": first.policy,
        "streamed_utterances": len(streams),
        "timing_source": "+".join(sources) if sources else None,
    }
    if missing:
        facts["timing_source_reason"] = (f"{missing} of {len(streams)} streamed utterances have "
                                         f"no reference timings: {_no_timings(streams)}")
    return facts
