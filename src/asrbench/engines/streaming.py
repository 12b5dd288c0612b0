"""The streaming contract: an engine fed audio chunk by chunk, answering each chunk with an update.

A session is opened with :meth:`asrbench.engines.base.Engine.start_stream`, fed 16 kHz float32 mono
chunks with :meth:`StreamSession.accept` and closed with :meth:`StreamSession.finish`. Every call
returns a :class:`StreamUpdate`: ``partial`` is the whole current hypothesis, ``committed`` its
prefix that the engine promises never to change (the bench counts a broken promise as a
``commit_violation``). Engines with a native incremental decoder implement the session themselves;
the others stream through a policy over their whole-buffer ``transcribe`` (LocalAgreement-n, in
:mod:`asrbench.engines.local_agreement`).

The bench measures compute time per call on one clock, and the session says which: ``thread_cpu``
(CPU time of the calling thread) when the session computes in the calling thread; ``process_cpu``
(CPU time of every thread of the process, less asrbench's own) when it computes in worker threads of
this process on the CPU; ``wall`` when the work happens elsewhere (a service, another process, a GPU),
where no CPU clock of this process sees it. Both CPU clocks barely move with other load on the
machine; the wall clock does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from asrbench.data.words import WordTiming

__all__ = ["ComputeClock", "StreamPolicy", "StreamSession", "StreamUpdate", "WordTiming"]

#: How a session's compute time is measured: CPU time of the calling thread, CPU time of the process
#: (less asrbench's own threads), or wall time.
ComputeClock = Literal["thread_cpu", "process_cpu", "wall"]


@dataclass(frozen=True)
class StreamUpdate:
    """What the engine shows after one call: the whole hypothesis and its committed prefix.

    ``committed`` must be a prefix of ``partial`` (word-wise, after whitespace is collapsed);
    ``words`` are the engine's own timings for ``partial``'s words, when it has them.
    """

    partial: str
    committed: str = ""
    words: tuple[WordTiming, ...] | None = None


@dataclass(frozen=True)
class StreamPolicy:
    """How an engine without native streaming streams: LocalAgreement-n over ``transcribe``.

    ``n``: commit the longest common prefix of the last ``n`` hypotheses; ``min_chunk_s``: decode
    only once this much new audio has arrived; ``buffer_trim_s``: drop committed audio once the
    buffer is longer; ``prompt``: pass committed text as the prompt where the engine takes one.
    """

    name: str = "local-agreement"
    n: int = 2
    min_chunk_s: float = 1.0
    buffer_trim_s: float = 15.0
    prompt: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"LocalAgreement-n needs n >= 1, not {self.n}")
        if self.min_chunk_s < 0 or self.buffer_trim_s <= 0:
            raise ValueError("min_chunk_s must be >= 0 and buffer_trim_s > 0")

    def describe(self) -> dict[str, Any]:
        """The policy and its parameters, for the disclosure block."""
        return {"policy": self.name, "n": self.n, "min_chunk_s": self.min_chunk_s,
                "buffer_trim_s": self.buffer_trim_s, "prompt": self.prompt, **dict(self.extra)}


@runtime_checkable
class StreamSession(Protocol):
    """One utterance being streamed into one engine."""

    #: How the bench should time this session's calls.
    compute_clock: ComputeClock

    def accept(self, chunk: npt.NDArray[np.float32]) -> StreamUpdate:
        """Take the next chunk of audio and return the current hypothesis."""
        ...

    def finish(self) -> StreamUpdate:
        """No more audio: return the final hypothesis, all of it committed."""
        ...

    def describe(self) -> dict[str, Any]:
        """Policy (or ``native``) and its parameters, recorded in the disclosure block."""
        ...
