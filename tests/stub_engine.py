"""A stub engine for the plugin's own tests: canned answers, every device, counted loads.

The model "name" is a JSON file mapping a sample count to the text to return, so a test controls
exactly what each utterance is transcribed as; unknown lengths get ``default`` from the same file.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import ClassVar

from asrbench.devices import Device
from asrbench.engines.base import Engine, ModelSpec
from asrbench.errors import EngineUnavailable


class StubEngine(Engine):
    name = "stub"
    devices = frozenset({"cpu", "cuda", "mps"})
    default_model = "answers.json"
    options: ClassVar[dict[str, type]] = {"text": str, "precision": str}
    loads: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, answers: dict[str, str], device: Device, fixed: str | None) -> None:
        self.answers = answers
        self.device = device
        self.fixed = fixed
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
        return cls(answers, device, fixed)

    def transcribe(self, audio) -> str:
        self.calls += 1
        time.sleep(float(os.environ.get("STUB_SLEEP", "0")))  # lets a test make a run slower
        if self.fixed is not None:
            return self.fixed
        return self.answers.get(str(len(audio)), self.answers.get("default", ""))

    def info(self) -> dict[str, object]:
        return {"precision": "float32", "engine_version": "stub"}
