"""CPU threads: one setting for every engine, so engines compare at equal threads.

The default is the number of cores this process may use: its CPU affinity (``sched_getaffinity``,
where the platform has it, else ``os.cpu_count()``), lowered to ``OMP_NUM_THREADS`` when that is
set and smaller. ``--asr-threads N`` (``asr_threads`` in ini, ``threads`` in ``[tool.asrbench]``)
overrides it.

The session applies the number while a model loads: CTranslate2 engines read :func:`requested` for
``cpu_threads``, whisper.cpp for ``n_threads``; torch engines get ``torch.set_num_threads`` (torch
is imported only for them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["apply", "available", "requested", "using"]

_REQUESTED: ContextVar[int | None] = ContextVar("asrbench_threads", default=None)


def available() -> tuple[int, str]:
    """Cores this process may use, and where the number comes from."""
    try:
        count, source = len(os.sched_getaffinity(0)), "CPU affinity"
    except (AttributeError, OSError):  # macOS and Windows have no sched_getaffinity
        count, source = os.cpu_count() or 1, "os.cpu_count()"
    omp = os.environ.get("OMP_NUM_THREADS", "").strip()
    if omp.isdigit() and 0 < int(omp) < count:
        count, source = int(omp), "OMP_NUM_THREADS"
    return max(count, 1), source


def requested() -> int:
    """The thread count for the model being loaded: the session's setting, else :func:`available`."""
    value = _REQUESTED.get()
    return value if value is not None else available()[0]


@contextmanager
def using(count: int | None) -> Iterator[None]:
    """Make :func:`requested` return ``count`` (``None``: the default) inside the block."""
    token = _REQUESTED.set(count)
    try:
        yield
    finally:
        _REQUESTED.reset(token)


def apply(count: int | None, runtime: str | None) -> dict[str, Any]:
    """Apply the thread count for an engine of ``runtime``; return what was set, for the report."""
    number, source = (count, "asrbench setting (--asr-threads)") if count is not None else available()
    info: dict[str, Any] = {"threads": number, "threads_source": source}
    if runtime == "torch":
        try:
            import torch
        except ImportError:  # the engine's load reports the missing package
            info["threads_applied_to"] = "not applied (torch is not installed)"
            return info
        torch.set_num_threads(number)
        info["threads_applied_to"] = "torch intra-op threads"
        info["torch_threads"] = torch.get_num_threads()
    elif runtime == "ctranslate2":
        info["threads_applied_to"] = "ctranslate2 cpu_threads"
    elif runtime == "whisper_cpp":
        info["threads_applied_to"] = "whisper.cpp n_threads"
    else:
        info["threads_applied_to"] = "not applied by asrbench (engine may read threads.requested())"
    return info
