"""The measurement protocol: the one place where the clock runs, and what each timing means.

For every model on every device:

1. **Load** — timed apart (``load_seconds``); never part of a latency or RTF.
2. **First call** — the first transcription after loading, timed once per model × device and
   reported as ``first_call_latency``. It includes whatever the engine does only once (kernel
   compilation, allocator growth, caches); it never enters latency statistics. It is made on the
   first utterance's audio and, when ``warmup`` is at least 1, it is that utterance's first
   warm-up call: every utterance gets exactly ``warmup`` calls before its measured rounds, and the
   model is called as often as a plain loop doing the same warm-up would call it (a profiler's
   extra call aside). So the first utterance's ``warmup_latencies[0]`` is ``first_call_latency``:
   never add the two. An engine whose one-time costs last beyond its first call (autotuning,
   recompiling per shape) needs ``warmup`` above 1 for its first utterance's rounds to be warm.
3. **Per-utterance warm-up** — ``warmup`` calls on the utterance's audio, timed but not measured
   (their seconds are kept as ``warmup_latencies``).
4. **Measured rounds** — ``rounds`` calls; only these enter latency statistics (median per
   utterance; p50/p90/p95/mean per run) and RTF. A profiler's call (``--benchmark-cprofile``) or any
   other extra call never does.

Fast mode (``--asr-fast``) measures each utterance once with no per-utterance warm-up; the model's
first call is still made, as a call of its own, and reported apart.

The timed region is ``engine.transcribe`` (``engine.transcribe_batch`` in throughput mode) plus a
device synchronise, so it starts at the engine's input (feature extraction included) and stops only
after queued kernels are done. Decoding files and resampling happen earlier, outside it. Every timed
call, one clip or a batch, goes through :class:`Timer`; the runner and throughput mode wrap each in
the guard (:mod:`asrbench.bench.guard`: ``--asr-timeout``, out-of-memory, one-line failures).

Inside the same timed region each call also records (:class:`Call`): the host CPU seconds it cost
(:class:`asrbench.hardware.cputime.CpuClock`: user + system, all threads but asrbench's own; on a
GPU, the host side including the wait inside synchronise), the seconds to the engine's first text
(:mod:`asrbench.engines.first_text`, same clock, same origin) and, where a real energy counter is
readable, the joules it counted (read just outside the clock, so reading it costs the clock nothing).

pytest-benchmark, when enabled, drives the measured rounds (so its statistics, ``--benchmark-save``
and ``--benchmark-compare`` see the same calls), with its group set before it starts timing. Under
``--benchmark-disable`` the protocol runs the same warm-up and measured rounds itself.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from asrbench.bench.guard import Wrap
from asrbench.engines import first_text
from asrbench.engines.first_text import FirstText
from asrbench.hardware.cputime import CpuClock
from asrbench.hardware.devices import Device
from asrbench.hardware.energy import EnergyMeter
from asrbench.hardware.runtimes import get_runtime

__all__ = ["CLOCK", "Call", "Clock", "Measurement", "Protocol", "Timer", "benchmark_group", "measure"]

#: A monotonic clock in seconds; tests pass a fake one.
Clock = Callable[[], float]
#: The clock every :class:`Timer` uses unless given another.
CLOCK: Clock = time.perf_counter


@dataclass(frozen=True)
class Protocol:
    """How many calls an utterance gets, and the label that says so."""

    rounds: int = 3
    warmup: int = 1
    fast: bool = False

    @property
    def measured_rounds(self) -> int:
        return 1 if self.fast else self.rounds

    @property
    def warmup_rounds(self) -> int:
        return 0 if self.fast else self.warmup

    def describe(self) -> str:
        """One line for the summary and the report: exactly what was measured."""
        if self.fast:
            return ("fast: 1 measured call per utterance, no per-utterance warm-up; "
                    "the model's first call after loading reported apart")
        measured = ("1 measured call" if self.measured_rounds == 1
                    else f"median of {self.measured_rounds} measured calls")
        warm = "call" if self.warmup_rounds == 1 else "calls"
        first = ("the model's first call after loading reported apart" if self.warmup_rounds == 0
                 else "the first utterance's first warm-up is the model's first call after "
                 "loading, reported apart")
        return f"{measured} per utterance after {self.warmup_rounds} warm-up {warm}; {first}"

    def as_dict(self) -> dict[str, Any]:
        return {"protocol": self.describe(), "measured_rounds": self.measured_rounds,
                "warmup_rounds": self.warmup_rounds, "fast": self.fast}


@dataclass(frozen=True)
class Call:
    """One timed call: its result, seconds, host CPU seconds, first text and joules per counter."""

    value: Any
    seconds: float
    cpu_seconds: float
    first_text: FirstText
    energy: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Measurement:
    """One utterance measured: the text, the warm-up seconds, the measured calls."""

    text: str
    warmups: tuple[float, ...]
    latencies: tuple[float, ...]
    calls: tuple[Call, ...] = ()

    @property
    def cpu_seconds(self) -> float | None:
        """The median measured call's host CPU seconds."""
        return statistics.median(c.cpu_seconds for c in self.calls) if self.calls else None

    @property
    def first_text(self) -> FirstText:
        """The median measured call's first text, or the reason there is none."""
        seconds = [c.first_text.seconds for c in self.calls if c.first_text.seconds is not None]
        if seconds and len(seconds) == len(self.calls):
            return FirstText(statistics.median(seconds))
        reasons = [c.first_text.reason for c in self.calls if c.first_text.reason]
        return FirstText(None, reasons[0] if reasons else "not measured")

    @property
    def energy(self) -> dict[str, float | None]:
        """Per counter, the median measured call's joules (None when any call had none)."""
        out: dict[str, float | None] = {}
        for prefix in dict.fromkeys(p for c in self.calls for p in c.energy):
            values = [c.energy.get(prefix) for c in self.calls]
            present = [v for v in values if v is not None]
            out[prefix] = statistics.median(present) if len(present) == len(values) else None
        return out


class Timer:
    """Timed calls of one engine on one device: ``transcribe`` then synchronise, clock around both.

    ``synchronise`` defaults to the torch runtime's ``synchronize``, except for engines whose
    ``runtime`` is not torch (CTranslate2 returns only once its results are on the host, and
    synchronising through torch would start a CUDA context it does not use).
    """

    def __init__(self, engine: Any, device: Device, *, clock: Clock | None = None,
                 synchronise: Callable[[], None] | None = None, wrap: Wrap | None = None,
                 cpu_clock: CpuClock | None = None,
                 meters: Sequence[tuple[str, EnergyMeter]] = ()) -> None:
        self.engine = engine
        self.device = device
        self.wrap = wrap
        self.clock = clock if clock is not None else CLOCK
        self.cpu_clock = cpu_clock if cpu_clock is not None else CpuClock()
        #: Readable energy counters, by report prefix: read just before and after each call.
        self.meters = tuple(meters)
        self.incremental = bool(getattr(engine, "incremental", False))
        if synchronise is None:
            runtime = getattr(engine, "runtime", None)
            synchronise = self._device_synchronise if runtime in (None, "torch") else _nothing
        self.synchronise: Callable[[], None] = synchronise

    def _device_synchronise(self) -> None:
        get_runtime("torch").synchronize(self.device)

    def call(self, audio: Any) -> tuple[str, float]:
        """One timed call: text and seconds. ``wrap`` (the ``--asr-timeout`` guard) runs the whole
        timed region, clock included, so a worker thread does not change the figure."""
        call = self.measured_call(audio)
        return call.value, call.seconds

    def measured_call(self, audio: Any) -> Call:
        """One timed call with everything measured inside it (see :class:`Call`)."""
        return self._clocked(lambda: self.engine.transcribe(audio))

    def call_batch(self, audio: Sequence[Any]) -> tuple[Sequence[str], float]:
        """One timed batched call (``transcribe_batch``): the texts and seconds, as :meth:`call`."""
        call = self._clocked(lambda: self.engine.transcribe_batch(audio))
        return call.value, call.seconds

    def _clocked(self, work: Callable[[], Any]) -> Call:
        def timed() -> Call:
            # runs in the guard's worker thread: the first-text recorder is opened here
            for _, meter in self.meters:
                meter.start()
            with first_text.recording(self.clock) as recorder:
                started = recorder.started
                token = self.cpu_clock.start()
                value = work()
                self.synchronise()
                cpu = self.cpu_clock.stop(token)
                seconds = self.clock() - started
            energy = {prefix: meter.stop().joules for prefix, meter in self.meters}
            return Call(value, seconds, cpu.cpu_seconds,
                        recorder.result(incremental=self.incremental), energy)

        result: Call = timed() if self.wrap is None else self.wrap(timed)
        return result


def _nothing() -> None:
    return None


def benchmark_group(model: str, device: str, dataset: str) -> str:
    """pytest-benchmark's group for one run: ``model-device-dataset``."""
    return f"{model}-{device}-{dataset}"


def measure(timer: Timer, audio: Any, protocol: Protocol, *, benchmark: Any = None,
            group: str | None = None, warmed: tuple[float, ...] = ()) -> Measurement:
    """Warm-up calls, then the measured rounds (through ``benchmark.pedantic`` when enabled).

    ``warmed`` are the seconds of warm-up calls already made on this audio (the model's first
    call): only the rest of the protocol's warm-up is made here.

    ``group`` is set on the benchmark before any timing, so pytest-benchmark files the statistics
    under it. Calls made by pytest-benchmark beyond the measured rounds (``--benchmark-cprofile``
    runs the target once more under the profiler) are not recorded.
    """
    if len(warmed) > protocol.warmup_rounds:  # a caller's bug, not the engine's
        raise RuntimeError(f"{len(warmed)} warm-up calls made, the protocol allows "
                         f"{protocol.warmup_rounds}")
    warmups = warmed + tuple(timer.call(audio)[1]
                             for _ in range(protocol.warmup_rounds - len(warmed)))
    rounds = protocol.measured_rounds
    texts: list[str] = []
    measured: list[float] = []
    calls: list[Call] = []
    if benchmark is not None and group is not None:
        benchmark.group = group

    def own_rounds() -> str:
        for _ in range(rounds):
            call = timer.measured_call(audio)
            texts.append(call.value)
            measured.append(call.seconds)
            calls.append(call)
        return texts[0]

    if benchmark is None:
        own_rounds()
    elif getattr(benchmark, "disabled", False):
        # --benchmark-disable: pytest-benchmark calls its target once, untimed; that one call
        # runs the protocol's own rounds, so the figures mean the same as with it enabled
        benchmark.pedantic(own_rounds, rounds=1, warmup_rounds=0, iterations=1)
    else:
        def target() -> str:
            call = timer.measured_call(audio)
            if len(measured) < rounds:  # a profiler's extra call is not a measured round
                texts.append(call.value)
                measured.append(call.seconds)
                calls.append(call)
            return str(call.value)

        benchmark.pedantic(target, rounds=rounds, warmup_rounds=0, iterations=1)
    if len(measured) != rounds:
        raise RuntimeError(f"measured {len(measured)} calls, expected {rounds}")
    return Measurement(texts[0], warmups, tuple(measured), tuple(calls))
