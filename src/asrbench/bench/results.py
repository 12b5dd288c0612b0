"""Result records: one per transcription, the per model × device × dataset summary, the batched run.

Frozen dataclasses with ``as_dict`` for the JSON report; pytest-benchmark's ``extra_info`` is
:meth:`UtteranceResult.extra_info`, derived from it. Everything a run measures is keyed by one typed
key: :class:`RunKey` (model, device, dataset), and :class:`ModelKey` (model, device) for what
belongs to a loaded model (its load, first call, memory).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from asrbench.bench import figures as figure_table
from asrbench.bench.keys import ModelKey, RunKey
from asrbench.bench.stream_figures import stream_facts
from asrbench.bench.stream_record import StreamRecord
from asrbench.core.figures import Figure
from asrbench.scoring.metrics import (
    Counts,
    Rates,
    Score,
    bootstrap_wer_interval,
    percentile,
    rtf,
    rtfx,
    total,
)

__all__ = ["FailedUtterance", "LoadInfo", "ModelKey", "RunKey", "RunSummary", "ThroughputResult",
           "UtteranceResult", "summarise"]

#: Figures asrbench measures itself: never taken from, or overwritten by, an engine's ``info()``.
CORE_FIELDS = frozenset({
    "model", "device", "dataset", "utterances", "audio_seconds", "wer", "wer_ci95", "cer",
    "word_errors", "char_errors", "rtf", "rtfx", "latency_p50", "latency_p90", "latency_p95",
    "latency_mean", "load_seconds", "normaliser", "identity", "engine_info", "extra",
})


@dataclass(frozen=True)
class LoadInfo:
    """How a model was loaded: seconds (never part of RTF) and the engine's own facts."""

    model: str
    device: str
    seconds: float
    #: asrbench's facts (device name, threads) and the engine's own under ``engine_info``.
    info: dict[str, Any] = field(default_factory=dict)
    #: What was loaded: engine, model, resolved weights and their hash, options, device.
    identity: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FailedUtterance:
    """An utterance that produced no result: bad audio, an engine error, a timeout, no memory."""

    id: str
    model: str
    device: str
    dataset: str
    error_type: str
    message: str
    audio: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "model": self.model, "device": self.device,
                "dataset": self.dataset, "error_type": self.error_type,
                "message": self.message, "audio": self.audio}

    @property
    def run_key(self) -> RunKey:
        return RunKey(self.model, self.device, self.dataset)


@dataclass(frozen=True)
class UtteranceResult(Rates):
    """One utterance transcribed by one model on one device.

    ``latencies`` holds the measured calls only, ``warmup_latencies`` the per-utterance warm-up
    calls before them (never in statistics); ``latency`` is the median of the measured calls. The
    model's first call after loading is a per-run figure (``first_call_latency``); with warm-up on
    it is also the first utterance's first warm-up call, so it appears in that utterance's
    ``warmup_latencies`` too (never add the two).
    """

    id: str
    model: str
    device: str
    dataset: str
    reference: str
    hypothesis: str
    score: Score
    audio_seconds: float
    latencies: tuple[float, ...]
    warmup_latencies: tuple[float, ...] = ()
    #: Host CPU seconds of the measured calls (their median); None when not measured.
    cpu_seconds: float | None = None
    #: Seconds to the engine's first text (median over the measured calls), or None and the reason.
    first_text_latency: float | None = None
    first_text_latency_reason: str | None = None
    #: Joules per measured call (their median) by counter prefix (see ``figures.ENERGY_PARTS``);
    #: None where the counter could not be read (the run's ``<prefix>energy_reason`` says why).
    energy: dict[str, float | None] = field(default_factory=dict, compare=False)
    #: False when the run measured no offline transcription of it: hypothesis and latency are then
    #: the stream's final text and total compute seconds. ``stream``: the utterance streamed.
    offline: bool = True
    stream: StreamRecord | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.latencies:
            raise ValueError(f"{self.id}: no measured calls recorded")

    @property
    def run_key(self) -> RunKey:
        return RunKey(self.model, self.device, self.dataset)

    @property
    def latency(self) -> float:
        return statistics.median(self.latencies)

    @property
    def rtf(self) -> float:
        return rtf(self.latency, self.audio_seconds)

    @property
    def words(self) -> Counts:  # type: ignore[override]
        return self.score.words

    @property
    def chars(self) -> Counts:  # type: ignore[override]
        return self.score.chars

    @property
    def alignment(self) -> str:
        """The normalised reference and hypothesis aligned, with S, D and I marked."""
        from asrbench.scoring.alignment import alignment

        return alignment(self.score.reference, self.score.hypothesis)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "device": self.device,
            "dataset": self.dataset,
            "reference": self.reference,
            "hypothesis": self.hypothesis,
            "normalised_reference": self.score.reference,
            "normalised_hypothesis": self.score.hypothesis,
            "wer": self.wer,
            "cer": self.cer,
            "word_errors": self.score.words.as_dict(),
            "char_errors": self.score.chars.as_dict(),
            "latency": self.latency,
            "latencies": list(self.latencies),
            "warmup_latencies": list(self.warmup_latencies),
            "rtf": self.rtf,
            "audio_seconds": self.audio_seconds,
            "cpu_seconds": self.cpu_seconds,
            "first_text_latency": self.first_text_latency,
            **({"first_text_latency_reason": self.first_text_latency_reason}
               if self.first_text_latency_reason else {}),
            **{f"{prefix}energy_joules": self.energy.get(prefix)
               for prefix in figure_table.ENERGY_PARTS if prefix in self.energy},
            **({} if self.offline else {"offline": False}),
            **({"stream": self.stream.as_dict()} if self.stream is not None else {}),
        }

    def extra_info(self) -> dict[str, Any]:
        """:meth:`as_dict` for pytest-benchmark's ``extra_info``: scalars and word errors, with
        ``utterance`` for ``id``; the normalised texts and the latency lists are left out."""
        info = {k: v for k, v in self.as_dict().items() if k not in _NOT_EXTRA}
        info["utterance"] = info.pop("id")
        return info

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UtteranceResult:
        """Read back a report's utterance record (the inverse of :meth:`as_dict`)."""
        chars = data.get("char_errors") or {}
        return cls(
            id=str(data["id"]), model=str(data["model"]), device=str(data["device"]),
            dataset=str(data["dataset"]), reference=str(data["reference"]),
            hypothesis=str(data["hypothesis"]),
            score=Score(str(data.get("normalised_reference", "")),
                        str(data.get("normalised_hypothesis", "")),
                        _counts(data["word_errors"]), _counts(chars)),
            audio_seconds=float(data["audio_seconds"]),
            latencies=tuple(float(x) for x in data["latencies"]),
            warmup_latencies=tuple(float(x) for x in data.get("warmup_latencies", ())),
            cpu_seconds=_float(data.get("cpu_seconds")),
            first_text_latency=_float(data.get("first_text_latency")),
            first_text_latency_reason=data.get("first_text_latency_reason"),
            energy={prefix: _float(data[f"{prefix}energy_joules"])
                    for prefix in figure_table.ENERGY_PARTS if f"{prefix}energy_joules" in data},
            offline=bool(data.get("offline", True)),
            stream=StreamRecord.from_dict(data["stream"]) if data.get("stream") else None,
        )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


_NOT_EXTRA = ("normalised_reference", "normalised_hypothesis", "latencies", "warmup_latencies", "stream")


def _counts(data: dict[str, Any]) -> Counts:
    return Counts(int(data.get("substitutions", 0)), int(data.get("deletions", 0)),
                  int(data.get("insertions", 0)), int(data.get("reference_tokens", 0)))


@dataclass(frozen=True)
class RunSummary(Rates):
    """Corpus-level figures for one model × device × dataset."""

    model: str
    device: str
    dataset: str
    utterances: int
    audio_seconds: float
    words: Counts
    chars: Counts
    wer_ci: tuple[float, float]
    rtf: float
    rtfx: float
    latency_p50: float
    latency_p90: float
    latency_p95: float
    latency_mean: float
    load_seconds: float | None
    normaliser: str
    info: dict[str, Any] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)
    #: Each utterance's word counts, by id: what a baseline's paired significance test compares.
    utterance_words: dict[str, Counts] = field(default_factory=dict, repr=False, compare=False)
    #: Each utterance's latency (seconds), by id: what a baseline's timing test pairs.
    utterance_latencies: dict[str, float] = field(default_factory=dict, repr=False, compare=False)
    #: Every figure of the table (:mod:`asrbench.bench.figures`), measured or missing with the reason.
    figures: dict[str, Figure] = field(default_factory=dict)

    @property
    def engine_info(self) -> dict[str, Any]:
        """What the engine said about itself (precision, versions); never a core figure."""
        nested = self.info.get("engine_info")
        return nested if isinstance(nested, dict) else {}

    @property
    def key(self) -> RunKey:
        return RunKey(self.model, self.device, self.dataset)

    def as_dict(self) -> dict[str, Any]:
        names = {f.name for f in figure_table.figures()} | set(self.figures)
        facts = {k: v for k, v in self.info.items() if k not in CORE_FIELDS
                 and k not in names and k.removesuffix("_reason") not in names}
        measured: dict[str, Any] = {}
        for name, value in self.figures.items():
            measured.update(value.as_dict(name))
        return {
            **facts,
            "model": self.model,
            "device": self.device,
            "dataset": self.dataset,
            "utterances": self.utterances,
            "audio_seconds": self.audio_seconds,
            "wer": self.wer,
            "wer_ci95": list(self.wer_ci),
            "cer": self.cer,
            "word_errors": self.words.as_dict(),
            "char_errors": self.chars.as_dict(),
            "rtf": self.rtf,
            "rtfx": self.rtfx,
            "latency_p50": self.latency_p50,
            "latency_p90": self.latency_p90,
            "latency_p95": self.latency_p95,
            "latency_mean": self.latency_mean,
            "load_seconds": self.load_seconds,
            "normaliser": self.normaliser,
            "identity": self.identity,
            "engine_info": self.engine_info,
            **measured,
        }


def summarise(
    results: Sequence[UtteranceResult],
    *,
    normaliser: str,
    load: LoadInfo | None = None,
    info: dict[str, Any] | None = None,
    identity: dict[str, Any] | None = None,
) -> RunSummary:
    """Corpus WER from summed counts; RTF = Σ latency / Σ audio; RTFx its inverse.

    Latency percentiles and mean are over utterances, each utterance counted by its latency (the
    median of its measured calls); warm-up and first calls never enter them.
    """
    if not results:
        raise ValueError("summarise() needs at least one result")
    first = results[0]
    facts = {**(load.info if load else {}), **(info or {}), **stream_facts(results)}
    latencies = [r.latency for r in results]
    audio = [r.audio_seconds for r in results]
    words = [r.score.words for r in results]
    return RunSummary(
        model=first.model,
        device=first.device,
        dataset=first.dataset,
        utterances=len(results),
        audio_seconds=sum(audio),
        words=total(words),
        chars=total(r.score.chars for r in results),
        wer_ci=bootstrap_wer_interval(words),
        rtf=rtf(sum(latencies), sum(audio)),
        rtfx=rtfx(audio, latencies),
        latency_p50=percentile(latencies, 50),
        latency_p90=percentile(latencies, 90),
        latency_p95=percentile(latencies, 95),
        latency_mean=statistics.fmean(latencies),
        load_seconds=load.seconds if load else None,
        normaliser=normaliser,
        info=facts,
        identity={**(load.identity if load else {}), **(identity or {})},
        utterance_words={r.id: r.score.words for r in results},
        utterance_latencies={r.id: r.latency for r in results},
        figures=figure_table.compute_all(results, facts),
    )


@dataclass(frozen=True)
class ThroughputResult:
    """A dataset transcribed in batches by one model on one device (see
    :mod:`asrbench.bench.throughput`), beside its one-at-a-time RTFx."""

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
    def key(self) -> RunKey:
        return RunKey(self.model, self.device, self.dataset)

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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThroughputResult:
        """Read back a report's throughput record (the inverse of :meth:`as_dict`)."""
        sequential = data.get("sequential_rtfx")
        return cls(str(data["model"]), str(data["device"]), str(data["dataset"]),
                   int(data["batch_size"]), int(data["batches"]), int(data["utterances"]),
                   float(data["audio_seconds"]), tuple(float(p) for p in data["passes"]),
                   bool(data.get("warmup_batch")), _counts(data.get("word_errors") or {}),
                   float(sequential) if sequential is not None else math.nan)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "model": self.model, "device": self.device, "dataset": self.dataset,
            "batch_size": self.batch_size, "batches": self.batches, "utterances": self.utterances,
            "audio_seconds": self.audio_seconds, "seconds": self.seconds, "passes": list(self.passes),
            "warmup_batch": self.warmup,
            "rtfx": self.rtfx,
            "sequential_rtfx": self.sequential_rtfx,
            "speedup": self.speedup,
            "wer": self.wer,
            "word_errors": self.words.as_dict(),
        }
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in data.items()}
