"""The feeding protocol: audio chunks on a virtual clock, and the trace every figure is computed from.

Chunk k (k = 1, 2, ...) holds the audio from (k-1)·Δ to k·Δ and arrives at a_k = k·Δ, when its
last sample has been spoken (the last, shorter chunk at the clip's end). The engine's compute time
c_k is measured on the session's ``compute_clock``: CPU time of the calling thread, CPU time of the
whole process less asrbench's own threads (engines that compute in worker threads), or wall time.
One server takes the chunks in order: call k starts at s_k = max(a_k, f_{k-1}) and finishes at
f_k = s_k + c_k, and its update is emitted at f_k. ``finish()`` is one more call, arriving at the
clip's end. The transcripts depend only on the chunk schedule, so a busy machine changes only c_k.

Clock modes: ``virtual`` (the default, above), ``unaware`` (c_k = 0: the model's best case, the
clock stops while it computes) and ``wall`` (sleep until each chunk's real arrival and time
everything on the wall clock: for engines that are services).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from asrbench.engines.streaming import StreamSession, StreamUpdate, WordTiming
from asrbench.hardware.cputime import process_cpu_seconds

__all__ = ["CLOCK_MODES", "COMPUTE_CLOCKS", "StreamStep", "clock_used", "feed", "steps_from_dicts"]

#: ``--asr-stream-clock`` values.
CLOCK_MODES = ("virtual", "unaware", "wall")

#: How each ``compute_clock`` a session declares is read (a test may install a fake one).
COMPUTE_CLOCKS: dict[str, Callable[[], float]] = {
    "thread_cpu": time.thread_time,
    "process_cpu": process_cpu_seconds,
    "wall": time.perf_counter,
}


def clock_used(mode: str, session_clock: str) -> str:
    """The clock c_k was really read on under ``mode``: the session's on the virtual clock, ``wall``
    when pacing to real time, ``none`` when unaware (compute is not counted)."""
    return {"wall": "wall", "unaware": "none"}.get(mode, session_clock)


@dataclass(frozen=True)
class StreamStep:
    """One call of a stream: arrival a_k, compute c_k, emission f_k (seconds), and its update."""

    arrival: float
    compute: float
    emitted: float
    partial: str
    committed: str
    #: True for the ``finish()`` call.
    final: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"a": self.arrival, "c": self.compute, "f": self.emitted,
                "partial": self.partial, "committed": self.committed,
                **({"final": True} if self.final else {})}


def steps_from_dicts(rows: Sequence[Mapping[str, Any]]) -> tuple[StreamStep, ...]:
    """A saved trace read back (the inverse of :meth:`StreamStep.as_dict`)."""
    return tuple(StreamStep(float(r["a"]), float(r["c"]), float(r["f"]), str(r["partial"]),
                            str(r["committed"]), bool(r.get("final", False))) for r in rows)


def feed(session: StreamSession, audio: npt.NDArray[np.float32], *, chunk_s: float,
         mode: str = "virtual", sample_rate: int = 16000,
         ) -> tuple[tuple[StreamStep, ...], tuple[WordTiming, ...] | None]:
    """Stream ``audio`` into ``session`` in chunks of ``chunk_s`` seconds: the trace, and the
    engine's own word timings from its last update (``None`` when it gives none)."""
    if mode not in CLOCK_MODES:
        raise ValueError(f"unknown stream clock {mode!r}; valid: {', '.join(CLOCK_MODES)}")
    if not chunk_s > 0:
        raise ValueError(f"chunk size must be above 0 seconds, not {chunk_s}")
    size = max(1, round(chunk_s * sample_rate))
    duration = len(audio) / sample_rate
    count = max(1, math.ceil(len(audio) / size))
    calls: list[tuple[float, Callable[[], StreamUpdate]]] = [
        (min((k + 1) * size, len(audio)) / sample_rate,
         partial(session.accept, audio[k * size:(k + 1) * size])) for k in range(count)]
    calls.append((duration, session.finish))
    clock = COMPUTE_CLOCKS["wall" if mode == "wall" else session.compute_clock]  # unaware: unread
    steps: list[StreamStep] = []
    done = 0.0  # f_{k-1}
    origin = time.perf_counter()
    update = StreamUpdate("")
    for index, (arrival, call) in enumerate(calls):
        if mode == "wall":
            time.sleep(max(0.0, origin + arrival - time.perf_counter()))
            start = time.perf_counter() - origin
            update = call()
            emitted = time.perf_counter() - origin
            compute = emitted - start
        else:
            before = clock()
            update = call()
            compute = 0.0 if mode == "unaware" else max(0.0, clock() - before)
            emitted = max(arrival, done) + compute
        done = emitted
        steps.append(StreamStep(arrival, compute, emitted, update.partial, update.committed,
                                final=index == len(calls) - 1))
    return tuple(steps), update.words
