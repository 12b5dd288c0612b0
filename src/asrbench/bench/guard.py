"""Keeping one bad utterance or one broken model from costing the rest of a run.

Three tools used around every transcription: :func:`call_with_timeout` (``--asr-timeout``),
:func:`is_out_of_memory` (a device ran out), and :func:`one_line` (the failure line a user reads).

A hung transcription cannot be stopped from Python: the call runs in a daemon worker thread, the
test gives up waiting after the timeout, and the model is then *poisoned* by the session (its
remaining tests fail with the reason) because the thread may still be using it. The thread ends
with the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from asrbench.core.errors import AsrBenchError, EngineError

__all__ = ["TranscriptionTimeout", "call_with_timeout", "is_out_of_memory", "one_line"]



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
