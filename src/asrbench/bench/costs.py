"""Energy per model × device: which counters speak for it, idle power before it, the run's labels.

For each loaded model the counters of :func:`asrbench.hardware.energy.counters_for` are probed once;
the readable ones are read just outside the clock around every timed call (see
:class:`asrbench.bench.protocol.Timer`). After the model's first call and before its measured calls,
each readable counter is read over a quiet interval as long as the run is expected to be (the first
call's seconds × measured calls), capped at :data:`IDLE_CAP_SECONDS` (the label says so): the idle
power that the net figures subtract. A counter that cannot be read gives ``null`` with the reason;
nothing is ever estimated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asrbench.bench.figures import ENERGY_PARTS
from asrbench.bench.results import ModelKey
from asrbench.hardware import energy
from asrbench.hardware.devices import Device
from asrbench.hardware.energy import CounterUnavailable, EnergyMeter, IdleReading

__all__ = ["IDLE_CAP_SECONDS", "EnergyCosts"]

#: The longest idle interval measured before a model's calls (the run's expected length, capped).
IDLE_CAP_SECONDS = 10.0


@dataclass
class _Meters:
    meters: list[tuple[str, EnergyMeter]]
    labels: dict[str, Any]
    idle_measured: bool = False


@dataclass
class EnergyCosts:
    """The energy counters of each model × device, and their idle power, for one session."""

    _by_model: dict[ModelKey, _Meters] = field(default_factory=dict)

    def meters(self, key: ModelKey, device: Device) -> list[tuple[str, EnergyMeter]]:
        """The readable counters for ``key``, by report prefix (probed once per model × device)."""
        found = self._by_model.get(key)
        if found is None:
            found = self._by_model[key] = _probe(device)
        return found.meters

    def measure_idle(self, key: ModelKey, device: Device, expected_seconds: float) -> None:
        """Idle power of each readable counter, once per model × device, before its measured calls."""
        self.meters(key, device)
        found = self._by_model[key]
        if found.idle_measured:
            return
        found.idle_measured = True
        seconds = max(min(expected_seconds, IDLE_CAP_SECONDS), 0.0)
        for prefix, meter in found.meters:
            idle: IdleReading = meter.measure_idle(seconds)
            watts = idle.watts
            if watts is not None:
                found.labels[f"{prefix}idle_watts"] = watts
            else:
                found.labels[f"{prefix}idle_watts_reason"] = (idle.reading.reason
                                                              or "idle interval had no length")
            found.labels[f"{prefix}idle_seconds"] = idle.reading.seconds
            found.labels[f"{prefix}idle_method"] = (
                f"same counter over {seconds:.1f} s of doing nothing after the first call, before "
                f"the measured calls: the run's expected length, capped at {IDLE_CAP_SECONDS:g} s")

    def facts(self, key: ModelKey) -> dict[str, Any]:
        """The run's energy labels: method, scope, sampling, idle power; or the reason per counter."""
        found = self._by_model.get(key)
        if found is None:
            return {f"{p}energy_reason": "no timed call made" for p in ENERGY_PARTS[:1]}
        return dict(found.labels)


def _probe(device: Device) -> _Meters:
    counters = energy.counters_for(device.kind, device.index)
    prefixes = ENERGY_PARTS[: len(counters)]
    meters: list[tuple[str, EnergyMeter]] = []
    labels: dict[str, Any] = {}
    for prefix in ENERGY_PARTS[len(counters):]:
        labels[f"{prefix}energy_reason"] = labels[f"{prefix}idle_watts_reason"] = (
            f"no separate host counter on a {device.kind} run (energy_joules is the host's)")
    for prefix, counter in zip(prefixes, counters, strict=True):
        labels[f"{prefix}energy_method"] = counter.method
        labels[f"{prefix}energy_scope"] = counter.scope
        labels[f"{prefix}energy_sampling"] = counter.sampling
        try:
            counter.read()
        except CounterUnavailable as exc:
            labels[f"{prefix}energy_reason"] = str(exc)
            labels[f"{prefix}idle_watts_reason"] = str(exc)
            continue
        meters.append((prefix, EnergyMeter(counter)))
    return _Meters(meters, labels)
