"""A stub engine for the plugin's own tests: canned answers, every device, counted loads.

The model "name" is a JSON file mapping a sample count to the text to return, so a test controls
exactly what each utterance is transcribed as; unknown lengths get ``default`` from the same file.
Three answers misbehave instead: ``!error`` raises, ``!oom`` raises ``MemoryError`` as a device out
of memory would, ``!hang`` sleeps ``STUB_HANG`` seconds (default 5).
"""

from __future__ import annotations

import json
import os
import time
import weakref
from pathlib import Path
from typing import ClassVar

from asrbench.core.errors import EngineUnavailable
from asrbench.engines.base import Engine
from asrbench.engines.spec import ModelSpec
from asrbench.hardware.devices import Device


class _Version(str):
    """A version string of its own type, as torch's ``torch.__version__`` is."""


class StubEngine(Engine):
    name = "stub"
    devices = frozenset({"cpu", "cuda", "mps"})
    default_model = "answers.json"
    # weights: where the stub claims its weights are after loading (default: the requested device)
    options: ClassVar[dict[str, type]] = {"text": str, "precision": str, "weights": str}
    loads: ClassVar[list[tuple[str, str]]] = []
    #: Every instance made, weakly: a test sees whether a released model was really freed.
    instances: ClassVar[list[weakref.ref[StubEngine]]] = []
    #: How many earlier instances were still alive as each load began.
    alive_at_load: ClassVar[list[int]] = []
    batches: ClassVar[list[int]] = []

    def __init__(self, answers: dict[str, str], device: Device, fixed: str | None,
                 weights: str | None = None) -> None:
        self.answers = answers
        self.device = device
        self.fixed = fixed
        self.weights = weights
        self.calls = 0

    @classmethod
    def load(cls, spec: ModelSpec, device: Device) -> StubEngine:
        fixed = spec.option("text", None)
        answers: dict[str, str] = {}
        if fixed is None:
            path = Path(spec.model or cls.default_model)
            if not path.is_file():
                raise EngineUnavailable(f"stub:{path}: answers file missing")
            answers = json.loads(path.read_text())
        cls.loads.append((str(spec), str(device)))
        cls.alive_at_load.append(sum(ref() is not None for ref in cls.instances))
        engine = cls(answers, device, fixed, spec.option("weights", None))
        cls.instances.append(weakref.ref(engine))
        return engine

    def transcribe(self, audio) -> str:
        self.calls += 1
        time.sleep(float(os.environ.get("STUB_SLEEP", "0")))  # lets a test make a run slower
        if self.fixed is not None:
            return self.fixed
        answer = self.answers.get(str(len(audio)), self.answers.get("default", ""))
        if answer == "!error":
            raise RuntimeError("stub engine broke")
        if answer == "!oom":
            raise MemoryError("stub: device out of memory")
        if answer == "!crash":  # the process dies, as a segfaulting native engine would
            os._exit(3)
        if answer == "!hang":
            time.sleep(float(os.environ.get("STUB_HANG", "5")))
        return answer

    def weights_device(self) -> str:
        return self.weights or str(self.device)

    def transcribe_batch(self, audio) -> list[str]:
        """One sleep of ``STUB_BATCH_SLEEP`` per batch, whatever its size; sizes are recorded."""
        StubEngine.batches.append(len(audio))
        time.sleep(float(os.environ.get("STUB_BATCH_SLEEP", "0")))
        if self.fixed is not None:
            return [self.fixed] * len(audio)
        return [self.answers.get(str(len(a)), self.answers.get("default", "")) for a in audio]

    def info(self) -> dict[str, object]:
        # a str subclass, as torch's TorchVersion is: it must reach reports (and, under
        # pytest-xdist, cross from a worker to the controller) as the plain string
        return {"precision": "float32", "engine_version": _Version("stub")}
