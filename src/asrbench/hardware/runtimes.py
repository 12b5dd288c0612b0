"""Runtimes: what asrbench asks of an engine's own numerical library about a device.

Availability, synchronisation, cache release, peak memory, thread settings and hardware names are
asked of the library that actually runs the model: torch for the PyTorch engines, CTranslate2 for
faster-whisper. So a faster-whisper run never imports torch, and a device counted by one library is
not assumed usable by another (a CPU-only torch build on a CUDA machine, say).

Each runtime is registered by name; an engine names its runtime in ``Engine.runtime``. Tests
register fake runtimes to simulate devices this machine lacks.

Also here: where a loaded model's weights really are (:func:`placement_error`), whether MPS may
silently run operators on the CPU (:func:`mps_fallback_enabled`), and the best device of this
machine for ``--asr-device auto`` (:func:`best_device`).
"""

from __future__ import annotations

import os
import platform
import re
from typing import Any

from asrbench.hardware import devices
from asrbench.hardware.devices import Device

__all__ = [
    "CTranslate2Runtime",
    "Runtime",
    "TorchRuntime",
    "best_device",
    "get_runtime",
    "machine_unavailable_reason",
    "mps_fallback_enabled",
    "placement_error",
    "register_runtime",
    "torch_module_device",
]

_ACTUAL_RE = re.compile(r"^(cpu|cuda|mps|meta)(?::(\d+))?$")


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

    def thread_info(self) -> dict[str, Any]:
        """CPU thread settings that change timings."""
        return {"cpu_count": os.cpu_count(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}

    def describe(self, device: Device) -> str:
        """A human name for the hardware behind ``device``."""
        if device.kind == "cuda":
            return _nvml_name(device.index or 0) or f"CUDA device {device.index or 0}"
        return devices.describe(device)


class TorchRuntime(Runtime):
    """PyTorch: imported only when a torch engine or a torch device asks."""

    name = "torch"

    def cuda_device_count(self) -> int:
        try:
            import torch
        except ImportError:
            return 0
        return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0

    def unavailable_reason(self, device: Device) -> str | None:
        return devices.unavailable_reason(device)

    def cpu_fallback(self, device: Device) -> bool | None:
        return mps_fallback_enabled() if device.kind == "mps" else None

    def synchronize(self, device: Device) -> None:
        devices.synchronize(device)

    def empty_cache(self, device: Device) -> None:
        devices.empty_cache(device)

    def reset_peak_memory(self, device: Device) -> None:
        devices.reset_peak_memory(device)

    def peak_memory(self, device: Device) -> tuple[int | None, str]:
        return devices.peak_memory(device)

    def thread_info(self) -> dict[str, Any]:
        return devices.thread_info()

    def describe(self, device: Device) -> str:
        return devices.describe(device)


class CTranslate2Runtime(Runtime):
    """CTranslate2 (faster-whisper): CPU and CUDA, its own device count; no torch involved.

    Its calls return finished results (nothing stays queued), so there is nothing to synchronise,
    and it exposes no peak-memory counter: memory is recorded as not measured rather than read from
    an allocator it does not use.
    """

    name = "ctranslate2"

    def cuda_device_count(self) -> int:
        try:
            import ctranslate2
        except ImportError:
            return 0
        try:
            return int(ctranslate2.get_cuda_device_count())
        except RuntimeError:  # no driver
            return 0

    def thread_info(self) -> dict[str, Any]:
        return {**super().thread_info(), "torch_threads": None}


_RUNTIMES: dict[str, Runtime] = {
    "cpu": Runtime(),
    "torch": TorchRuntime(),
    "ctranslate2": CTranslate2Runtime(),
}


def register_runtime(runtime: Runtime) -> None:
    """Add or replace a runtime under ``runtime.name`` (third-party engines, simulated devices)."""
    _RUNTIMES[runtime.name] = runtime


def get_runtime(name: str) -> Runtime:
    """The runtime registered as ``name``; an unknown name is an engine bug, said so."""
    try:
        return _RUNTIMES[name]
    except KeyError:
        raise KeyError(f"unknown runtime {name!r}; valid: {', '.join(sorted(_RUNTIMES))}") from None


def machine_unavailable_reason(device: Device) -> str | None:
    """Why no installed runtime can use ``device`` (for tests that take a device but no model).

    CUDA counts when CTranslate2 or torch sees it (NVML first: without a driver neither can); MPS
    is asked of torch, and only on macOS. So a CPU machine answers without importing torch.
    """
    if device.kind == "cpu":
        return None
    if device.kind == "mps" and platform.system() != "Darwin":
        return (f"mps: Apple MPS is not available on {platform.system()} {platform.machine()} "
                "(macOS only)")
    if device.kind == "cuda" and _nvml_count() == 0:  # no driver: no library can have CUDA
        return f"{device}: CUDA is not available on this machine (NVML: no NVIDIA driver or GPU)"
    order = ("ctranslate2", "torch") if device.kind == "cuda" else ("torch",)
    reasons = [get_runtime(name).unavailable_reason(device) for name in order]
    if any(reason is None for reason in reasons):
        return None
    return reasons[-1]


def best_device() -> tuple[Device, str]:
    """``--asr-device auto``: the best device this machine has (cuda > mps > cpu), and why."""
    cuda = machine_unavailable_reason(Device("cuda", 0))
    if cuda is None:
        return Device("cuda", 0), "a CUDA device is present"
    mps = machine_unavailable_reason(Device("mps"))
    if mps is None:
        return Device("mps"), "no CUDA; Apple MPS is present"
    return Device("cpu"), "no CUDA or MPS device here"


def mps_fallback_enabled() -> bool:
    """True when ``PYTORCH_ENABLE_MPS_FALLBACK`` lets torch run operators missing on MPS on the CPU.

    Such a run is not a pure MPS result: some of the work happened on the CPU, silently.
    """
    value = os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK", "").strip().lower()
    return value in {"1", "true", "yes", "on"}


def torch_module_device(module: Any) -> str:
    """Where a torch module's parameters and buffers are: ``"cuda:0"``, or ``"cpu+mps:0"`` if split."""
    tensors = [*module.parameters(), *module.buffers()]
    found = sorted({str(t.device) for t in tensors})
    return "+".join(found) if found else "no parameters"


def _parse_actual(text: str) -> Device | None:
    match = _ACTUAL_RE.match(text.strip().lower())
    if match is None:
        return None
    kind, index = match.groups()
    return Device(kind, int(index) if index is not None else None)


def placement_error(requested: Device, actual: str | None) -> str | None:
    """Why weights reported on ``actual`` are not a ``requested`` result, or ``None`` when they are.

    Bare ``cuda`` accepts any CUDA index (torch's current device); ``cuda:N`` needs index N (an
    unindexed report counts as 0); MPS and CPU indices are ignored. ``None`` for ``actual`` means the
    engine cannot tell, which is not a mismatch.
    """
    if actual is None:
        return None
    parts = [_parse_actual(part) for part in actual.split("+")]
    for part in parts:
        if part is None or part.kind != requested.kind:
            return f"its weights are on {actual}, not on {requested}"
        if requested.kind == "cuda" and requested.index is not None and \
                (part.index or 0) != requested.index:
            return f"its weights are on {actual}, not on {requested}"
    return None


def _nvml_count() -> int | None:
    """NVIDIA GPUs the driver reports (0 without a driver); ``None`` when NVML is not installed."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # NVMLError_LibraryNotFound / DriverNotLoaded: no driver here
        return 0
    try:
        return int(pynvml.nvmlDeviceGetCount())
    except Exception:
        return 0
    finally:
        pynvml.nvmlShutdown()


def _nvml_name(index: int) -> str | None:
    """The GPU's name from NVML (``nvidia-ml-py``, the ``cuda`` extra), without torch."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        try:
            name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(index))
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no driver, no such index: the name is a nicety
        return None
    return name.decode() if isinstance(name, bytes) else str(name)
