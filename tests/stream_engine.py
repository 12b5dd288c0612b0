"""A natively streaming fake engine with a known schedule, for the streaming plugin tests.

The model "name" is a JSON file mapping a clip's amplitude (its first sample, two decimals) to its
reference words ``[[word, start, end], ...]``: the session learns which clip it is fed from the
first chunk. Each word is shown once the audio received passes its end + ``lag`` seconds (0.5),
and committed with it. ``mode`` changes that:

- ``exact``: as above, compute time whatever the clock reads (a test installs :data:`CLOCK`);
- ``rewrite``: the first word is shown wrong ("wrongly") until 1 s after it is first shown, and
  committed only once right (erasure > 0, no violation);
- ``violate``: as ``rewrite``, but the wrong first word is committed (a commit violation);
- ``slow``: as ``exact``, each chunk advancing :data:`CLOCK` by twice its audio (2x real time).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from asrbench.engines.base import Engine
from asrbench.engines.spec import ModelSpec
from asrbench.engines.streaming import StreamPolicy, StreamUpdate
from asrbench.hardware.devices import Device

RATE = 16000


class FakeClock:
    """A compute clock that only a ``slow`` session advances."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


CLOCK = FakeClock()


class ScheduleSession:
    compute_clock = "thread_cpu"

    def __init__(self, scripts: dict[str, list[list[Any]]], mode: str, lag: float) -> None:
        self.scripts, self.mode, self.lag = scripts, mode, lag
        self.words: list[list[Any]] = []
        self.samples = 0

    def accept(self, chunk: np.ndarray) -> StreamUpdate:
        if self.samples == 0:
            self.words = self.scripts[f"{abs(float(chunk[0])):.2f}"]
        self.samples += len(chunk)
        if self.mode == "slow":
            CLOCK.now += 2 * len(chunk) / RATE
        return self._update(self.samples / RATE, final=False)

    def finish(self) -> StreamUpdate:
        return self._update(self.samples / RATE, final=True)

    def _update(self, cursor: float, *, final: bool) -> StreamUpdate:
        shown = [w for w, _, end in self.words if final or end + self.lag <= cursor + 1e-9]
        committed = list(shown)
        if self.mode in ("rewrite", "violate") and shown and not final:
            right = self.words[0][2] + self.lag + 1.0 <= cursor + 1e-9
            if not right:
                shown[0] = "wrongly"
                committed = shown[:1] if self.mode == "violate" else []
        return StreamUpdate(" ".join(shown), " ".join(committed))

    def describe(self) -> dict[str, Any]:
        return {"policy": "native", "schedule": self.mode, "lag": self.lag}


class ScheduleEngine(Engine):
    name = "schedule"
    devices = frozenset({"cpu", "cuda", "mps"})
    default_model = "scripts.json"
    runtime = "ctranslate2"  # nothing to synchronise, no torch threads
    native_streaming = True
    options: ClassVar[dict[str, Any]] = {"mode": str, "lag": float}

    def __init__(self, scripts: dict[str, list[list[Any]]], device: Device, mode: str,
                 lag: float) -> None:
        self.scripts, self.device, self.mode, self.lag = scripts, device, mode, lag

    @classmethod
    def load(cls, spec: ModelSpec, device: Device) -> ScheduleEngine:
        scripts = json.loads(Path(spec.model or cls.default_model).read_text())
        return cls(scripts, device, str(spec.option("mode", "exact")),
                   float(spec.option("lag", 0.5)))

    def transcribe(self, audio: np.ndarray) -> str:
        """Offline: the whole reference, except in ``rewrite`` mode's first word."""
        words = self.scripts[f"{abs(float(audio[0])):.2f}"]
        return " ".join(w for w, _, _ in words)

    def start_stream(self, policy: StreamPolicy | None = None) -> ScheduleSession:
        return ScheduleSession(self.scripts, self.mode, self.lag)
