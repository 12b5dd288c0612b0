"""Throughput mode: a whole dataset transcribed in batches, beside the one-at-a-time figures.

The dataset is cut into batches of ``batch_size`` clips in manifest order; each batch is decoded
(outside the clock), then transcribed by ``engine.transcribe_batch`` ``rounds`` times. A pass is the
sum of one round over every batch; the batched RTFx is the dataset's audio seconds over the median
pass. The first batch is first run once untimed when warm-up is on (the batched path's own first
call: the engine may build its batched pipeline then). Only one batch of audio is held at a time.

The one-at-a-time RTFx beside it is the corpus figure of the per-utterance tests (Σ audio over
Σ median latency), so the two numbers time the same model on the same clips.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from asrbench.scoring.metrics import Counts, get_normaliser, score, total

if TYPE_CHECKING:
    import pytest

    from asrbench.bench.session import BenchSession, LoadedModel
    from asrbench.data.datasets import Dataset

__all__ = ["FIXTURE", "ThroughputResult", "deselect_when_off", "format_throughput",
           "measure_throughput", "run_throughput", "timed"]

#: The fixture that makes a test a throughput test.
FIXTURE = "asr_throughput"

def timed[T](call: Callable[[], T], model: LoadedModel) -> tuple[T, float]:
    """``call()`` and its seconds, the model's runtime synchronised before the clock stops."""
    started = time.perf_counter()
    value = call()
    model.runtime.synchronize(model.device)
    return value, time.perf_counter() - started


@dataclass(frozen=True)
class ThroughputResult:
    """A dataset transcribed in batches by one model on one device."""

    model: str
    device: str
    dataset: str
    batch_size: int
    batches: int
    utterances: int
    audio_seconds: float
    passes: tuple[float, ...]
    warmup: bool
    words: Counts
    sequential_rtfx: float

    @property
    def seconds(self) -> float:
        """The median pass: seconds to transcribe the whole dataset in batches."""
        return statistics.median(self.passes)

    @property
    def rtfx(self) -> float:
        return self.audio_seconds / self.seconds if self.seconds > 0 else math.inf

    @property
    def speedup(self) -> float:
        """Batched RTFx over one-at-a-time RTFx (above 1: batching is faster)."""
        if self.sequential_rtfx <= 0 or not math.isfinite(self.sequential_rtfx):
            return math.nan
        return self.rtfx / self.sequential_rtfx

    @property
    def wer(self) -> float:
        return self.words.rate

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "model": self.model,
            "device": self.device,
            "dataset": self.dataset,
            "batch_size": self.batch_size,
            "batches": self.batches,
            "utterances": self.utterances,
            "audio_seconds": self.audio_seconds,
            "seconds": self.seconds,
            "passes": list(self.passes),
            "warmup_batch": self.warmup,
            "rtfx": self.rtfx,
            "sequential_rtfx": self.sequential_rtfx,
            "speedup": self.speedup,
            "wer": self.wer,
            "word_errors": self.words.as_dict(),
        }
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in data.items()}


def measure_throughput(session: BenchSession, model: LoadedModel, dataset: Dataset,
                       batch_size: int, sequential_rtfx: float) -> ThroughputResult:
    """Transcribe ``dataset`` in batches of ``batch_size`` (see the module docstring)."""
    settings = session.settings
    normaliser = get_normaliser(settings.normaliser)
    rounds = max(settings.rounds, 1)
    passes = [0.0] * rounds
    counts: list[Counts] = []
    audio_seconds = 0.0
    items = dataset.items
    batches = [items[i:i + batch_size] for i in range(0, len(items), batch_size)]
    for number, batch in enumerate(batches):
        clips = [dataset.load(item) for item in batch]
        audio = [clip.audio for clip in clips]
        if number == 0 and settings.warmup > 0:
            model.engine.transcribe_batch(audio)
        texts: Sequence[str] = ()
        for r in range(rounds):
            texts, seconds = timed(partial(model.engine.transcribe_batch, audio), model)
            passes[r] += seconds
        if len(texts) != len(clips):
            raise ValueError(f"{model.label}: transcribe_batch returned {len(texts)} texts "
                             f"for {len(clips)} clips")
        for clip, text in zip(clips, texts, strict=True):
            counts.append(score(clip.text, text, normaliser).words)
            audio_seconds += clip.duration
    session.note_memory(model)
    return ThroughputResult(
        model=model.label, device=str(model.device), dataset=dataset.name,
        batch_size=batch_size, batches=len(batches), utterances=len(items),
        audio_seconds=audio_seconds, passes=tuple(passes), warmup=settings.warmup > 0,
        words=total(counts), sequential_rtfx=sequential_rtfx,
    )


def run_throughput(session: BenchSession, model: LoadedModel, dataset: Dataset) -> ThroughputResult:
    """The throughput test's work: one-at-a-time corpus figures, then batches; recorded."""
    from asrbench.bench import runner  # runner imports the session, which imports this module

    sequential = runner.corpus_summary(session, model, dataset)
    size = session.settings.batch_size or len(dataset.items)
    result = measure_throughput(session, model, dataset, size, sequential.rtfx)
    session.throughput[(result.model, result.device, result.dataset)] = result
    return result


def format_throughput(results: Sequence[ThroughputResult]) -> list[str]:
    """Terminal lines: batched RTFx beside one-at-a-time RTFx, per model × device × dataset."""
    if not results:
        return []
    lines = ["throughput (batched; median of passes over the dataset):"]
    for r in results:
        gain = "-" if math.isnan(r.speedup) else f"x{r.speedup:.2f}"
        lines.append(f"  {r.model} / {r.device} / {r.dataset}: batch {r.batch_size}, RTFx "
                     f"{r.rtfx:.1f} vs {r.sequential_rtfx:.1f} one at a time ({gain}), "
                     f"WER {100 * r.wer:.1f}%")
    return lines


def deselect_when_off(config: pytest.Config, items: list[pytest.Item],
                      batch_size: int | None) -> None:
    """Throughput mode is opt-in: without a batch size, tests using the fixture are deselected."""
    if batch_size is not None:
        return
    off = [item for item in items if FIXTURE in getattr(item, "fixturenames", ())]
    if off:
        config.hook.pytest_deselected(items=off)
        items[:] = [item for item in items if FIXTURE not in getattr(item, "fixturenames", ())]
