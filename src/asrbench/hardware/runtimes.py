"""Runtimes: what asrbench asks of an engine's own numerical library about a device.

Availability, synchronisation, cache release, peak memory, thread settings and hardware names are
asked of the library that actually runs the model: torch for the PyTorch engines, CTranslate2 for
faster-whisper. So a faster-whisper run never imports torch, and a device counted by one library is
not assumed usable by another (a CPU-only torch build on a CUDA machine, say).

Each runtime is registered by name; an engine names its runtime in ``Engine.runtime``. Tests
register fake runtimes to simulate devices this machine lacks.

The interface and its CPU answers are :class:`~asrbench.hardware.runtime_base.Runtime`; torch's
answers live in :mod:`asrbench.hardware.torch_runtime` (both re-exported here); CTranslate2,
whisper.cpp and MLX answer below. NVML, which needs none of them, is asked through
:mod:`asrbench.hardware.nvml`.

Also here: the device option's parser (:func:`resolve_device`: named devices, and ``auto``, the best
device of this machine, :func:`best_device`), where a loaded model's weights really are
(:func:`placement_error`) and whether MPS may silently run operators on the CPU
(:func:`mps_fallback_enabled`).
"""

from __future__ import annotations

import platform
import re
from collections.abc import Callable
from typing import Any

from asrbench.hardware import nvml
from asrbench.hardware.devices import Device, parse_device
from asrbench.hardware.runtime_base import Runtime
from asrbench.hardware.torch_runtime import TorchRuntime, mps_fallback_enabled, torch_module_device

__all__ = [
    "CTranslate2Runtime",
    "MlxRuntime",
    "Runtime",
    "TorchRuntime",
    "WhisperCppRuntime",
    "best_device",
    "get_runtime",
    "machine_unavailable_reason",
    "mps_fallback_enabled",
    "placement_error",
    "register_runtime",
    "resolve_device",
    "torch_module_device",
]

_ACTUAL_RE = re.compile(r"^(cpu|cuda|mps|meta)(?::(\d+))?$")


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


class WhisperCppRuntime(Runtime):
    """whisper.cpp (pywhispercpp): only the backends its build was compiled with, read from its
    system info, whose section labels are ggml's backends (``CPU``; ``MTL`` or ``Metal``; ``CUDA``;
    ``BLAS``). A CPU-only wheel on a CUDA machine or a Mac says so. ``system_info`` stands in for
    the build's own string in tests."""

    name = "whisper_cpp"

    def __init__(self, system_info: Callable[[], str] | None = None) -> None:
        self._system_info = system_info

    def system_info(self) -> str:
        if self._system_info is not None:
            return self._system_info()
        try:
            import _pywhispercpp
        except ImportError:
            return ""
        return str(_pywhispercpp.whisper_print_system_info())

    def backends(self) -> list[str]:
        """The build's ggml backends (``Metal`` for ``MTL``), in the order it lists them."""
        labels = [chunk.split(":")[0].strip() for chunk in self.system_info().split("|") if ":" in chunk]
        names = {"MTL": "Metal", "METAL": "Metal"}
        return list(dict.fromkeys(names.get(label.upper(), label) for label in labels
                                  if label and label.upper() != "WHISPER"))

    def _lacks(self, device: Device, backend: str) -> str | None:
        found = self.backends()
        if backend in found:
            return None
        what = "CUDA" if backend == "CUDA" else "Apple MPS"
        lists = f"its system info lists {', '.join(found)}" if found else "it gave no system info"
        return (f"{device}: {what} is not available to this whisper.cpp build (no {backend} backend; "
                f"{lists})")

    def cuda_device_count(self) -> int:
        return (nvml.device_count() or 0) if "CUDA" in self.backends() else 0

    def unavailable_reason(self, device: Device) -> str | None:
        if device.kind == "cuda":
            lacks = self._lacks(device, "CUDA")
            count = nvml.device_count()
            if lacks is not None or count is None:  # no NVML to count with: the load checks the log
                return lacks
        return super().unavailable_reason(device)

    def mps_unavailable(self) -> str | None:
        return self._lacks(Device("mps"), "Metal")

    def thread_info(self) -> dict[str, Any]:
        return {**super().thread_info(), "torch_threads": None}


class MlxRuntime(Runtime):
    """Apple MLX (mlx-whisper): its Metal GPU is asrbench's ``mps``, asked of MLX itself
    (``mx.metal.is_available()``), so a CPU-only MLX build (Linux, ``mlx[cpu]``) says it has no
    Metal. Peak memory is MLX's own allocator peak. ``metal`` stands in for MLX's answer in tests."""

    name = "mlx"

    def __init__(self, metal: Callable[[], bool] | None = None) -> None:
        self._metal = metal

    def mps_unavailable(self) -> str | None:
        where = f"{platform.system()} {platform.machine()}"
        if self._metal is not None:
            return None if self._metal() else f"mps: this MLX build has no Metal GPU on {where}"
        try:
            import mlx.core as mx
        except ImportError:
            return "mps: MLX is not installed"
        if mx.metal.is_available():
            return None
        return f"mps: this MLX build (mlx {getattr(mx, "__version__", "?")}) has no Metal GPU on {where}"

    def synchronize(self, device: Device) -> None:
        import mlx.core as mx

        mx.synchronize()

    def empty_cache(self, device: Device) -> None:
        import mlx.core as mx

        mx.clear_cache()

    def reset_peak_memory(self, device: Device) -> None:
        import mlx.core as mx

        mx.reset_peak_memory()

    def peak_memory(self, device: Device) -> tuple[int | None, str]:
        import mlx.core as mx

        return int(mx.get_peak_memory()), "mlx peak allocated"

    def thread_info(self) -> dict[str, Any]:
        return {**super().thread_info(), "torch_threads": None}


_RUNTIMES: dict[str, Runtime] = {
    "cpu": Runtime(),
    "torch": TorchRuntime(),
    "ctranslate2": CTranslate2Runtime(),
    "mlx": MlxRuntime(),
    "whisper_cpp": WhisperCppRuntime(),
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
    if device.kind == "cuda" and nvml.device_count() == 0:  # no driver: no library can have CUDA
        return f"{device}: CUDA is not available on this machine (NVML: no NVIDIA driver or GPU)"
    order = ("ctranslate2", "torch") if device.kind == "cuda" else ("torch",)
    reasons = [get_runtime(name).unavailable_reason(device) for name in order]
    if any(reason is None for reason in reasons):
        return None
    return reasons[-1]


def resolve_device(name: str) -> Device:
    """Read one ``--asr-device`` value: a named device (:func:`~asrbench.hardware.devices.parse_device`),
    or ``auto``, resolved here once to the best device of this machine, with why in ``chosen``."""
    if name.strip().lower() == "auto":
        device, why = best_device()
        return Device(device.kind, device.index, chosen=f"auto: {why}")
    return parse_device(name)


def best_device() -> tuple[Device, str]:
    """``--asr-device auto``: the best device this machine has (cuda > mps > cpu), and why."""
    cuda = machine_unavailable_reason(Device("cuda", 0))
    if cuda is None:
        return Device("cuda", 0), "a CUDA device is present"
    mps = machine_unavailable_reason(Device("mps"))
    if mps is None:
        return Device("mps"), "no CUDA; Apple MPS is present"
    return Device("cpu"), "no CUDA or MPS device here"


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

