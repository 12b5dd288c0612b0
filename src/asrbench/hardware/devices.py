"""Devices: parse ``cpu``/``cuda[:N]``/``mps``/``auto``; torch's availability, synchronise, memory.

torch is imported only inside the functions, so parsing a device name at start-up stays cheap. The
functions below are torch's answers; engines on another library (CTranslate2) ask it instead, through
:mod:`asrbench.hardware.runtimes`, which also resolves ``auto``.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass, field
from typing import Any

from asrbench.core.errors import ConfigError

__all__ = [
    "DEFAULT_DEVICES",
    "Device",
    "describe",
    "empty_cache",
    "parse_device",
    "peak_memory",
    "reset_peak_memory",
    "synchronize",
    "thread_info",
    "unavailable_reason",
]

KINDS = ("cpu", "cuda", "mps")
DEFAULT_DEVICES = ("cpu", "cuda", "mps")
_DEVICE_RE = re.compile(r"^(cpu|cuda|mps)(?::(\d+))?$")


@dataclass(frozen=True, order=True)
class Device:
    """A torch-style device name split into kind (``cpu``, ``cuda``, ``mps``) and index."""

    kind: str
    index: int | None = None
    #: Why ``--asr-device auto`` chose this device; ``None`` when it was named.
    chosen: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.kind if self.index is None else f"{self.kind}:{self.index}"

    @property
    def label(self) -> str:
        """The name, with how ``auto`` chose it when it did."""
        return str(self) if self.chosen is None else f"{self} ({self.chosen})"

    @property
    def torch_name(self) -> str:
        """The name torch accepts; bare ``cuda`` means the current CUDA device."""
        return str(self)


def parse_device(name: str) -> Device:
    """Parse a device option value; raise :class:`ConfigError` naming the valid forms.

    ``auto`` is resolved here, once: the best device this machine has (cuda > mps > cpu).
    """
    if name.strip().lower() == "auto":
        from asrbench.hardware.runtimes import best_device

        device, why = best_device()
        return Device(device.kind, device.index, chosen=f"auto: {why}")
    match = _DEVICE_RE.match(name.strip().lower())
    if match is None:
        raise ConfigError(
            f"--asr-device {name!r}: unknown device; valid: cpu, cuda, cuda:N, mps, auto"
        )
    kind, index = match.groups()
    if kind != "cuda" and index is not None:
        raise ConfigError(f"--asr-device {name!r}: only cuda takes an index (cuda:N)")
    return Device(kind, int(index) if index is not None else None)


def unavailable_reason(device: Device) -> str | None:
    """Why ``device`` cannot be used on this machine, or ``None`` when it can."""
    if device.kind == "cpu":
        return None
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return f"{device}: torch is not installed"
    if device.kind == "cuda":
        if not torch.cuda.is_available():
            return f"{device}: CUDA is not available on this machine (torch {torch.__version__})"
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            return f"{device}: only {count} CUDA device(s) present"
        return None
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_available():
        built = bool(mps is not None and mps.is_built())
        where = f"{platform.system()} {platform.machine()}"
        why = "this torch build has MPS but no Metal device" if built else "torch has no MPS here"
        return f"mps: Apple MPS is not available on {where} ({why})"
    return None


def synchronize(device: Device) -> None:
    """Wait for queued kernels so that a timer stopped afterwards measures the real work."""
    if device.kind == "cpu":
        return
    import torch

    if device.kind == "cuda":
        torch.cuda.synchronize(device.torch_name)
    elif device.kind == "mps":
        torch.mps.synchronize()


def empty_cache(device: Device) -> None:
    """Return cached blocks to the driver after a model is dropped."""
    if device.kind == "cuda":
        import torch

        torch.cuda.empty_cache()
    elif device.kind == "mps":
        import torch

        torch.mps.empty_cache()


def reset_peak_memory(device: Device) -> None:
    """Start a new peak-memory window (CUDA only; MPS has no peak counter)."""
    if device.kind == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats(device.torch_name)


def peak_memory(device: Device) -> tuple[int | None, str]:
    """Bytes and what the number means.

    CUDA: peak allocated by this process since the last reset (not device-wide NVML usage).
    MPS: memory the Metal driver has allocated for this process, a pool size and not a peak.
    CPU: ``None``; resident memory of the process is not attributable to one model.
    """
    if device.kind == "cuda":
        import torch

        return int(torch.cuda.max_memory_allocated(device.torch_name)), "cuda peak allocated"
    if device.kind == "mps":
        import torch

        return int(torch.mps.driver_allocated_memory()), "mps driver-allocated pool (not a peak)"
    return None, "not measured on cpu"


def thread_info() -> dict[str, Any]:
    """CPU thread settings that change timings: torch intra-op threads and the OMP variable."""
    info: dict[str, Any] = {"cpu_count": os.cpu_count()}
    info["omp_num_threads"] = os.environ.get("OMP_NUM_THREADS")
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    except ImportError:  # pragma: no cover
        info["torch_threads"] = None
    return info


def describe(device: Device) -> str:
    """A human name for the hardware behind ``device`` (GPU model, or the CPU's)."""
    if device.kind == "cuda":
        import torch

        return str(torch.cuda.get_device_name(device.torch_name))
    if device.kind == "mps":
        return f"Apple {platform.machine()} (MPS)"
    return _cpu_name() or platform.processor() or platform.machine()


def _cpu_name() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
