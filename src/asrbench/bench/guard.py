"""Keeping one bad utterance or one broken model from costing the rest of a run.

Tools used around every transcription, one at a time or batched: :func:`call_with_timeout` and
:func:`with_timeout` (``--asr-timeout``), :func:`is_out_of_memory` (a device ran out),
:func:`one_line` (the failure line a user reads), and :func:`guarded`, which turns any engine failure
into a one-line :class:`EngineError` and gives up on the model after a hang or out-of-memory.

A hung transcription cannot be stopped from Python: the call runs in a daemon worker thread, the
test gives up waiting after the timeout, and the model is then *poisoned* by the session (its
remaining tests fail with the reason) because the thread may still be using it. The thread ends
with the process.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Protocol

from asrbench.core.errors import AsrBenchError, EngineError

__all__ = ["TranscriptionTimeout", "Wrap", "call_with_timeout", "guarded", "is_out_of_memory",
           "one_line", "with_timeout"]


class Wrap(Protocol):
    """Runs a timed region and returns what it returns (``--asr-timeout``'s worker thread)."""

    def __call__[T](self, timed: Callable[[], T], /) -> T: ...


class TranscriptionTimeout(EngineError):
    """A transcription ran past ``--asr-timeout``; the model is not used again in this run."""


def call_with_timeout[T](function: Callable[[], T], seconds: float | None, *, what: str) -> T:
    """``function()``, or :class:`TranscriptionTimeout` when it has not returned in ``seconds``.

    Without a limit the call runs on the caller's thread, as if this function were not there.
    """
    if seconds is None:
        return function()
    outcome: list[T] = []
    error: list[BaseException] = []

    def work() -> None:
        try:
            outcome.append(function())
        except BaseException as exc:  # handed to the caller's thread below
            error.append(exc)

    worker = threading.Thread(target=work, name="asrbench-transcribe", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TranscriptionTimeout(f"{what}: no answer after --asr-timeout {seconds:g} s")
    if error:
        raise error[0]
    return outcome[0]


def with_timeout(seconds: float | None, *, what: str) -> Wrap | None:
    """A :class:`Wrap` that runs its region under :func:`call_with_timeout`, or None without a
    limit. The whole timed region runs in the worker, clock included, so the figure is unchanged."""
    if seconds is None:
        return None
    limit = seconds

    def wrap[T](timed: Callable[[], T], /) -> T:
        return call_with_timeout(timed, limit, what=what)

    return wrap


def guarded[T](call: Callable[[], T], *, what: str, poison: Callable[[BaseException], None]) -> T:
    """``call()``, with engine failures turned into one-line errors naming ``what``.

    A hang past ``--asr-timeout`` or an out-of-memory error also calls ``poison`` (the model cache
    frees the model and fails its remaining tests), so the run moves on to the next model.
    """
    try:
        return call()
    except TranscriptionTimeout as exc:
        poison(exc)
        raise
    except AsrBenchError:
        raise
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise EngineError(f"{what}: transcription failed ({one_line(exc)})") from exc
        error = EngineError(f"{what}: out of memory ({one_line(exc)}); model released")
        traceback.clear_frames(exc.__traceback__)  # the frames hold the engine and its tensors
    # outside the handler: the out-of-memory error's frames are not kept as this one's context
    poison(error)
    raise error


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says a device (or the host) ran out of memory.

    ``MemoryError``, ``torch.OutOfMemoryError`` (CUDA and MPS), and the ``RuntimeError`` text that
    CTranslate2 and older torch versions raise.
    """
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def one_line(exc: BaseException) -> str:
    """The failure as one line: asrbench's own message, or ``Type: message`` for anything else."""
    text = str(exc) if isinstance(exc, AsrBenchError) else f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text or type(exc).__name__
