"""The runtime interface: what asrbench asks of a numerical library about a device.

:class:`Runtime` names every question (availability, synchronisation, cache release, peak memory,
thread settings, hardware name) and answers it for a plain CPU; each library's runtime overrides the
answers for the accelerators it drives. The registry is :mod:`asrbench.hardware.runtimes`.
"""

from __future__ import annotations

import os
import platform
from typing import Any

from asrbench.hardware import nvml
from asrbench.hardware.devices import Device

__all__ = ["Runtime", "cpu_name"]


class Runtime:
    """A plain CPU runtime; subclasses answer for the accelerators their library drives."""

    name = "cpu"

    def cuda_device_count(self) -> int:
        """CUDA devices this runtime can use (0 when it has no CUDA support)."""
        return 0

    def mps_unavailable(self) -> str | None:
        """Why this runtime cannot use Apple MPS here, or ``None`` when it can."""
        return f"mps: {self.name} has no MPS backend"

    def unavailable_reason(self, device: Device) -> str | None:
        """Why ``device`` cannot be used through this runtime on this machine, or ``None``."""
        if device.kind == "cpu":
            return None
        if device.kind == "mps":
            return self.mps_unavailable()
        count = self.cuda_device_count()
        if count == 0:
            return f"{device}: CUDA is not available to {self.name} on this machine"
        if device.index is not None and device.index >= count:
            return f"{device}: only {count} CUDA device(s) present (cuda:0 to cuda:{count - 1})"
        return None

    def cpu_fallback(self, device: Device) -> bool | None:
        """Whether operators ``device`` lacks may silently run on the CPU (``None``: not a question
        for this runtime and device)."""
        return None

    def synchronize(self, device: Device) -> None:
        """Wait for queued work so that a timer stopped afterwards measures all of it."""

    def empty_cache(self, device: Device) -> None:
        """Return cached device memory after a model is dropped."""

    def reset_peak_memory(self, device: Device) -> None:
        """Start a new peak-memory window where the runtime keeps one."""

    def peak_memory(self, device: Device) -> tuple[int | None, str]:
        """Bytes and what they mean; ``None`` when this runtime gives no such figure."""
        return None, f"not measured by {self.name}"

    def total_memory(self, device: Device) -> int | None:
        """Bytes of memory ``device`` has, or ``None`` when this runtime cannot tell."""
        return None

    def thread_info(self) -> dict[str, Any]:
        """CPU thread settings that change timings."""
        return {"cpu_count": os.cpu_count(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}

    def describe(self, device: Device) -> str:
        """A human name for the hardware behind ``device``."""
        if device.kind == "cuda":
            return nvml.device_name(device.index or 0) or f"CUDA device {device.index or 0}"
        if device.kind == "mps":
            return f"Apple {platform.machine()} (MPS)"
        return cpu_name() or platform.processor() or platform.machine()


def cpu_name() -> str | None:
    """The CPU's model name (Linux ``/proc/cpuinfo``), or ``None`` where it cannot be read."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
