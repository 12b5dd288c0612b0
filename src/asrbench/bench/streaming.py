"""Stream one utterance into a loaded model, score it, and record it beside its offline result.

The model's session (native, or LocalAgreement over ``transcribe``) is fed by
:func:`asrbench.bench.stream_clock.feed`; the reference word timings come from the dataset
(``manifest``: a manifest's ``words`` or CTM files), else forced alignment when ``--asr-align`` asks
for it, else the engine's own word timings (``engine``), else there are none and every figure that
needs them is ``null`` with the reason. The record is attached to the utterance's offline result
when the run measured one; otherwise the stream's final text and total compute are the utterance's
result, marked ``offline: false``.
"""

from __future__ import annotations

from dataclasses import replace

from asrbench.bench.models import LoadedModel
from asrbench.bench.results import RunKey, UtteranceResult
from asrbench.bench.runner import describe, first_call, guarded
from asrbench.bench.session import BenchSession
from asrbench.bench.stream_clock import clock_used, feed
from asrbench.bench.stream_record import StreamRecord
from asrbench.core.errors import AsrBenchError
from asrbench.data.datasets import Utterance
from asrbench.data.words import WordTiming
from asrbench.scoring.metrics import get_normaliser, score
from asrbench.scoring.streaming import score_stream

__all__ = ["reference_timings", "stream_utterance"]

Timings = tuple[tuple[WordTiming, ...] | None, str | None, str | None]


def reference_timings(utterance: Utterance, engine_words: tuple[WordTiming, ...] | None, *,
                      align: bool) -> Timings:
    """(words, timing_source, reason): the dataset's, forced alignment's, the engine's, or none."""
    if utterance.words:
        return utterance.words, "manifest", None
    why = (f"no reference word timings: dataset {utterance.dataset!r} carries none (give 'words' "
           "on manifest lines or CTM files, or pass --asr-align)")
    if align:
        try:
            words = _align(utterance)
        except (ImportError, AsrBenchError, OSError, ValueError) as exc:
            why = f"no reference word timings: forced alignment failed ({exc})"
        else:
            return words, "forced-alignment", None
    if engine_words:
        return engine_words, "engine", None
    return None, None, f"{why}, and the engine gives no word timings"


def _align(utterance: Utterance) -> tuple[WordTiming, ...]:
    from asrbench.engines.aligner import cached_align_words  # pocketsphinx: only when asked
    from asrbench.engines.weights import cache_dir

    return tuple(cached_align_words(utterance.audio, utterance.text,
                                    cache_dir=cache_dir() / "alignments"))


def stream_utterance(session: BenchSession, model: LoadedModel,
                     utterance: Utterance) -> UtteranceResult:
    """Stream ``utterance`` under the run's chunk size and clock; record and return its result."""
    from asrbench.engines.streaming import StreamPolicy

    settings = session.settings
    first_call(session, model, utterance)  # a cold first call is no part of the stream
    what = describe(model, utterance)
    stream = guarded(session, model, what, lambda: model.engine.start_stream(StreamPolicy()))
    steps, engine_words = guarded(session, model, what, lambda: feed(
        stream, utterance.audio, chunk_s=settings.chunk_ms / 1000, mode=settings.stream_clock,
        sample_rate=utterance.sample_rate))
    words, source, reason = reference_timings(utterance, engine_words, align=settings.align)
    normaliser = get_normaliser(settings.normaliser)
    final = score(utterance.text, steps[-1].partial, normaliser)
    record = StreamRecord(settings.chunk_ms, settings.stream_clock,
                          clock_used(settings.stream_clock, stream.compute_clock),
                          dict(stream.describe()), steps, words, source, reason, final.words,
                          score_stream(steps, words, normaliser.apply))
    found = session.store.result(RunKey(model.label, str(model.device), utterance.dataset),
                                 utterance.id)
    if found is not None and found.offline:
        result = replace(found, stream=record)
    else:
        result = UtteranceResult(
            id=utterance.id, model=model.label, device=str(model.device),
            dataset=utterance.dataset, reference=utterance.text, hypothesis=record.final,
            score=final, audio_seconds=utterance.duration,
            latencies=(record.score.compute_seconds,), offline=False, stream=record)
    session.store.record(result)
    session.models.note_memory(model)
    return result
