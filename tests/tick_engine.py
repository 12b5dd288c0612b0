"""An engine on a fake clock, for the measurement protocol's plugin tests.

Call k (0-based, counted per load) "takes" ``FIRST`` seconds for the first call and ``k`` seconds
after that, advancing :data:`CLOCK`; a test installs it as :data:`asrbench.bench.protocol.CLOCK`, so every
recorded latency says exactly which call it came from.
"""

from __future__ import annotations

from typing import ClassVar

from asrbench.engines.base import Engine
from asrbench.engines.spec import ModelSpec
from asrbench.hardware.devices import Device

FIRST = 1000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


CLOCK = FakeClock()


class TickEngine(Engine):
    name = "tick"
    devices = frozenset({"cpu", "cuda", "mps"})
    default_model = "tick"
    runtime = "ctranslate2"  # nothing to synchronise, no torch threads
    instances: ClassVar[list[TickEngine]] = []

    def __init__(self, device: Device) -> None:
        self.device = device
        self.calls = 0

    @classmethod
    def load(cls, spec: ModelSpec, device: Device) -> TickEngine:
        engine = cls(device)
        cls.instances.append(engine)
        return engine

    def transcribe(self, audio: object) -> str:
        CLOCK.now += FIRST if self.calls == 0 else float(self.calls)
        self.calls += 1
        return "the quick brown fox jumps over the lazy dog"
