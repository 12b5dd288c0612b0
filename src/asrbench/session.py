"""One object per pytest run: settings, the model cache, decoded audio, collected results.

Models are cached by (model spec, device). Collection orders tests so each model's tests run
together; the cache keeps the most recent model loaded and frees the previous one, so every model
is loaded once per session and only one occupies the device at a time. Load failures are cached too:
a model that cannot load is tried once, and every test that needs it reports the same reason.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from asrbench import devices
from asrbench.datasets import Dataset, Utterance, UtteranceSpec
from asrbench.devices import Device
from asrbench.engines.base import Engine, ModelSpec, engine_class
from asrbench.errors import AsrBenchError, EngineError
from asrbench.metrics import get_normaliser
from asrbench.options import Settings
from asrbench.results import LoadInfo, RunSummary, UtteranceResult, summarise

__all__ = ["BenchSession", "LoadedModel"]


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

    def transcribe(self, audio: Any) -> str:
        return self.engine.transcribe(audio)


@dataclass
class BenchSession:
    """Mutable state of one run. Engines never see it; the plugin's fixtures go through it."""

    settings: Settings
    results: dict[tuple[str, str, str, str], UtteranceResult] = field(default_factory=dict)
    loads: dict[tuple[str, str], LoadInfo] = field(default_factory=dict)
    skipped: dict[tuple[str, str], str] = field(default_factory=dict)
    _current: LoadedModel | None = None
    _failures: dict[tuple[str, str], AsrBenchError] = field(default_factory=dict)
    _audio: dict[tuple[str, str], Utterance] = field(default_factory=dict)
    _memory: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)

    @property
    def normaliser(self) -> str:
        return get_normaliser(self.settings.normaliser).label

    def model(self, spec: ModelSpec, device: Device) -> LoadedModel:
        """The loaded engine for (spec, device); loads it on first use, re-raises a cached failure."""
        key = (str(spec), str(device))
        if self._current is not None and (str(self._current.spec), str(self._current.device)) == key:
            return self._current
        if key in self._failures:
            raise self._failures[key]
        self.release()
        cls = engine_class(spec.engine)
        devices.reset_peak_memory(device)
        started = time.perf_counter()
        try:
            engine = cls.load(spec, device)
        except AsrBenchError as exc:
            self._failures[key] = exc
            raise
        except Exception as exc:  # an engine bug: report it as an engine failure, once
            error = EngineError(f"{spec.label} on {device}: load failed ({type(exc).__name__}: {exc})")
            self._failures[key] = error
            raise error from exc
        seconds = time.perf_counter() - started
        info = {"device_name": devices.describe(device), **engine.info()}
        if device.kind == "cpu":
            info["threads"] = devices.thread_info()
        load = LoadInfo(spec.label, str(device), seconds, info)
        self.loads[(spec.label, str(device))] = load
        self._current = LoadedModel(spec, device, engine, load)
        return self._current

    def release(self) -> None:
        """Drop the loaded model so the next one has the device to itself."""
        if self._current is None:
            return
        device = self._current.device
        self._current = None
        gc.collect()
        devices.empty_cache(device)

    def utterance(self, dataset: Dataset, item: UtteranceSpec) -> Utterance:
        """Decoded audio, cached: every model and device reads the same samples."""
        key = (dataset.name, item.id)
        if key not in self._audio:
            self._audio[key] = dataset.load(item)
        return self._audio[key]

    def record(self, result: UtteranceResult) -> None:
        self.results[(result.model, result.device, result.dataset, result.id)] = result

    def note_memory(self, model: LoadedModel) -> None:
        """Remember the device memory figure after a transcription (CUDA peak, MPS pool)."""
        amount, kind = devices.peak_memory(model.device)
        if amount is not None:
            key = (model.label, str(model.device))
            previous = self._memory.get(key, (0, kind))[0]
            self._memory[key] = (max(previous, amount), kind)

    def memory_info(self, model: str, device: str) -> dict[str, Any]:
        if (model, device) not in self._memory:
            return {}
        amount, kind = self._memory[(model, device)]
        return {"memory_bytes": amount, "memory_kind": kind}

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
                                 info=self.memory_info(model, device)))
        return out
