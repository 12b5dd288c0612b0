"""``--asr-require-device``: a run fails unless each required device measured at least one utterance.

A device leg of a CI workflow must not end green with every test skipped. The gate is checked once
the results are in; each missing device gives one line naming it and why each of its skips
happened, and the run's exit status becomes a failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from asrbench.core.errors import ConfigError
from asrbench.hardware.devices import Device, parse_device

if TYPE_CHECKING:
    from asrbench.config.settings import Settings

__all__ = ["matches", "missing_devices"]


def matches(required: Device, measured: str) -> bool:
    """Whether a result on ``measured`` counts for ``required``: bare ``cuda`` takes any index."""
    try:
        device = parse_device(measured)
    except ConfigError:  # a device string asrbench does not know is not the one required
        return False
    if device.kind != required.kind:
        return False
    return required.index is None or (device.index or 0) == required.index


def missing_devices(settings: Settings, measured: Iterable[str],
                    skipped: Mapping[tuple[str, str], str]) -> list[str]:
    """Lines for each required device without a measured utterance (empty: the gate passes)."""
    seen = set(measured)
    lines: list[str] = []
    for required in settings.require_devices:
        if any(matches(required, device) for device in seen):
            continue
        why = [f"{model} on {device}: {reason}" for (model, device), reason in skipped.items()
               if matches(required, device)]
        lines.append(f"--asr-require-device {required}: no utterance was measured on {required}; "
                     + _cause(required, settings.devices, why))
    return lines


def _cause(required: Device, devices: Sequence[Device], why: list[str]) -> str:
    if why:
        return "skipped: " + "; ".join(why)
    if not any(d.kind == required.kind and (required.index is None or d.index == required.index
                                           or (d.index is None and required.index == 0))
               for d in devices):
        shown = ", ".join(str(d) for d in devices)
        return f"it is not among the devices run (--asr-device {shown})"
    return "no test on it ran (deselected, or failed before a result)"
