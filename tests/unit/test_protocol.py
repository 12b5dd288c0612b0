"""The measurement protocol against a fake clock: which calls are measured, and what is timed."""

from __future__ import annotations

import time

import pytest

from asrbench.bench.protocol import Protocol, Timer, measure
from asrbench.hardware.devices import Device


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.reads: list[float] = []

    def __call__(self) -> float:
        self.reads.append(self.now)
        return self.now


class ScriptedEngine:
    """Each call "takes" the next scripted number of seconds on the fake clock."""

    runtime = "torch"

    def __init__(self, clock: FakeClock, seconds: list[float]) -> None:
        self.clock, self.seconds, self.calls = clock, list(seconds), 0

    def transcribe(self, audio: object) -> str:
        self.clock.now += self.seconds[self.calls]
        self.calls += 1
        return f"call {self.calls}"


def test_warmup_calls_are_timed_apart_and_only_measured_rounds_are_kept():
    clock = FakeClock()
    engine = ScriptedEngine(clock, [9.0, 8.0, 1.0, 2.0, 3.0])
    timer = Timer(engine, Device("cpu"), clock=clock, synchronise=lambda: None)
    result = measure(timer, None, Protocol(rounds=3, warmup=2))
    assert result.warmups == (9.0, 8.0)
    assert result.latencies == (1.0, 2.0, 3.0)
    assert result.text == "call 3"  # the first measured call's text
    assert engine.calls == 5


def test_synchronise_runs_inside_the_timed_region():
    clock = FakeClock()
    engine = ScriptedEngine(clock, [1.0])
    events: list[str] = []

    def synchronise() -> None:
        events.append(f"sync at {clock.now}")
        clock.now += 0.5  # queued kernels finishing

    timer = Timer(engine, Device("cuda"), clock=clock, synchronise=synchronise)
    _text, seconds = timer.call(None)
    assert seconds == 1.5  # the clock stopped after the synchronise
    assert events == ["sync at 101.0"]
    assert clock.reads == [100.0, 101.5]


def test_default_synchronise_goes_through_the_torch_runtime_for_torch_engines_only(monkeypatch):
    from asrbench.hardware.runtimes import TorchRuntime

    synced: list[str] = []
    monkeypatch.setattr(TorchRuntime, "synchronize", lambda self, d: synced.append(str(d)))
    clock = FakeClock()
    Timer(ScriptedEngine(clock, [1.0]), Device("cuda", 1), clock=clock).call(None)
    assert synced == ["cuda:1"]
    ct2 = ScriptedEngine(clock, [1.0])
    ct2.runtime = "ctranslate2"
    Timer(ct2, Device("cuda"), clock=clock).call(None)
    assert synced == ["cuda:1"]  # CTranslate2 returns host results: no torch synchronise


def test_fast_mode_measures_once_without_warmup():
    clock = FakeClock()
    engine = ScriptedEngine(clock, [4.0, 5.0])
    protocol = Protocol(rounds=5, warmup=3, fast=True)
    result = measure(Timer(engine, Device("cpu"), clock=clock), None, protocol)
    assert (result.warmups, result.latencies, engine.calls) == ((), (4.0,), 1)
    assert protocol.describe().startswith("fast: 1 measured call per utterance, no per-utterance")


class FakeBenchmark:
    """pytest-benchmark's pedantic as it behaves: rounds, then (with cprofile) one more call."""

    def __init__(self, *, cprofile: bool = False, disabled: bool = False) -> None:
        self.cprofile, self.disabled = cprofile, disabled
        self.group: str | None = None
        self.group_when_timing: list[str | None] = []

    def pedantic(self, target, rounds, warmup_rounds, iterations):
        self.group_when_timing.append(self.group)
        if self.disabled:
            return target()
        result = [target() for _ in range(warmup_rounds + rounds)][-1]
        if self.cprofile:
            target()
        return result


def test_a_profiled_call_never_enters_the_measured_rounds():
    clock = FakeClock()
    engine = ScriptedEngine(clock, [7.0, 1.0, 2.0, 50.0])
    bench = FakeBenchmark(cprofile=True)
    result = measure(Timer(engine, Device("cpu"), clock=clock), None,
                     Protocol(rounds=2, warmup=1), benchmark=bench, group="m-cpu-d")
    assert engine.calls == 4
    assert result.latencies == (1.0, 2.0)
    assert bench.group_when_timing == ["m-cpu-d"]  # set before pytest-benchmark timed anything


def test_benchmark_disabled_still_runs_every_round():
    clock = FakeClock()
    engine = ScriptedEngine(clock, [7.0, 1.0, 2.0, 3.0])
    result = measure(Timer(engine, Device("cpu"), clock=clock), None,
                     Protocol(rounds=3, warmup=1), benchmark=FakeBenchmark(disabled=True))
    assert (result.warmups, result.latencies) == ((7.0,), (1.0, 2.0, 3.0))


class SleepingEngine:
    runtime = "torch"

    def transcribe(self, audio: float) -> str:
        time.sleep(audio)
        return "slept"


def test_real_clock_records_a_sleeping_engine_within_tolerance():
    result = measure(Timer(SleepingEngine(), Device("cpu")), 0.02, Protocol(rounds=2, warmup=1))
    assert len(result.latencies) == 2
    for seconds in (*result.warmups, *result.latencies):
        assert seconds >= 0.019  # a lower bound only: no speed assertion


def test_a_timeout_keeps_the_clock_inside_the_worker_and_the_figure_unchanged():
    from asrbench.bench.guard import TranscriptionTimeout, call_with_timeout

    def guard(timed):
        return call_with_timeout(timed, 60, what="m on cpu, set/one")

    clock = FakeClock()
    timer = Timer(ScriptedEngine(clock, [2.0]), Device("cpu"), clock=clock, wrap=guard)
    assert timer.call(None) == ("call 1", 2.0)
    slow = Timer(SleepingEngine(), Device("cpu"),
                 wrap=lambda timed: call_with_timeout(timed, 0.01, what="m on cpu, set/one"))
    with pytest.raises(TranscriptionTimeout, match="m on cpu, set/one: no answer after"):
        slow.call(0.5)


def test_the_label_says_median_only_when_there_is_more_than_one_call():
    assert Protocol(rounds=1, warmup=1).describe().startswith(
        "1 measured call per utterance after 1 warm-up call;")
    assert Protocol(rounds=3, warmup=0).describe().startswith(
        "median of 3 measured calls per utterance after 0 warm-up calls;")


def test_a_warm_up_already_made_counts_toward_the_protocols_warm_up():
    """The model's first call is the first utterance's first warm-up, not a call more."""
    clock = FakeClock()
    engine = ScriptedEngine(clock, [8.0, 1.0, 2.0])
    timer = Timer(engine, Device("cpu"), clock=clock, synchronise=lambda: None)
    result = measure(timer, None, Protocol(rounds=2, warmup=2), warmed=(50.0,))
    assert result.warmups == (50.0, 8.0)
    assert result.latencies == (1.0, 2.0)
    assert engine.calls == 3
    with pytest.raises(RuntimeError, match="2 warm-up calls made, the protocol allows 1"):
        measure(timer, None, Protocol(rounds=1, warmup=1), warmed=(1.0, 1.0))


def test_the_label_says_which_call_was_the_first():
    assert "first utterance's first warm-up is the model's first call" in Protocol(
        rounds=3, warmup=1).describe()
    assert "first warm-up" not in Protocol(rounds=3, warmup=0).describe()
    assert "first warm-up" not in Protocol(rounds=3, warmup=1, fast=True).describe()
