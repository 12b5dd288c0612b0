"""Timed transcription: the one place where the clock runs.

The timed region is ``engine.transcribe`` plus a device synchronise, so it starts at the engine's
input (feature extraction included) and ends when text is decoded and queued kernels are done.
Decoding files and resampling happened earlier, outside it; model loading is timed separately.

Every transcription goes through :func:`guarded`: an engine exception becomes a one-line
:class:`EngineError` naming the model, utterance and file; a hang past ``--asr-timeout`` or an
out-of-memory error also poisons the model, so the run moves on to the next one.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

from asrbench.datasets import Dataset, Utterance
from asrbench.errors import AsrBenchError, EngineError, UtterancesFailed
from asrbench.guard import TranscriptionTimeout, call_with_timeout, is_out_of_memory, one_line
from asrbench.metrics import get_normaliser, score
from asrbench.results import RunSummary, UtteranceResult, summarise
from asrbench.session import BenchSession, LoadedModel

__all__ = ["benchmark_utterance", "corpus_summary", "guarded", "timed_calls"]



def timed_calls(model: LoadedModel, audio: Any, *, timeout: float | None = None,
                what: str = "transcription") -> tuple[Callable[[], str], list[float]]:
    """A zero-argument target for a benchmark, and the list it appends each call's seconds to.

    With a ``timeout`` each call runs in a worker thread (see :mod:`asrbench.guard`); the clock
    runs inside that thread, so the figure is the same as without one.
    """
    latencies: list[float] = []
    synchronize, device = model.runtime.synchronize, model.device

    def once() -> tuple[str, float]:
        started = time.perf_counter()
        text = model.engine.transcribe(audio)
        synchronize(device)
        return text, time.perf_counter() - started

    def target() -> str:
        text, seconds = call_with_timeout(once, timeout, what=what)
        latencies.append(seconds)
        return text

    return target, latencies


def describe(model: LoadedModel, utterance: Utterance) -> str:
    """``model on device, dataset/id (file)``: how a failure line names its utterance."""
    where = f" ({utterance.path})" if utterance.path is not None else ""
    return f"{model.label} on {model.device}, {utterance.dataset}/{utterance.id}{where}"


def guarded[T](session: BenchSession, model: LoadedModel, what: str, call: Callable[[], T]) -> T:
    """``call()``, with engine failures turned into one-line errors and bad models poisoned."""
    try:
        return call()
    except TranscriptionTimeout as exc:
        session.poison(model, exc)
        raise
    except AsrBenchError:
        raise
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise EngineError(f"{what}: transcription failed ({one_line(exc)})") from exc
        error = EngineError(f"{what}: out of memory ({one_line(exc)}); model released")
        traceback.clear_frames(exc.__traceback__)  # the frames hold the engine and its tensors
        session.poison(model, error)
    raise error


def _result(session: BenchSession, model: LoadedModel, utterance: Utterance, text: str,
            latencies: list[float], warmup: int) -> UtteranceResult:
    result = UtteranceResult(
        id=utterance.id,
        model=model.label,
        device=str(model.device),
        dataset=utterance.dataset,
        reference=utterance.text,
        hypothesis=text,
        score=score(utterance.text, text, get_normaliser(session.settings.normaliser)),
        audio_seconds=utterance.duration,
        latencies=tuple(latencies),
        warmup=min(warmup, len(latencies) - 1),
    )
    session.record(result)
    session.note_memory(model)
    return result


def benchmark_utterance(session: BenchSession, benchmark: Any, model: LoadedModel,
                        utterance: Utterance) -> UtteranceResult:
    """Run one transcription through pytest-benchmark and record its scored result.

    ``benchmark.pedantic`` gives warm-up rounds and the timing statistics; under
    ``--benchmark-disable`` it calls the target once and keeps no statistics, and the latency
    recorded here (our own clock around the same call) still holds.
    """
    settings = session.settings
    what = describe(model, utterance)
    target, latencies = timed_calls(model, utterance.audio, timeout=settings.timeout, what=what)
    text = guarded(session, model, what, lambda: benchmark.pedantic(
        target, rounds=settings.rounds, warmup_rounds=settings.warmup, iterations=1))
    result = _result(session, model, utterance, text, latencies, settings.warmup)
    benchmark.group = f"{model.label}-{model.device}-{utterance.dataset}"
    facts = {k: v for k, v in model.load.info.items() if isinstance(v, str | int | float | bool)}
    benchmark.extra_info.update({
        **facts,  # first: asrbench's own figures below always win
        **result.extra_info(),
        "normaliser": session.normaliser,
        "load_seconds": model.load.seconds,
        "engine_info": model.load.info.get("engine_info", {}),
    })
    return result


def corpus_summary(session: BenchSession, model: LoadedModel, dataset: Dataset) -> RunSummary:
    """Corpus figures for ``dataset``; utterances not yet benchmarked are transcribed now.

    Normally the per-utterance tests ran first (collection orders them so) and nothing is redone.
    Utterances that failed (in their own test or here) are left out of the figures, which are
    still recorded; then :class:`UtterancesFailed` says how many.
    """
    rows = []
    keys = (model.label, str(model.device), dataset.name)
    for item in dataset.items:
        found = session.result(*keys, item.id)
        if found is None and not session.has_failed(*keys, item.id):
            try:
                utterance = session.utterance(dataset, item)
                what = describe(model, utterance)
                target, latencies = timed_calls(model, utterance.audio,
                                                timeout=session.settings.timeout, what=what)
                text = guarded(session, model, what, target)
                found = _result(session, model, utterance, text, latencies, 0)
            except AsrBenchError as exc:
                session.record_failure(*keys, item.id, exc, audio=str(item.path))
                if session.is_poisoned(model.spec, model.device):
                    break
        if found is not None:
            rows.append(found)
    failed = len(dataset.items) - len(rows)
    if failed:
        raise UtterancesFailed(f"{model.label} on {model.device}, {dataset.name}: {failed} of "
                               f"{len(dataset.items)} utterances failed: see above")
    return summarise(rows, normaliser=session.normaliser, load=model.load,
                     info=session.memory_info(model.label, str(model.device)),
                     identity=session.run_identity(dataset.name))
