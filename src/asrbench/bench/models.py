"""The model cache: each model loaded once per (engine, model, device), one on a device at a time.

Models are keyed by :class:`~asrbench.bench.results.ModelKey` (the model's label, unique in a run,
and the device). Collection orders tests so each model's tests run together; the cache keeps the
most recent model loaded and frees the previous one, so every model is loaded once per session and
only one occupies the device at a time. Load failures are cached too: a model that cannot load is
tried once; the first test that needs it shows the reason, the others point to it. A model that
hung (``--asr-timeout``) or ran out of memory is *poisoned*: released, and its remaining tests fail
with that reason while the next model runs.

The cache also keeps what belongs to a load: its :class:`LoadInfo`, its memory readings, and the
model's first call after loading (made once per load: a reloaded model is cold again).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asrbench.bench.guard import Wrap, one_line
from asrbench.bench.protocol import Timer
from asrbench.bench.results import LoadInfo, ModelKey
from asrbench.core import identity
from asrbench.core.errors import AsrBenchError, EngineError
from asrbench.engines.base import Engine
from asrbench.engines.registry import engine_class
from asrbench.engines.spec import ModelSpec
from asrbench.hardware import threads
from asrbench.hardware.devices import Device
from asrbench.hardware.energy import EnergyMeter
from asrbench.hardware.memory import MemoryWatch
from asrbench.hardware.runtimes import Runtime, get_runtime, placement_error

__all__ = ["LoadedModel", "ModelCache"]


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
    def key(self) -> ModelKey:
        return ModelKey(self.spec.label, str(self.device))

    @property
    def runtime(self) -> Runtime:
        """The engine's own runtime: synchronise, memory and threads are asked of it."""
        return get_runtime(self.engine.runtime)

    @property
    def incremental(self) -> bool:
        """Whether the engine marks its first text (see :mod:`asrbench.engines.first_text`)."""
        return bool(getattr(self.engine, "incremental", False))

    def transcribe(self, audio: Any) -> str:
        return self.engine.transcribe(audio)

    def transcribe_batch(self, audio: Any) -> list[str]:
        return self.engine.transcribe_batch(audio)

    def timer(self, *, wrap: Wrap | None = None,
              meters: Sequence[tuple[str, EnergyMeter]] = ()) -> Timer:
        """Timed calls of this model on its device (see :mod:`asrbench.bench.protocol`), synchronised
        through its runtime.

        The timer calls through this handle, not the engine, so that a timer left in a failure's
        traceback does not keep a released model's weights alive."""
        runtime, device = self.runtime, self.device
        return Timer(self, device, synchronise=lambda: runtime.synchronize(device), wrap=wrap,
                     meters=meters)

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

    def transcribe_batch(self, audio: Any) -> list[str]:
        raise EngineError(f"{self.label}: the model was released (another model has the device)")


class ModelCache:
    """Loaded models, their loads and failures, first calls and memory, for one run."""

    def __init__(self, *, threads: int | None = None) -> None:
        self.threads = threads
        #: How each model was loaded (its latest load).
        self.loads: dict[ModelKey, LoadInfo] = {}
        #: Seconds of each model's first transcription after its (latest) load.
        self.first_calls: dict[ModelKey, float] = {}
        #: Models whose first call since loading was made, or tried and failed.
        self.first_call_made: set[ModelKey] = set()
        self._current: LoadedModel | None = None
        self._failures: dict[ModelKey, AsrBenchError] = {}
        self._shown: set[ModelKey] = set()
        self._poisoned: set[ModelKey] = set()
        self._collect = False
        self._memory: dict[ModelKey, MemoryWatch] = {}

    def get(self, spec: ModelSpec, device: Device) -> LoadedModel:
        """The loaded engine for (spec, device); loads it on first use, re-raises a cached failure."""
        key = ModelKey(spec.label, str(device))
        if self._current is not None and self._current.key == key:
            return self._current
        if key in self._failures:
            raise self._cached_failure(key)
        self.release()
        cls = engine_class(spec.engine)
        runtime = get_runtime(cls.runtime)
        if self._collect:  # a poisoned model's last references went with its test: free it now
            self._collect = False
            _free(runtime, device)
        watch = MemoryWatch(device, cls.runtime)
        watch.start()  # the baseline is taken before loading (and torch's peak window reset)
        thread_info = threads.apply(self.threads, cls.runtime)
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
            _free(runtime, device)
            raise self._cached_failure(key)
        seconds = time.perf_counter() - started
        self._memory[key] = watch
        info: dict[str, Any] = {"device_name": runtime.describe(device), **placement,
                                **thread_info}
        info["engine_info"] = dict(engine.info())  # nested: it can never overwrite a measured figure
        load = LoadInfo(spec.label, str(device), seconds, info, _model_identity(spec, device, engine))
        self.loads[key] = load
        # loaded again (tests of two models interleaved): its first call is cold again
        self.first_call_made.discard(key)
        self.first_calls.pop(key, None)
        self._current = LoadedModel(spec, device, engine, load)
        return self._current

    def _cached_failure(self, key: ModelKey) -> AsrBenchError:
        """The load failure in full the first time; later tests point to it (skips repeat it)."""
        error = self._failures[key]
        if key not in self._shown or not isinstance(error, EngineError) or key in self._poisoned:
            self._shown.add(key)
            return error
        return EngineError(f"{key}: not run, the model failed earlier (reason shown once, above)")

    def poison(self, model: LoadedModel, error: BaseException) -> None:
        """Give up on ``model`` after a hang or out-of-memory: free it, fail its remaining tests."""
        key = model.key
        self._failures[key] = EngineError(
            f"{key}: not run after an earlier failure ({one_line(error)})")
        self._poisoned.add(key)
        self._collect = True
        if self._current is model:
            self.release()

    def is_poisoned(self, key: ModelKey) -> bool:
        """Whether the model failed to load or was given up on."""
        return key in self._failures

    def claim_first_call(self, model: LoadedModel) -> bool:
        """True once per load: the caller makes the model's first call now (even if it fails)."""
        if model.key in self.first_call_made:
            return False
        self.first_call_made.add(model.key)
        return True

    def release(self, *, collect: bool = True) -> None:
        """Drop the loaded model so the next one has the device to itself.

        ``collect=False`` (the end of the run) skips the full garbage collection: no model comes
        next, and pytest collects once more at exit anyway (a full pass over a loaded process's
        heap is some 40 ms, paid by every run).
        """
        if self._current is None:
            return
        current, self._current = self._current, None
        watch = self._memory.get(current.key)
        if watch is not None:
            watch.stop()
        device, runtime = current.device, current.runtime
        current._drop_engine()
        del current
        _free(runtime, device, collect=collect)

    def note_memory(self, model: LoadedModel) -> None:
        """Take a memory reading after a transcription (see :mod:`asrbench.hardware.memory`)."""
        watch = self._memory.get(model.key)
        if watch is not None:
            watch.sample()

    def memory_info(self, key: ModelKey) -> dict[str, Any]:
        watch = self._memory.get(key)
        return watch.figures() if watch is not None else {}


def _free(runtime: Runtime, device: Device, *, collect: bool = True) -> None:
    if collect:
        gc.collect()
    runtime.empty_cache(device)


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
