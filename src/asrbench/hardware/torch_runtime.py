"""torch's answers about a device: availability, synchronise, cache, peak memory, threads, names.

torch is imported only inside the methods, so parsing a device name at start-up stays cheap and a
run whose engines use another library never imports it. Also torch's: whether MPS may silently run
operators on the CPU (:func:`mps_fallback_enabled`), where a module's tensors are
(:func:`torch_module_device`) and whether torch and torchaudio are one working release pair
(:func:`torch_pair_problems`).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from typing import Any

from asrbench.hardware.devices import Device
from asrbench.hardware.runtime_base import Runtime

__all__ = ["TorchRuntime", "mps_fallback_enabled", "torch_module_device", "torch_pair_problems"]


class TorchRuntime(Runtime):
    """PyTorch: imported only when a torch engine or a torch device asks."""

    name = "torch"

    def __init__(self) -> None:
        self._probed: dict[str, str | None] = {}

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
            return self.probe(device)
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            built = bool(mps is not None and mps.is_built())
            where = f"{platform.system()} {platform.machine()}"
            why = "this torch build has MPS but no Metal device" if built else "torch has no MPS here"
            return f"mps: Apple MPS is not available on {where} ({why})"
        return self.probe(device)

    def probe(self, device: Device) -> str | None:
        """Why ``device``, which torch reports available, fails a small numeric check, or ``None``.

        Asked once per device per process (cached): a matmul on the device must match the same
        matmul on the CPU. A virtualised GPU can report itself available and then fail or compute
        garbage (GitHub-hosted macOS runners' MPS), which otherwise ends as a run of skips or,
        worse, wrong numbers.
        """
        key = str(device)
        if key not in self._probed:
            self._probed[key] = numeric_check(device)
        return self._probed[key]

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

    def total_memory(self, device: Device) -> int | None:
        if device.kind != "cuda":
            return None
        import torch

        return int(torch.cuda.get_device_properties(device.index or 0).total_memory)

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


#: Why a hosted macOS runner's MPS fails: it is a virtual machine without a usable Metal GPU.
VIRTUALISED_MPS = ("GitHub-hosted macOS runners are virtual machines whose MPS reports itself "
                   "available but cannot run work (pytorch/pytorch#125197, "
                   "actions/runner-images#9918); use an Apple-silicon machine or self-hosted runner")

_PROBE_SIZE = 64


def numeric_check(device: Device) -> str | None:
    """Run a ``64 x 64`` matmul on ``device`` and compare it with the CPU; why it failed, or ``None``.

    The inputs are small integers, so every product is exact in float32 and any difference is a
    broken device, not rounding.
    """
    import torch

    size = _PROBE_SIZE
    values = torch.arange(size * size, dtype=torch.float32).reshape(size, size)
    left, right = values.remainder(7) - 3, values.t().remainder(5) - 2
    expected = left @ right
    try:
        got = (left.to(device.torch_name) @ right.to(device.torch_name)).to("cpu")
    except Exception as exc:  # any failure of the device is the answer
        cause = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        return _broken(device, f"a {size}x{size} matmul on it raised {cause}")
    if tuple(got.shape) != tuple(expected.shape):
        return _broken(device, f"a {size}x{size} matmul on it returned shape {tuple(got.shape)}")
    error = float((got.to(torch.float32) - expected).abs().max())
    if not error == 0.0:  # NaN fails too
        return _broken(device, f"a {size}x{size} matmul on it differs from the CPU result "
                               f"(max abs error {error:g})")
    return None


def _broken(device: Device, what: str) -> str:
    text = f"{device}: torch reports it available but {what}"
    if device.kind == "mps":
        text += f"; {VIRTUALISED_MPS}"
    return text


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


def torch_pair_problems(version: Callable[[str], str | None]) -> list[str]:
    """torch and torchaudio must be one release pair; torchaudio does not declare it itself.

    ``version`` gives an installed distribution's version (``None``: not installed).
    """
    torch_version, audio_version = version("torch"), version("torchaudio")
    if torch_version is None or audio_version is None:
        return []
    if _minor(torch_version) != _minor(audio_version):
        return [f"torch {torch_version} and torchaudio {audio_version} are not a release pair "
                f"(torchaudio {_minor(audio_version)} needs torch {_minor(audio_version)}); "
                "install with the lock file: pip install -c requirements.lock ..."]
    try:
        import torchaudio  # noqa: F401
    except Exception as exc:  # the pair can still be broken (a CUDA build mismatch)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return [f"torchaudio {audio_version} cannot be imported with torch {torch_version} "
                f"({type(exc).__name__}: {first})"]
    return []


def _minor(version: str) -> str:
    return ".".join(version.split("+")[0].split(".")[:2])
