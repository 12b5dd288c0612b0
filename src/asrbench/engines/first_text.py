"""Time to first text: how long after the call began the engine had its first piece of text.

Engines that produce text incrementally (faster-whisper's first segment, LFM2.5-Audio's first text
token, any streaming engine) call :func:`mark_first_text` the moment that text exists on the host,
and still finish the whole transcript inside ``transcribe`` (engines stay eager). The protocol opens
a :func:`recording` around the timed call, with the clock it times the call with, and takes the
recorder's ``started`` as the call's start, so first text and latency share one clock and one origin.

The recorder is context-local (a ``ContextVar``): :func:`mark_first_text` outside a recording does
nothing, and concurrent calls in other threads or tasks never see each other's recorder. A new
thread does not inherit it: an engine that produces text in a worker thread takes
:func:`first_text_marker` in the calling thread and calls that from the worker. Only the first mark
counts; marks after the recording closed are ignored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from asrbench.core.figures import Figure, median_figure

__all__ = [
    "WHOLE_TRANSCRIPT",
    "FirstText",
    "FirstTextRecorder",
    "first_text_marker",
    "mark_first_text",
    "median_first_text",
    "recording",
]

#: The reason for engines that return only whole transcripts (openai-whisper).
WHOLE_TRANSCRIPT = "the engine returns whole transcripts only (no incremental text)"
NO_TEXT = "the engine produced no text"

_CURRENT: ContextVar[FirstTextRecorder | None] = ContextVar("asrbench_first_text", default=None)


@dataclass(frozen=True)
class FirstText:
    """Seconds from the call's start to its first text, or ``None`` with the reason."""

    seconds: float | None
    reason: str | None = None

    def __post_init__(self) -> None:
        if (self.seconds is None) == (self.reason is None):
            raise ValueError("first text has seconds or the reason it has none, not both")


class FirstTextRecorder:
    """The first mark of one timed call, on ``clock``."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.started = clock()
        self.first: float | None = None
        self.closed = False
        self._lock = threading.Lock()

    def mark(self) -> None:
        """Text exists now; only the first call counts."""
        if self.first is not None or self.closed:
            return
        now = self.clock()
        with self._lock:
            if self.first is None and not self.closed:
                self.first = now

    def result(self, *, incremental: bool) -> FirstText:
        """The call's first text; ``incremental`` says whether the engine reports it at all."""
        if self.first is not None:
            return FirstText(self.first - self.started)
        return FirstText(None, NO_TEXT if incremental else WHOLE_TRANSCRIPT)


@contextmanager
def recording(clock: Callable[[], float] = time.perf_counter) -> Iterator[FirstTextRecorder]:
    """Record the first text of the call made inside the block; its clock starts on entry."""
    recorder = FirstTextRecorder(clock)
    token = _CURRENT.set(recorder)
    try:
        yield recorder
    finally:
        _CURRENT.reset(token)
        with recorder._lock:
            recorder.closed = True


def mark_first_text() -> None:
    """Engines call this when their first text exists; a no-op outside a recording."""
    recorder = _CURRENT.get()
    if recorder is not None:
        recorder.mark()


def _nothing() -> None:
    return None


def first_text_marker() -> Callable[[], None]:
    """The current recording's mark, to hand to a worker thread (a no-op outside a recording)."""
    recorder = _CURRENT.get()
    return recorder.mark if recorder is not None else _nothing


def median_first_text(values: Iterable[FirstText]) -> Figure:
    """A run's ``first_text_latency`` median over utterances, or ``None`` with the first reason."""
    items = list(values)
    reasons = [v.reason for v in items if v.reason is not None]
    return median_figure((v.seconds for v in items), what="first text latency",
                         missing=reasons[0] if reasons else "no utterance measured")
