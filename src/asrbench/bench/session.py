"""One object per pytest run: settings, the model cache, decoded audio, collected results.

Models are cached by (model spec, device). Collection orders tests so each model's tests run
together; the cache keeps the most recent model loaded and frees the previous one, so every model
is loaded once per session and only one occupies the device at a time. Load failures are cached too:
a model that cannot load is tried once; the first test that needs it shows the reason, the others
point to it. A model that hung (``--asr-timeout``) or ran out of memory is *poisoned*: released, and
its remaining tests fail with that reason while the next model runs.

Decoded audio is not kept for the session: a least-recently-used cache holds the last few clips
(:data:`AUDIO_CACHE_SIZE`, and at most :data:`AUDIO_CACHE_BYTES`); tests run model-major, so each
clip is decoded once per model and device. Results keep text and timings only, never audio, so
memory stays flat however large the dataset.
"""

from __future__ import annotations

import gc
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asrbench.bench.guard import one_line
from asrbench.bench.protocol import Protocol, Timer
from asrbench.bench.results import FailedUtterance, LoadInfo, RunSummary, UtteranceResult, summarise
from asrbench.bench.throughput import ThroughputResult
from asrbench.config.options import Settings
from asrbench.core import identity
from asrbench.core.errors import AsrBenchError, EngineError
from asrbench.data.datasets import Dataset, Utterance, UtteranceSpec
from asrbench.engines.base import Engine
from asrbench.engines.registry import engine_class
from asrbench.engines.spec import ModelSpec
from asrbench.hardware import threads
from asrbench.hardware.devices import Device
from asrbench.hardware.memory import MemoryWatch
from asrbench.hardware.runtimes import Runtime, get_runtime, placement_error
from asrbench.scoring.metrics import get_normaliser

__all__ = ["AUDIO_CACHE_BYTES", "AUDIO_CACHE_SIZE", "BenchSession", "LoadedModel"]

#: Decoded clips kept at most: enough for a retry of the current one, never the dataset.
AUDIO_CACHE_SIZE = 4
#: And never more than this many bytes of them (long recordings), the current clip excepted.
AUDIO_CACHE_BYTES = 512 * 2**20


@dataclass(frozen=True)
class LoadedModel:
    """An engine ready on a device, with how it was loaded; what the ``asr_model`` fixture gives."""

    spec: ModelSpec
    device: Device
    engine: Engine
    load: LoadInfo

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def runtime(self) -> Runtime:
        """The engine's own runtime: synchronise, memory and threads are asked of it."""
        return get_runtime(self.engine.runtime)

    def transcribe(self, audio: Any) -> str:
        return self.engine.transcribe(audio)

    def timer(self, *, wrap: Callable[[Callable[[], tuple[str, float]]], tuple[str, float]]
              | None = None) -> Timer:
        """Timed calls of this model on its device (see :mod:`asrbench.bench.protocol`), synchronised
        through its runtime.

        The timer calls through this handle, not the engine, so that a timer left in a failure's
        traceback does not keep a released model's weights alive."""
        runtime, device = self.runtime, self.device
        return Timer(self, device, synchronise=lambda: runtime.synchronize(device), wrap=wrap)

    def _drop_engine(self) -> None:
        """Let go of the engine: a test frame or traceback still holding this handle (pytest
        keeps the last failure's) must not keep the weights in memory while the next model runs."""
        object.__setattr__(self, "engine", _Released(f"{self.label} on {self.device}"))


class _Released(Engine):
    """What a released :class:`LoadedModel` holds instead of its engine."""

    name = "released"
    devices = frozenset()
    default_model = ""
    runtime = "cpu"  # a released handle asks no library anything

    def __init__(self, label: str) -> None:
        self.label = label

    @classmethod
    def load(cls, spec: ModelSpec, device: Device) -> Engine:
        raise EngineError(f"{spec.label}: a released model cannot be loaded again")

    def transcribe(self, audio: Any) -> str:
        raise EngineError(f"{self.label}: the model was released (another model has the device)")


@dataclass
class BenchSession:
    """Mutable state of one run. Engines never see it; the plugin's fixtures go through it."""

    settings: Settings
    results: dict[tuple[str, str, str, str], UtteranceResult] = field(default_factory=dict)
    loads: dict[tuple[str, str], LoadInfo] = field(default_factory=dict)
    skipped: dict[tuple[str, str], str] = field(default_factory=dict)
    failures: list[FailedUtterance] = field(default_factory=list)
    _current: LoadedModel | None = None
    _failures: dict[tuple[str, str], AsrBenchError] = field(default_factory=dict)
    _shown: set[tuple[str, str]] = field(default_factory=set)
    _poisoned: set[tuple[str, str]] = field(default_factory=set)
    _collect: bool = False
    throughput: dict[tuple[str, str, str], ThroughputResult] = field(default_factory=dict)
    _audio: OrderedDict[tuple[str, str], Utterance] = field(default_factory=OrderedDict)
    #: Seconds of each model's first transcription after its (latest) load, by (label, device).
    first_calls: dict[tuple[str, str], float] = field(default_factory=dict)
    #: (label, device) whose first call since loading was made, or tried and failed.
    first_call_made: set[tuple[str, str]] = field(default_factory=set)
    _memory: dict[tuple[str, str], MemoryWatch] = field(default_factory=dict)

    @property
    def normaliser(self) -> str:
        return get_normaliser(self.settings.normaliser).label

    @property
    def protocol(self) -> Protocol:
        settings = self.settings
        return Protocol(rounds=settings.rounds, warmup=settings.warmup, fast=settings.fast)

    def model(self, spec: ModelSpec, device: Device) -> LoadedModel:
        """The loaded engine for (spec, device); loads it on first use, re-raises a cached failure."""
        key = (str(spec), str(device))
        if self._current is not None and (str(self._current.spec), str(self._current.device)) == key:
            return self._current
        if key in self._failures:
            raise self._cached_failure(key)
        self.release()
        cls = engine_class(spec.engine)
        runtime = get_runtime(cls.runtime)
        if self._collect:  # a poisoned model's last references went with its test: free it now
            self._collect = False
            gc.collect()
            runtime.empty_cache(device)
        watch = MemoryWatch(device, cls.runtime)
        watch.start()  # the baseline is taken before loading (and torch's peak window reset)
        thread_info = threads.apply(self.settings.threads, cls.runtime)
        started = time.perf_counter()
        failed = False
        try:
            with threads.using(thread_info["threads"]):
                engine = cls.load(spec, device)
            try:
                placement = _placement(spec, device, engine, runtime)
            except EngineError:
                del engine  # the misplaced model must not outlive this call
                raise
        except Exception as exc:
            # keep only the message: a traceback's frames would hold the half-loaded model
            error = exc if isinstance(exc, AsrBenchError) else EngineError(
                f"{spec.label} on {device}: load failed ({one_line(exc)})")
            error.__cause__ = error.__context__ = None
            self._failures[key] = error.with_traceback(None)
            failed = True
        if failed:  # outside the handler, so that the failed load's frames can be freed
            watch.stop()
            gc.collect()
            runtime.empty_cache(device)
            raise self._cached_failure(key)
        seconds = time.perf_counter() - started
        self._memory[(spec.label, str(device))] = watch
        info: dict[str, Any] = {"device_name": runtime.describe(device), **placement,
                                **thread_info}
        info["engine_info"] = dict(engine.info())  # nested: it can never overwrite a measured figure
        load = LoadInfo(spec.label, str(device), seconds, info, _model_identity(spec, device, engine))
        self.loads[(spec.label, str(device))] = load
        # loaded again (tests of two models interleaved): its first call is cold again
        self.first_call_made.discard((spec.label, str(device)))
        self.first_calls.pop((spec.label, str(device)), None)
        self._current = LoadedModel(spec, device, engine, load)
        return self._current

    def _cached_failure(self, key: tuple[str, str]) -> AsrBenchError:
        """The load failure in full the first time; later tests point to it (skips repeat it)."""
        error = self._failures[key]
        if key not in self._shown or not isinstance(error, EngineError) or key in self._poisoned:
            self._shown.add(key)
            return error
        model, device = key
        return EngineError(f"{model} on {device}: not run, the model failed earlier "
                           "(reason shown once, above)")

    def poison(self, model: LoadedModel, error: BaseException) -> None:
        """Give up on ``model`` after a hang or out-of-memory: free it, fail its remaining tests."""
        key = (str(model.spec), str(model.device))
        self._failures[key] = EngineError(
            f"{model.label} on {model.device}: not run after an earlier failure ({one_line(error)})")
        self._poisoned.add(key)
        self._collect = True
        if self._current is model:
            self.release()

    def is_poisoned(self, spec: ModelSpec, device: Device) -> bool:
        """Whether ``spec`` on ``device`` failed to load or was given up on."""
        return (str(spec), str(device)) in self._failures

    def record_failure(self, model: str, device: str, dataset: str, uid: str,
                       error: BaseException, *, audio: str | None = None) -> None:
        """Remember an utterance that produced no result, for the report and the corpus test."""
        self.failures.append(FailedUtterance(uid, model, device, dataset, type(error).__name__,
                                             one_line(error), audio))

    def has_failed(self, model: str, device: str, dataset: str, uid: str) -> bool:
        return any((f.model, f.device, f.dataset, f.id) == (model, device, dataset, uid)
                   for f in self.failures)

    def release(self) -> None:
        """Drop the loaded model so the next one has the device to itself."""
        if self._current is None:
            return
        device, runtime = self._current.device, self._current.runtime
        watch = self._memory.get((self._current.label, str(device)))
        if watch is not None:
            watch.stop()
        self._current._drop_engine()
        self._current = None
        gc.collect()
        runtime.empty_cache(device)

    def utterance(self, dataset: Dataset, item: UtteranceSpec) -> Utterance:
        """Decoded audio, from a bounded cache of the most recent clips (see the module docstring)."""
        key = (dataset.name, item.id)
        if key in self._audio:
            self._audio.move_to_end(key)
            return self._audio[key]
        utterance = dataset.load(item)
        self._audio[key] = utterance
        while len(self._audio) > AUDIO_CACHE_SIZE or (len(self._audio) > 1 and sum(
                u.audio.nbytes for u in self._audio.values()) > AUDIO_CACHE_BYTES):
            self._audio.popitem(last=False)
        return utterance

    def record(self, result: UtteranceResult) -> None:
        self.results[(result.model, result.device, result.dataset, result.id)] = result

    def note_memory(self, model: LoadedModel) -> None:
        """Take a memory reading after a transcription (see :mod:`asrbench.hardware.memory`)."""
        watch = self._memory.get((model.label, str(model.device)))
        if watch is not None:
            watch.sample()

    def memory_info(self, model: str, device: str) -> dict[str, Any]:
        watch = self._memory.get((model, device))
        return watch.figures() if watch is not None else {}

    def run_info(self, model: str, device: str) -> dict[str, Any]:
        """Per-run facts besides the load's: memory, protocol, first-call latency."""
        info = {**self.memory_info(model, device), **self.protocol.as_dict()}
        if (model, device) in self.first_calls:
            info["first_call_latency"] = self.first_calls[(model, device)]
        return info

    def result(self, model: str, device: str, dataset: str, uid: str) -> UtteranceResult | None:
        return self.results.get((model, device, dataset, uid))

    def run_keys(self) -> Iterator[tuple[str, str, str]]:
        seen: dict[tuple[str, str, str], None] = {}
        for model, device, dataset, _ in self.results:
            seen.setdefault((model, device, dataset), None)
        yield from seen

    def summaries(self) -> list[RunSummary]:
        """One summary per model × device × dataset that has results."""
        out = []
        for model, device, dataset in self.run_keys():
            rows = [r for k, r in self.results.items() if k[:3] == (model, device, dataset)]
            out.append(summarise(rows, normaliser=self.normaliser,
                                 load=self.loads.get((model, device)),
                                 info=self.run_info(model, device),
                                 identity=self.run_identity(dataset)))
        return out

    def run_identity(self, dataset: str) -> dict[str, Any]:
        """The dataset, normaliser and machine parts of a run's identity (the model part is loaded)."""
        return {"dataset": dataset, "dataset_hash": self.settings.dataset_digests.get(dataset),
                "normaliser": self.normaliser, "machine": identity.machine_fingerprint()["id"]}


def _placement(spec: ModelSpec, device: Device, engine: Engine, runtime: Runtime) -> dict[str, Any]:
    """Where the weights are, checked against the request; MPS's silent CPU fallback recorded.

    A model whose weights are elsewhere than requested fails with :class:`EngineError`: its timings
    would be reported under a device that did not run it.
    """
    actual = engine.weights_device()
    problem = placement_error(device, actual)
    if problem is not None:
        raise EngineError(f"{spec.label} on {device}: {problem}; its results would not be "
                          f"{device.kind} results (the engine placed the model elsewhere)")
    info: dict[str, Any] = {"weights_device": actual}
    if device.chosen is not None:
        info["device_requested"] = "auto"
        info["device_chosen"] = device.chosen
    fallback = runtime.cpu_fallback(device)
    if fallback is not None:
        info[f"{device.kind}_fallback"] = fallback
    return info


def _model_identity(spec: ModelSpec, device: Device, engine: Engine) -> dict[str, Any]:
    """Engine, model as asked, the weights it resolved to and their hash, options, device."""
    model = spec.model or engine_class(spec.engine).default_model
    source = getattr(engine, "source", None)
    weights = str(source) if source else model
    if Path(weights).expanduser().exists():
        weights = str(Path(weights).expanduser().resolve())
    return {"label": spec.label, "engine": spec.engine, "model": model, "weights": weights,
            "model_hash": identity.content_hash(weights), "options": dict(spec.options),
            "device": str(device)}
