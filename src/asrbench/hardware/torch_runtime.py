"""torch's answers about a device: availability, synchronise, cache, peak memory, threads, names.

torch is imported only inside the methods, so parsing a device name at start-up stays cheap and a
run whose engines use another library never imports it. Also torch's: whether MPS may silently run
operators on the CPU (:func:`mps_fallback_enabled`) and where a module's tensors are
(:func:`torch_module_device`).
"""

from __future__ import annotations

import os
import platform
from typing import Any

from asrbench.hardware.devices import Device
from asrbench.hardware.runtime_base import Runtime

__all__ = ["TorchRuntime", "mps_fallback_enabled", "torch_module_device"]


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
        if device.kind == "cpu":
            return None
        try:
            import torch
        except ImportError:
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

    def cpu_fallback(self, device: Device) -> bool | None:
        return mps_fallback_enabled() if device.kind == "mps" else None

    def synchronize(self, device: Device) -> None:
        if device.kind == "cuda":
            import torch

            torch.cuda.synchronize(device.torch_name)
        elif device.kind == "mps":
            import torch

            torch.mps.synchronize()

    def empty_cache(self, device: Device) -> None:
        if device.kind == "cuda":
            import torch

            torch.cuda.empty_cache()
        elif device.kind == "mps":
            import torch

            torch.mps.empty_cache()

    def reset_peak_memory(self, device: Device) -> None:
        """CUDA only: MPS has no peak counter."""
        if device.kind == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats(device.torch_name)

    def peak_memory(self, device: Device) -> tuple[int | None, str]:
        """CUDA: peak allocated by this process since the last reset (not device-wide NVML usage).
        MPS: memory the Metal driver has allocated for this process, a pool size and not a peak.
        CPU: ``None``; resident memory of the process is not attributable to one model."""
        if device.kind == "cuda":
            import torch

            return int(torch.cuda.max_memory_allocated(device.torch_name)), "cuda peak allocated"
        if device.kind == "mps":
            import torch

            return int(torch.mps.driver_allocated_memory()), "mps driver-allocated pool (not a peak)"
        return None, "not measured on cpu"

    def thread_info(self) -> dict[str, Any]:
        """Plus torch's intra-op threads."""
        info = super().thread_info()
        try:
            import torch
        except ImportError:
            info["torch_threads"] = None
        else:
            info["torch_threads"] = torch.get_num_threads()
        return info

    def describe(self, device: Device) -> str:
        if device.kind == "cuda":
            import torch

            return str(torch.cuda.get_device_name(device.torch_name))
        return super().describe(device)


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
