"""One object per pytest run: the settings, the datasets, and the three things a run keeps.

- :class:`~asrbench.bench.models.ModelCache` (``models``): each model loaded once per
  (engine, model, device), one at a time; failed and poisoned models; loads, first calls, memory.
- :class:`~asrbench.bench.audio_cache.AudioCache` (``audio``): the last few decoded clips.
- :class:`~asrbench.bench.store.ResultStore` (``store``): results, failures, throughput, skips.

:class:`BenchSession` owns the three and combines them into run summaries; the plugin's fixtures
go through it, engines never see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asrbench.bench.audio_cache import AudioCache
from asrbench.bench.costs import EnergyCosts
from asrbench.bench.figures import CPU_TIME_SCOPE
from asrbench.bench.models import LoadedModel, ModelCache
from asrbench.bench.protocol import Protocol
from asrbench.bench.results import ModelKey, RunKey, RunSummary, summarise
from asrbench.bench.store import ResultStore
from asrbench.config.options import Settings
from asrbench.core import identity
from asrbench.data.datasets import Dataset, Utterance, UtteranceSpec
from asrbench.data.formats import LoadedDatasets
from asrbench.engines.spec import ModelSpec
from asrbench.hardware.cputime import CpuClock
from asrbench.hardware.devices import Device
from asrbench.scoring.metrics import get_normaliser

__all__ = ["BenchSession"]


@dataclass
class BenchSession:
    """Mutable state of one run: settings, datasets, model cache, audio cache, result store."""

    settings: Settings
    #: The run's datasets (its shard of each), with each whole dataset's digest and ids.
    datasets: LoadedDatasets = field(default_factory=LoadedDatasets)
    models: ModelCache = field(init=False)
    audio: AudioCache = field(default_factory=AudioCache)
    store: ResultStore = field(default_factory=ResultStore)
    costs: EnergyCosts = field(default_factory=EnergyCosts)

    def __post_init__(self) -> None:
        self.models = ModelCache(threads=self.settings.threads)

    @property
    def normaliser(self) -> str:
        return get_normaliser(self.settings.normaliser).label

    @property
    def protocol(self) -> Protocol:
        settings = self.settings
        return Protocol(rounds=settings.rounds, warmup=settings.warmup, fast=settings.fast)

    def model(self, spec: ModelSpec, device: Device) -> LoadedModel:
        """The loaded engine for (spec, device) (see :class:`ModelCache`)."""
        return self.models.get(spec, device)

    def release(self, *, end_of_run: bool = False) -> None:
        """Drop the loaded model (at the end of the run: its memory figures are then final, and
        no garbage collection follows, see :meth:`ModelCache.release`)."""
        self.models.release(collect=not end_of_run)

    def utterance(self, dataset: Dataset, item: UtteranceSpec) -> Utterance:
        """Decoded audio, from the bounded audio cache."""
        return self.audio.get(dataset, item)

    def run_info(self, key: ModelKey) -> dict[str, Any]:
        """Per-run facts besides the load's: memory, protocol, first-call latency."""
        info = {**self.models.memory_info(key), **self.protocol.as_dict(),
                **self.costs.facts(key), "cpu_time_method": f"{CpuClock.method}; {CPU_TIME_SCOPE}"}
        if key in self.models.first_calls:
            info["first_call_latency"] = self.models.first_calls[key]
        return info

    def run_identity(self, dataset: str) -> dict[str, Any]:
        """The dataset, normaliser and machine parts of a run's identity (the model part is loaded)."""
        return {"dataset": dataset, "dataset_hash": self.datasets.digests.get(dataset),
                "normaliser": self.normaliser, "machine": identity.machine_fingerprint()["id"]}

    def summarise(self, key: RunKey) -> RunSummary:
        """The run's figures from its recorded results."""
        return summarise(self.store.rows(key), normaliser=self.normaliser,
                         load=self.models.loads.get(key.model_key),
                         info=self.run_info(key.model_key),
                         identity=self.run_identity(key.dataset))

    def summaries(self) -> list[RunSummary]:
        """One summary per model × device × dataset that has results."""
        return [self.summarise(key) for key in self.store.run_keys()]
