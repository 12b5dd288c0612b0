"""Benchmark one utterance, a corpus or a dataset in batches: measure, score, record.

The clock runs only in :mod:`asrbench.bench.protocol`; this module decides which calls are made (the
model's first call once per model × device, then the protocol's rounds) and records the results.
Throughput mode (:mod:`asrbench.bench.throughput`) is run from here, after the corpus figures it is
compared with.

Every transcription goes through :func:`guarded`: an engine exception becomes a one-line
:class:`EngineError` naming the model, utterance and file; a hang past ``--asr-timeout`` or an
out-of-memory error also poisons the model, so the run moves on to the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from asrbench.bench import guard
from asrbench.bench.models import LoadedModel
from asrbench.bench.protocol import Measurement, Timer, benchmark_group, measure
from asrbench.bench.results import RunKey, RunSummary, ThroughputResult, UtteranceResult, summarise
from asrbench.bench.session import BenchSession
from asrbench.bench.throughput import measure_throughput
from asrbench.core.errors import AsrBenchError, UtterancesFailed
from asrbench.data.datasets import Dataset, Utterance
from asrbench.scoring.metrics import get_normaliser, score

__all__ = ["benchmark_utterance", "corpus_summary", "describe", "first_call", "guarded",
           "measure_utterance", "run_throughput"]


def describe(model: LoadedModel, utterance: Utterance) -> str:
    """``model on device, dataset/id (file)``: how a failure line names its utterance."""
    where = f" ({utterance.path})" if utterance.path is not None else ""
    return f"{model.label} on {model.device}, {utterance.dataset}/{utterance.id}{where}"


def guarded[T](session: BenchSession, model: LoadedModel, what: str, call: Callable[[], T]) -> T:
    """``call()``, with engine failures turned into one-line errors and bad models poisoned."""
    return guard.guarded(call, what=what, poison=partial(session.models.poison, model))


def _timer(session: BenchSession, model: LoadedModel, what: str) -> Timer:
    """The model's timer, each call under ``--asr-timeout`` (the clock runs in the worker)."""
    return model.timer(wrap=guard.with_timeout(session.settings.timeout, what=what),
                       meters=session.costs.meters(model.key, model.device))


def first_call(session: BenchSession, model: LoadedModel, utterance: Utterance) -> float | None:
    """Make and time the model's first call after loading, once per load: its seconds if it was
    made now, else None. A first call that fails is not tried again: the next utterance's calls
    are warm-ups and rounds as usual, and no first-call latency is reported."""
    if not session.models.claim_first_call(model):
        return None
    what = describe(model, utterance)
    timer = _timer(session, model, what)
    seconds = guarded(session, model, what, lambda: timer.call(utterance.audio)[1])
    session.models.first_calls[model.key] = seconds
    # idle power before the measured calls, over about as long as they will take (capped)
    dataset = next((d for d in session.datasets.datasets if d.name == utterance.dataset), None)
    calls = session.protocol.measured_rounds * (len(dataset.items) if dataset is not None else 1)
    session.costs.measure_idle(model.key, model.device, seconds * calls)
    return seconds


def measure_utterance(session: BenchSession, model: LoadedModel, utterance: Utterance,
                      benchmark: Any = None) -> UtteranceResult:
    """The protocol on one utterance (after the model's first call), scored and recorded.

    The model's first call, when made on this utterance, is its first warm-up call (see
    :mod:`asrbench.bench.protocol`); in fast mode, which has no warm-up, it is a call of its own."""
    first = first_call(session, model, utterance)
    protocol = session.protocol
    warmed = (first,) if first is not None and protocol.warmup_rounds > 0 else ()
    what = describe(model, utterance)
    group = benchmark_group(model.label, str(model.device), utterance.dataset)
    timer = _timer(session, model, what)
    measured = guarded(session, model, what, lambda: measure(
        timer, utterance.audio, protocol, benchmark=benchmark, group=group, warmed=warmed))
    return _result(session, model, utterance, measured)


def _result(session: BenchSession, model: LoadedModel, utterance: Utterance,
            measured: Measurement) -> UtteranceResult:
    result = UtteranceResult(
        id=utterance.id,
        model=model.label,
        device=str(model.device),
        dataset=utterance.dataset,
        reference=utterance.text,
        hypothesis=measured.text,
        score=score(utterance.text, measured.text, get_normaliser(session.settings.normaliser)),
        audio_seconds=utterance.duration,
        latencies=measured.latencies,
        warmup_latencies=measured.warmups,
        cpu_seconds=measured.cpu_seconds,
        first_text_latency=measured.first_text.seconds,
        first_text_latency_reason=measured.first_text.reason,
        energy=measured.energy,
    )
    session.store.record(result)
    session.models.note_memory(model)
    return result


def benchmark_utterance(session: BenchSession, benchmark: Any, model: LoadedModel,
                        utterance: Utterance) -> UtteranceResult:
    """Measure one utterance with pytest-benchmark driving the measured rounds; record the result.

    The group (``model-device-dataset``) is set before timing; under ``--benchmark-disable`` the
    protocol runs the same rounds itself.
    """
    try:
        result = measure_utterance(session, model, utterance, benchmark)
    except AsrBenchError as exc:
        if not getattr(benchmark, "_mode", True):
            # it failed before pytest-benchmark timed anything (first call, warm-up): the error goes
            # through the fixture, which otherwise warns (an error under -W error) it was unused
            _fail_through(benchmark, exc)
        raise
    facts = {k: v for k, v in model.load.info.items() if isinstance(v, str | int | float | bool)}
    benchmark.extra_info.update({
        **facts,  # first: asrbench's own figures below always win
        **result.extra_info(),
        "first_call_latency": session.models.first_calls.get(model.key),
        "measured_rounds": len(result.latencies),
        "warmup_rounds": len(result.warmup_latencies),
        "normaliser": session.normaliser,
        "load_seconds": model.load.seconds,
        "engine_info": model.load.info.get("engine_info", {}),
    })
    return result


def _fail_through(benchmark: Any, error: BaseException) -> None:
    def fail() -> None:
        raise error

    benchmark.pedantic(fail, rounds=1, warmup_rounds=0, iterations=1)


def corpus_summary(session: BenchSession, model: LoadedModel, dataset: Dataset) -> RunSummary:
    """Corpus figures for ``dataset``; utterances not yet benchmarked are transcribed now.

    Normally the per-utterance tests ran first (collection orders them so) and nothing is redone;
    the others go through the same protocol, without pytest-benchmark. Utterances that failed (in
    their own test or here) are left out of the figures, which are still recorded; then
    :class:`UtterancesFailed` says how many.
    """
    rows = []
    key = RunKey(model.label, str(model.device), dataset.name)
    store = session.store
    for item in dataset.items:
        found = store.result(key, item.id)
        if found is not None and not found.offline:
            found = None  # only streamed so far: its offline figures are measured now
        if found is None and not store.has_failed(key, item.id):
            try:
                found = measure_utterance(session, model, session.utterance(dataset, item))
            except AsrBenchError as exc:
                store.record_failure(key, item.id, exc, audio=str(item.path))
                if session.models.is_poisoned(model.key):
                    break
        if found is not None:
            rows.append(found)
    failed = len(dataset.items) - len(rows)
    if failed:
        raise UtterancesFailed(f"{model.label} on {model.device}, {dataset.name}: {failed} of "
                               f"{len(dataset.items)} utterances failed: see above")
    return summarise(rows, normaliser=session.normaliser, load=model.load,
                     info=session.run_info(model.key), identity=session.run_identity(dataset.name))


def run_throughput(session: BenchSession, model: LoadedModel, dataset: Dataset) -> ThroughputResult:
    """The throughput test's work: one-at-a-time corpus figures, then batches; recorded."""
    sequential = corpus_summary(session, model, dataset)
    size = session.settings.batch_size or len(dataset.items)
    result = measure_throughput(session, model, dataset, size, sequential.rtfx)
    session.store.record_throughput(result)
    return result
