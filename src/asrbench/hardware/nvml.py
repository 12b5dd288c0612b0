"""NVML (``nvidia-ml-py``, the ``cuda`` extra): what the NVIDIA driver says, without torch or CTranslate2.

The one place that talks to NVML: how many GPUs the driver sees, a GPU's name, this process's
memory on a GPU, and the handle of a GPU in CUDA's numbering (for the energy counter and the
machine facts). ``pynvml`` is imported inside the functions; when it is not installed, or there is
no driver, each function says so in its return value instead of raising.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = ["Reader", "cuda_handle", "device_count", "device_name", "process_memory_reader"]

#: Reads a figure now; ``None`` when there is nothing to read.
Reader = Callable[[], int | None]


def device_count() -> int | None:
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


def device_name(index: int) -> str | None:
    """The name of the GPU CUDA numbers ``index``, or ``None`` (no NVML, no driver, no such GPU)."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        try:
            name = pynvml.nvmlDeviceGetName(cuda_handle(pynvml, index))
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no driver, no such index: the name is a nicety
        return None
    return name.decode() if isinstance(name, bytes) else str(name)


def process_memory_reader(index: int) -> tuple[Reader | None, str]:
    """A reader of this process's memory on the GPU CUDA numbers ``index``, and the figure's label.

    NVML stays initialised while the reader is in use. ``None`` and the reason when NVML is absent or
    cannot start.
    """
    try:
        import pynvml
    except ImportError:
        return None, "cuda: not measured (nvidia-ml-py is not installed)"
    try:
        pynvml.nvmlInit()
        handle = cuda_handle(pynvml, index)
    except Exception as exc:  # pynvml raises NVMLError subclasses, one per cause
        return None, f"cuda: not measured (NVML: {exc})"
    pid = os.getpid()

    def read() -> int | None:
        try:
            processes = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
        except Exception:
            return None
        for process in processes:
            if process.pid == pid and process.usedGpuMemory is not None:
                return int(process.usedGpuMemory)
        return None

    return read, "cuda process memory from NVML (max of samples; includes the CUDA context)"


def cuda_handle(pynvml: Any, index: int) -> Any:
    """NVML's handle of the GPU CUDA numbers ``index`` (NVML must be initialised).

    NVML numbers GPUs physically; ``CUDA_VISIBLE_DEVICES`` renumbers them for CUDA.
    """
    visible = [e.strip() for e in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if e.strip()]
    if index < len(visible):
        entry = visible[index]
        if not entry.isdigit():
            return pynvml.nvmlDeviceGetHandleByUUID(entry)
        index = int(entry)
    return pynvml.nvmlDeviceGetHandleByIndex(index)
