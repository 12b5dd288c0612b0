"""Devices: the :class:`Device` value and the parser of ``cpu``/``cuda``/``cuda:N``/``mps``.

A value only: nothing here asks any library whether a device exists. Whether a device can be used,
and which one ``auto`` means on this machine, are the runtimes' answers
(:mod:`asrbench.hardware.runtimes`, :func:`~asrbench.hardware.runtimes.resolve_device`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from asrbench.core.errors import ConfigError

__all__ = ["DEFAULT_DEVICES", "KINDS", "Device", "parse_device"]

KINDS = ("cpu", "cuda", "mps")
DEFAULT_DEVICES = ("cpu", "cuda", "mps")
_DEVICE_RE = re.compile(r"^(cpu|cuda|mps)(?::(\d+))?$")


@dataclass(frozen=True, order=True)
class Device:
    """A torch-style device name split into kind (``cpu``, ``cuda``, ``mps``) and index."""

    kind: str
    index: int | None = None
    #: Why ``--asr-device auto`` chose this device; ``None`` when it was named.
    chosen: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.kind if self.index is None else f"{self.kind}:{self.index}"

    @property
    def label(self) -> str:
        """The name, with how ``auto`` chose it when it did."""
        return str(self) if self.chosen is None else f"{self} ({self.chosen})"

    @property
    def torch_name(self) -> str:
        """The name torch accepts; bare ``cuda`` means the current CUDA device."""
        return str(self)


def parse_device(name: str) -> Device:
    """Parse a named device; raise :class:`ConfigError` naming the valid forms.

    ``auto`` depends on this machine, so it is not a name this parser resolves: the device option
    is read with :func:`asrbench.hardware.runtimes.resolve_device`, which asks the runtimes.
    """
    if name.strip().lower() == "auto":
        raise ConfigError("--asr-device 'auto': the best device of this machine is chosen by "
                          "asrbench.hardware.runtimes.resolve_device, not parse_device")
    match = _DEVICE_RE.match(name.strip().lower())
    if match is None:
        raise ConfigError(
            f"--asr-device {name!r}: unknown device; valid: cpu, cuda, cuda:N, mps, auto"
        )
    kind, index = match.groups()
    if kind != "cuda" and index is not None:
        raise ConfigError(f"--asr-device {name!r}: only cuda takes an index (cuda:N)")
    return Device(kind, int(index) if index is not None else None)
