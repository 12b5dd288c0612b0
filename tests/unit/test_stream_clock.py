"""The feeding protocol: chunk arrivals, the one-server queue, and the three clock modes."""

from __future__ import annotations

import time

import numpy as np
import pytest

from asrbench.bench import stream_clock
from asrbench.bench.stream_clock import StreamStep, feed, steps_from_dicts
from asrbench.engines.streaming import StreamUpdate, WordTiming


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Scripted:
    """A session whose k-th call costs ``costs[k]`` seconds on the installed clock."""

    compute_clock = "thread_cpu"

    def __init__(self, clock: Clock, costs: list[float]) -> None:
        self.clock, self.costs, self.sizes = clock, list(costs), []

    def accept(self, chunk):
        self.sizes.append(len(chunk))
        self.clock.now += self.costs.pop(0)
        return StreamUpdate(f"w{len(self.sizes)}", "")

    def finish(self):
        self.clock.now += self.costs.pop(0)
        return StreamUpdate("done", "done", (WordTiming("done", 0.0, 0.1),))

    def describe(self):
        return {"policy": "native"}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setitem(stream_clock.COMPUTE_CLOCKS, "thread_cpu", fake)
    return fake


def test_chunks_arrive_when_spoken_and_queue_behind_slow_calls(clock):
    audio = np.zeros(16000 * 35 // 100, np.float32)  # 0.35 s: chunks 0.1, 0.1, 0.1, 0.05
    session = Scripted(clock, [0.05, 0.3, 0.0, 0.02, 0.01])
    steps, words = feed(session, audio, chunk_s=0.1)
    assert session.sizes == [1600, 1600, 1600, 800]
    assert [s.arrival for s in steps] == pytest.approx([0.1, 0.2, 0.3, 0.35, 0.35])
    assert [s.compute for s in steps] == pytest.approx([0.05, 0.3, 0.0, 0.02, 0.01])
    # s_k = max(a_k, f_{k-1}), f_k = s_k + c_k
    assert [s.emitted for s in steps] == pytest.approx([0.15, 0.5, 0.5, 0.52, 0.53])
    assert [s.final for s in steps] == [False] * 4 + [True]
    assert words == (WordTiming("done", 0.0, 0.1),)


def test_unaware_clock_costs_nothing(clock):
    steps, _ = feed(Scripted(clock, [1.0] * 5), np.zeros(6400, np.float32), chunk_s=0.1,
                    mode="unaware")
    assert [s.emitted for s in steps] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.4])
    assert all(s.compute == 0 for s in steps)


def test_the_real_thread_clock_measures_cpu_burnt_in_the_call():
    class Burner(Scripted):
        def accept(self, chunk):
            end = time.thread_time() + 0.02
            while time.thread_time() < end:
                pass
            return StreamUpdate("x")

        def finish(self):
            return StreamUpdate("x", "x")

    steps, _ = feed(Burner(Clock(), []), np.zeros(3200, np.float32), chunk_s=0.1)
    assert all(s.compute >= 0.019 for s in steps[:-1])


def test_wall_clock_paces_to_real_time():
    class Quick(Scripted):
        compute_clock = "wall"

    start = time.perf_counter()
    steps, _ = feed(Quick(Clock(), [0.0] * 4), np.zeros(4800, np.float32), chunk_s=0.1,
                    mode="wall")
    assert time.perf_counter() - start >= 0.29
    assert all(s.emitted >= s.arrival - 1e-3 for s in steps)


def test_the_clock_used_is_the_sessions_only_on_the_virtual_clock():
    from asrbench.bench.stream_clock import clock_used

    assert clock_used("virtual", "process_cpu") == "process_cpu"
    assert clock_used("wall", "process_cpu") == "wall"  # everything timed on the wall clock
    assert clock_used("unaware", "thread_cpu") == "none"  # compute is not counted


def test_trace_rows_read_back_and_bad_modes_are_refused(clock):
    step = StreamStep(0.1, 0.02, 0.12, "a b", "a", final=True)
    assert steps_from_dicts([step.as_dict()]) == (step,)
    with pytest.raises(ValueError, match="unknown stream clock 'fast'"):
        feed(Scripted(clock, []), np.zeros(10, np.float32), chunk_s=0.1, mode="fast")


def test_process_cpu_counts_worker_threads_and_leaves_asrbench_threads_out():
    """The process clock sees CPU spent in another thread (the thread clock does not) and leaves out
    a thread registered as asrbench's own."""
    import threading
    import time

    from asrbench.bench.stream_clock import COMPUTE_CLOCKS
    from asrbench.hardware.cputime import ExcludedThreads, excluded_thread, process_cpu_seconds

    def burn(seconds):
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    thread_before, process_before = time.thread_time(), COMPUTE_CLOCKS["process_cpu"]()
    worker = threading.Thread(target=burn, args=(0.3,))
    worker.start()
    worker.join()
    assert COMPUTE_CLOCKS["process_cpu"]() - process_before >= 0.28
    assert time.thread_time() - thread_before < 0.1

    registry = ExcludedThreads()

    def own():
        with excluded_thread("sampler", registry=registry):
            burn(0.3)

    before, process = process_cpu_seconds(registry), time.process_time()
    sampler = threading.Thread(target=own)
    sampler.start()
    sampler.join()
    assert process_cpu_seconds(registry) - before < 0.1
    assert time.process_time() - process >= 0.28  # the process did spend it
