"""Throughput mode: a whole dataset transcribed in batches, beside the one-at-a-time figures.

The dataset is cut into batches of ``batch_size`` clips in manifest order; each batch is decoded
(outside the clock), then transcribed by ``engine.transcribe_batch`` ``rounds`` times. A pass is the
sum of one round over every batch; the batched RTFx is the dataset's audio seconds over the median
pass. The first batch is first run once, not counted, when warm-up is on (the batched path's own first
call: the engine may build its batched pipeline then). Only one batch of audio is held at a time.

Every batched call (the warm-up batch included) is timed by the protocol's :class:`Timer` and runs
under the guard, as one-at-a-time calls do: ``--asr-timeout``, out-of-memory (the model is released
and its remaining tests fail) and one-line failures naming the model, dataset and batch.

The one-at-a-time RTFx beside it is the corpus figure of the per-utterance tests (Σ audio over
Σ median latency), so the two numbers time the same model on the same clips; the runner's
``run_throughput`` computes it first, then calls :func:`measure_throughput`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

from asrbench.bench import guard
from asrbench.bench.results import ThroughputResult
from asrbench.core.errors import EngineError
from asrbench.scoring.metrics import Counts, get_normaliser, score, total

if TYPE_CHECKING:
    import pytest

    from asrbench.bench.models import LoadedModel
    from asrbench.bench.session import BenchSession
    from asrbench.data.datasets import Dataset

__all__ = ["FIXTURE", "deselect_when_off", "format_throughput", "measure_throughput"]

#: The fixture that makes a test a throughput test.
FIXTURE = "asr_throughput"


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
    poison = partial(session.models.poison, model)
    for number, batch in enumerate(batches):
        clips = [dataset.load(item) for item in batch]
        audio = [clip.audio for clip in clips]
        what = (f"{model.label} on {model.device}, {dataset.name}, batch {number + 1} of "
                f"{len(batches)} ({len(clips)} clips)")
        timer = model.timer(wrap=guard.with_timeout(settings.timeout, what=what))
        if number == 0 and settings.warmup > 0:  # the batched path's first call: not a pass
            guard.guarded(partial(timer.call_batch, audio), what=what, poison=poison)
        texts: Sequence[str] = ()
        for r in range(rounds):
            texts, seconds = guard.guarded(partial(timer.call_batch, audio), what=what,
                                           poison=poison)
            passes[r] += seconds
        if len(texts) != len(clips):
            raise EngineError(f"{what}: transcribe_batch returned {len(texts)} texts for "
                              f"{len(clips)} clips")
        for clip, text in zip(clips, texts, strict=True):
            counts.append(score(clip.text, text, normaliser).words)
            audio_seconds += clip.duration
    session.models.note_memory(model)
    return ThroughputResult(
        model=model.label, device=str(model.device), dataset=dataset.name,
        batch_size=batch_size, batches=len(batches), utterances=len(items),
        audio_seconds=audio_seconds, passes=tuple(passes), warmup=settings.warmup > 0,
        words=total(counts), sequential_rtfx=sequential_rtfx,
    )


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
