"""What a run's machine was, for its disclosure: CPU model and cores, memory, GPUs and driver, OS,
and the load average read before and after the run (a shared machine shows in the report).

These facts sit beside :func:`asrbench.core.identity.machine_fingerprint` (host name, system,
architecture, processor, ``os.cpu_count()``, Python version and the fingerprint id) and do not repeat
them; the report's disclosure is the two merged. A fact that cannot be read here is ``None`` with a
``<name>_reason``. Reads are cheap: psutil, ``/proc/cpuinfo`` (or ``sysctl`` on macOS) and NVML, the
last imported only when asked.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from asrbench.hardware import threads

__all__ = ["cpu_model", "gpu_facts", "load_average", "machine_facts"]

CPUINFO = Path("/proc/cpuinfo")
_CPUINFO_KEYS = ("model name", "Hardware", "Model", "cpu model", "Processor")


def cpu_model(cpuinfo: Path = CPUINFO, *, system: str | None = None) -> str | None:
    """The CPU's marketing name (``AMD EPYC 7R13 Processor``), or ``None`` where none is readable."""
    system = system or platform.system()
    if system == "Linux":
        try:
            text = cpuinfo.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        fields: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if sep and value.strip():
                fields.setdefault(key.strip(), value.strip())
        for key in _CPUINFO_KEYS:
            if key in fields:
                return fields[key]
    elif system == "Darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                 text=True, timeout=5, check=False)
        except (OSError, subprocess.TimeoutExpired):
            out = None
        if out is not None and out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    return platform.processor() or None


def load_average() -> dict[str, Any]:
    """The 1, 5 and 15 minute load averages (runnable processes, all cores together), or the reason."""
    try:
        one, five, fifteen = os.getloadavg()
    except (AttributeError, OSError):  # Windows has no load average
        return {"load_average": None, "load_average_reason": f"no load average on {sys.platform}"}
    return {"load_average": [round(one, 2), round(five, 2), round(fifteen, 2)]}


def _visible_indices(pynvml: Any) -> list[int]:
    entries = os.environ.get("CUDA_VISIBLE_DEVICES")
    if entries is not None:
        return list(range(len([e for e in entries.split(",") if e.strip()])))
    return list(range(int(pynvml.nvmlDeviceGetCount())))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def gpu_facts() -> dict[str, Any]:
    """Every GPU CUDA can see (CUDA's numbering): name and memory, and the driver version."""
    try:
        import pynvml
    except ImportError:
        return {"gpus": None, "gpus_reason": "NVML not available: nvidia-ml-py is not installed"}
    from asrbench.hardware import nvml

    try:
        pynvml.nvmlInit()
    except Exception as exc:  # no driver: NVMLError_LibraryNotFound / DriverNotLoaded
        return {"gpus": None, "gpus_reason": f"no NVIDIA driver: {exc}"}
    try:
        gpus = []
        for index in _visible_indices(pynvml):
            handle = nvml.cuda_handle(pynvml, index)  # CUDA_VISIBLE_DEVICES honoured
            gpus.append({"index": index, "name": _text(pynvml.nvmlDeviceGetName(handle)),
                         "memory_bytes": int(pynvml.nvmlDeviceGetMemoryInfo(handle).total)})
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
    except Exception as exc:
        return {"gpus": None, "gpus_reason": f"NVML: {exc}"}
    finally:
        pynvml.nvmlShutdown()
    return {"gpus": gpus, "gpu_driver": driver}


def machine_facts() -> dict[str, Any]:
    """The disclosure facts not already in the machine fingerprint, read now."""
    import psutil

    allowed, source = threads.available()
    facts: dict[str, Any] = {"cpu_model": cpu_model()}
    if facts["cpu_model"] is None:
        facts["cpu_model_reason"] = "the platform names no CPU model"
    facts["cpu_logical_cores"] = psutil.cpu_count(logical=True)
    facts["cpu_physical_cores"] = psutil.cpu_count(logical=False)
    if facts["cpu_physical_cores"] is None:
        facts["cpu_physical_cores_reason"] = "psutil cannot tell physical cores here"
    facts["cpu_allowed_cores"] = allowed
    facts["cpu_allowed_cores_source"] = source
    facts["memory_bytes"] = int(psutil.virtual_memory().total)
    facts["os"] = platform.platform()
    facts.update(gpu_facts())
    return facts
