"""Timed transcription: the one place where the clock runs.

The timed region is ``engine.transcribe`` plus a device synchronise, so it starts at the engine's
input (feature extraction included) and ends when text is decoded and queued kernels are done.
Decoding files and resampling happened earlier, outside it; model loading is timed separately.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from asrbench import devices
from asrbench.datasets import Dataset, Utterance
from asrbench.metrics import get_normaliser, score
from asrbench.results import RunSummary, UtteranceResult, summarise
from asrbench.session import BenchSession, LoadedModel

__all__ = ["benchmark_utterance", "corpus_summary", "timed_calls"]


def timed_calls(model: LoadedModel, audio: Any) -> tuple[Callable[[], str], list[float]]:
    """A zero-argument target for a benchmark, and the list it appends each call's seconds to."""
    latencies: list[float] = []

    def target() -> str:
        started = time.perf_counter()
        text = model.engine.transcribe(audio)
        devices.synchronize(model.device)
        latencies.append(time.perf_counter() - started)
        return text

    return target, latencies


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
    target, latencies = timed_calls(model, utterance.audio)
    text = benchmark.pedantic(target, rounds=settings.rounds, warmup_rounds=settings.warmup,
                              iterations=1)
    result = _result(session, model, utterance, text, latencies, settings.warmup)
    benchmark.group = f"{model.label}-{model.device}-{utterance.dataset}"
    benchmark.extra_info.update({
        **result.extra_info(),
        "normaliser": session.normaliser,
        "load_seconds": model.load.seconds,
        **{k: v for k, v in model.load.info.items() if isinstance(v, str | int | float | bool)},
    })
    return result


def corpus_summary(session: BenchSession, model: LoadedModel, dataset: Dataset) -> RunSummary:
    """Corpus figures for ``dataset``; utterances not yet benchmarked are transcribed now.

    Normally the per-utterance tests ran first (collection orders them so) and nothing is redone.
    """
    rows = []
    for item in dataset.items:
        found = session.result(model.label, str(model.device), dataset.name, item.id)
        if found is None:
            utterance = session.utterance(dataset, item)
            target, latencies = timed_calls(model, utterance.audio)
            found = _result(session, model, utterance, target(), latencies, 0)
        rows.append(found)
    return summarise(rows, normaliser=session.normaliser, load=model.load,
                     info=session.memory_info(model.label, str(model.device)))
