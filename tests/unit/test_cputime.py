"""CPU time of a region: an engine that burns a known amount of CPU in 1 and 2 threads, with a busy
"sampler" thread beside it that must not count; the per-run ratios computed by hand."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest

from asrbench.hardware.cputime import (
    CpuClock,
    ExcludedThreads,
    core_hours_per_audio_hour,
    cpu_utilisation,
    excluded_thread,
)

BUFFER = b"\0" * (1 << 20)  # sha256 releases the GIL on buffers this size: threads burn in parallel
#: Two CPU-time clocks of one kernel agree to well under this; contention does not move CPU time.
TOLERANCE = 0.05


def burn(seconds: float, burned: list[float]) -> None:
    """Spend ``seconds`` of this thread's CPU time and record what its own clock says it spent."""
    start = time.thread_time()
    while time.thread_time() - start < seconds:
        hashlib.sha256(BUFFER).digest()
    burned.append(time.thread_time() - start)


def engine(threads: int, seconds: float) -> list[float]:
    """An engine-like call: ``threads`` workers burning ``seconds`` each; the caller only waits."""
    burned: list[float] = []
    workers = [threading.Thread(target=burn, args=(seconds, burned)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return burned


@pytest.mark.parametrize("threads", [1, 2])
def test_cpu_seconds_are_what_the_engine_burned_in_all_its_threads(threads):
    clock = CpuClock(registry=ExcludedThreads())
    token = clock.start()
    burned = engine(threads, 0.3)
    span = clock.stop(token)
    assert len(burned) == threads
    assert span.cpu_seconds == pytest.approx(sum(burned), abs=TOLERANCE)
    assert span.excluded_seconds == 0.0


def test_a_busy_excluded_thread_is_measured_apart_and_not_counted():
    registry = ExcludedThreads()
    ready, stop = threading.Event(), threading.Event()
    sampler_burned: list[float] = []

    def sampler() -> None:
        with excluded_thread("asrbench-test-sampler", registry=registry) as handle:
            ready.set()
            start = time.thread_time()
            while not stop.is_set():
                hashlib.sha256(BUFFER).digest()
                handle.tick()
            sampler_burned.append(time.thread_time() - start)

    thread = threading.Thread(target=sampler)
    thread.start()
    ready.wait()
    clock = CpuClock(registry=registry)
    before = registry.snapshot()
    token = clock.start()
    burned = engine(1, 0.3)
    span = clock.stop(token)
    after = registry.snapshot()
    stop.set()
    thread.join()

    sampler_share = sum(after.values()) - sum(before.values())
    assert sampler_share > 0.1  # it really was busy during the region
    assert span.cpu_seconds == pytest.approx(sum(burned), abs=TOLERANCE)
    assert span.excluded_seconds == pytest.approx(sampler_share, abs=TOLERANCE)
    assert span.process_seconds == pytest.approx(sum(burned) + sampler_share, abs=2 * TOLERANCE)
    # the sampler's whole life is frozen once it closed, and never exceeds what it burned
    assert registry.snapshot() == registry.snapshot()
    assert sum(registry.snapshot().values()) >= sampler_burned[0]


def test_a_thread_registered_from_outside_is_excluded_where_the_platform_has_thread_clocks():
    registry = ExcludedThreads()
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            hashlib.sha256(BUFFER).digest()

    thread = threading.Thread(target=busy, name="asrbench-busy")
    thread.start()
    try:
        handle = registry.register(thread)
        if not hasattr(time, "pthread_getcpuclockid"):
            assert handle is None  # the thread must register itself there
            return
        assert handle is not None
        clock = CpuClock(registry=registry)
        token = clock.start()
        engine(1, 0.2)
        span = clock.stop(token)
        handle.close()
    finally:
        stop.set()
        thread.join()
    assert span.excluded_seconds > 0.05
    assert span.cpu_seconds == pytest.approx(0.2, abs=TOLERANCE)


def test_a_thread_registered_inside_the_region_counts_from_zero_and_fake_clocks_compose():
    registry = ExcludedThreads()
    readings = iter([10.0, 12.5])
    clock = CpuClock(registry=registry, process_clock=lambda: next(readings))
    token = clock.start()

    def short_lived() -> None:
        with excluded_thread(registry=registry):
            start = time.thread_time()
            while time.thread_time() - start < 0.05:
                hashlib.sha256(BUFFER).digest()

    thread = threading.Thread(target=short_lived)
    thread.start()
    thread.join()
    span = clock.stop(token)
    (own,) = registry.snapshot().values()
    assert own >= 0.05
    assert span.excluded_seconds == pytest.approx(own)
    assert span.cpu_seconds == pytest.approx(2.5 - own)


def test_excluded_never_exceeds_the_process_and_cpu_seconds_never_go_negative():
    registry = ExcludedThreads()
    readings = iter([1.0, 1.0])  # the process clock saw nothing (a coarse clock)

    def short_lived() -> None:
        with excluded_thread(registry=registry):
            start = time.thread_time()
            while time.thread_time() - start < 0.02:
                hashlib.sha256(BUFFER).digest()

    clock = CpuClock(registry=registry, process_clock=lambda: next(readings))
    token = clock.start()
    thread = threading.Thread(target=short_lived)
    thread.start()
    thread.join()
    span = clock.stop(token)
    assert span.cpu_seconds == 0.0
    assert span.excluded_seconds == 0.0


def test_core_hours_and_utilisation_by_hand():
    # 36 CPU seconds for 1 hour of audio: 0.01 core-hours per audio hour
    assert core_hours_per_audio_hour(36.0, 3600.0).value == pytest.approx(0.01)
    # 3 CPU seconds in 1.5 s of compute: 2 cores busy on average
    assert cpu_utilisation(3.0, 1.5).value == pytest.approx(2.0)
    missing = core_hours_per_audio_hour(1.0, 0.0)
    assert missing.value is None
    assert "audio seconds" in (missing.reason or "")
    assert missing.as_dict("core_hours_per_audio_hour") == {
        "core_hours_per_audio_hour": None, "core_hours_per_audio_hour_reason": missing.reason}
    assert cpu_utilisation(1.0, 0.0).value is None
    assert cpu_utilisation(None, 1.0).reason == "CPU utilisation (compute seconds): nothing measured"
