"""CPU time of a timed region: what the engine cost the host, without asrbench's own threads.

:class:`CpuClock` reads the process's CPU time (user + system, every thread, ``time.process_time``:
``CLOCK_PROCESS_CPUTIME_ID`` on Linux and macOS, ``GetProcessTimes`` on Windows) at the start and the
end of a region and subtracts what asrbench's own background threads (the memory sampler) spent
inside it. Those threads are registered in :data:`EXCLUDED`; their CPU time is read

- through their own per-thread CPU clock (``pthread_getcpuclockid``, Linux and the BSDs), from any
  thread, at the exact edges of the region; or
- where there is no such clock (macOS, Windows), from what the thread itself last reported with
  :meth:`ExcludedThread.tick` (``time.thread_time``), so the figure is as fresh as its last tick
  (the memory sampler ticks every 10 ms, its whole share being far below that).

On a GPU the figure is the host CPU the call spent: the Python and runtime work around the kernels,
plus the wait inside the device synchronise (CUDA spins a core while it waits by default).

Per run, :func:`core_hours_per_audio_hour` (Picovoice's Core-Hour: CPU hours per hour of audio) and
:func:`cpu_utilisation` (cores kept busy on average: how much of ``--asr-threads`` was really used).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from asrbench.core.figures import Figure, ratio

__all__ = [
    "EXCLUDED",
    "CpuClock",
    "CpuSpan",
    "CpuToken",
    "ExcludedThread",
    "ExcludedThreads",
    "core_hours_per_audio_hour",
    "cpu_utilisation",
    "excluded_thread",
    "process_cpu_seconds",
]

#: The process's CPU seconds so far (user + system, all threads, including finished ones).
ProcessClock = Callable[[], float]

METHOD = ("process CPU time (user + system, all threads; time.process_time) inside the timed region, "
          "less asrbench's own background threads (per-thread CPU clocks)")


def _thread_clock(ident: int) -> int | None:
    """The per-thread CPU clock of the live thread ``ident``, where the platform has one."""
    getter = getattr(time, "pthread_getcpuclockid", None)
    if getter is None:
        return None
    try:
        return int(getter(ident))
    except OSError:
        return None


class ExcludedThread:
    """One of asrbench's own threads whose CPU time a :class:`CpuClock` does not count.

    ``ident`` is set when the thread registered itself (then :meth:`tick` and :meth:`close` read
    ``time.thread_time`` in it); ``clock_id`` is its per-thread CPU clock, readable from anywhere.
    """

    def __init__(self, name: str, clock_id: int | None, *, ident: int | None = None) -> None:
        self.name = name
        self._clock_id = clock_id
        self._ident = ident
        self._last = 0.0
        self._final: float | None = None
        self._lock = threading.Lock()

    def _in_thread(self) -> bool:
        return self._ident is not None and self._ident == threading.get_ident()

    def tick(self) -> None:
        """Report this thread's CPU time now; called from any other thread it does nothing."""
        if self._in_thread():
            value = time.thread_time()
            with self._lock:
                self._last = max(self._last, value)

    def close(self) -> None:
        """Freeze the figure: from the thread itself as its last act, or from outside just before it
        is told to stop (a finished thread's clock cannot be read)."""
        value = time.thread_time() if self._in_thread() else self.cpu_seconds()
        with self._lock:
            self._final = max(self._last, value)

    def cpu_seconds(self) -> float:
        """CPU seconds this thread has spent since it started, as exactly as this platform allows."""
        with self._lock:
            if self._final is not None:
                return self._final
            last = self._last
        if self._clock_id is not None:
            try:
                value = time.clock_gettime(self._clock_id)
            except OSError:  # the thread ended without closing: its last report stands
                return last
            with self._lock:
                self._last = max(self._last, value)
                return self._last
        return last


class ExcludedThreads:
    """The threads whose CPU time is not the engine's (a registry; :data:`EXCLUDED` is the one used)."""

    def __init__(self) -> None:
        self._threads: list[ExcludedThread] = []
        self._lock = threading.Lock()

    def register_current(self, name: str | None = None) -> ExcludedThread:
        """Exclude the calling thread (call it first thing in the thread's target)."""
        ident = threading.get_ident()
        handle = ExcludedThread(name or threading.current_thread().name, _thread_clock(ident),
                                ident=ident)
        handle.tick()
        return self._add(handle)

    def register(self, thread: threading.Thread) -> ExcludedThread | None:
        """Exclude a running thread from outside; ``None`` where the platform has no per-thread CPU
        clock (the thread must then call :meth:`register_current` itself)."""
        clock_id = _thread_clock(thread.ident) if thread.ident is not None else None
        if clock_id is None:
            return None
        handle = ExcludedThread(thread.name, clock_id)
        handle.cpu_seconds()
        return self._add(handle)

    def _add(self, handle: ExcludedThread) -> ExcludedThread:
        with self._lock:
            self._threads.append(handle)
        return handle

    def snapshot(self) -> dict[int, float]:
        """Each registered thread's CPU seconds now, keyed by the handle's id."""
        with self._lock:
            threads = list(self._threads)
        return {id(t): t.cpu_seconds() for t in threads}


#: asrbench's own threads: every :class:`CpuClock` leaves them out unless given another registry.
EXCLUDED = ExcludedThreads()


def process_cpu_seconds(registry: ExcludedThreads | None = None) -> float:
    """The process's CPU seconds so far less what asrbench's own threads spent: the difference of two
    readings is what :meth:`CpuClock.stop` gives for the region between them (a clock to subtract)."""
    excluded = (registry if registry is not None else EXCLUDED).snapshot()
    return time.process_time() - sum(excluded.values())


@contextmanager
def excluded_thread(name: str | None = None, *,
                    registry: ExcludedThreads | None = None) -> Iterator[ExcludedThread]:
    """Run the body of a background thread excluded from CPU time; ``tick()`` the handle in its loop."""
    handle = (registry or EXCLUDED).register_current(name)
    try:
        yield handle
    finally:
        handle.close()


@dataclass(frozen=True)
class CpuToken:
    """The readings at the start of a region."""

    process: float
    excluded: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CpuSpan:
    """CPU seconds inside one region: the engine's (``cpu_seconds``) and asrbench's own left out."""

    cpu_seconds: float
    excluded_seconds: float

    @property
    def process_seconds(self) -> float:
        """Everything the process spent, asrbench's own threads included."""
        return self.cpu_seconds + self.excluded_seconds


class CpuClock:
    """CPU time of regions: ``token = clock.start()``, the work, ``clock.stop(token)``."""

    method = METHOD

    def __init__(self, *, registry: ExcludedThreads | None = None,
                 process_clock: ProcessClock | None = None) -> None:
        self.registry = registry if registry is not None else EXCLUDED
        self.process_clock: ProcessClock = process_clock or time.process_time

    def start(self) -> CpuToken:
        excluded = self.registry.snapshot()
        return CpuToken(self.process_clock(), excluded)

    def stop(self, token: CpuToken) -> CpuSpan:
        process = self.process_clock() - token.process
        now = self.registry.snapshot()
        # a thread registered inside the region started there with no CPU time of its own
        excluded = sum(max(value - token.excluded.get(key, 0.0), 0.0) for key, value in now.items())
        excluded = min(excluded, max(process, 0.0))
        return CpuSpan(cpu_seconds=max(process - excluded, 0.0), excluded_seconds=excluded)


def core_hours_per_audio_hour(cpu_seconds: float | None, audio_seconds: float | None) -> Figure:
    """CPU hours per hour of audio (Picovoice's Core-Hour): ``cpu_seconds / audio_seconds`` over the
    same calls; ``None`` with the reason when no audio was measured."""
    return ratio(cpu_seconds, audio_seconds, what="core-hours per audio hour (audio seconds)")


def cpu_utilisation(cpu_seconds: float | None, compute_seconds: float | None) -> Figure:
    """Cores kept busy on average while the clock ran: ``cpu_seconds / compute_seconds`` (1.0 is one
    core for the whole call); ``None`` with the reason when no time was measured."""
    return ratio(cpu_seconds, compute_seconds, what="CPU utilisation (compute seconds)")
