"""A pytester project with a three-clip dataset and the stub engine registered."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SUITE = Path(__file__).parents[1] / "benchmarks" / "test_transcribe.py"

REFERENCES = {
    "one": "the quick brown fox jumps over the lazy dog",
    "two": "he was not an ill disposed young man",
    "three": "she sells sea shells by the sea shore",
}
SAMPLES = {"one": 16000, "two": 24000, "three": 32000}


@pytest.fixture(autouse=True)
def _reset_stub():
    from stub_engine import StubEngine

    StubEngine.loads.clear()
    StubEngine.instances.clear()
    StubEngine.alive_at_load.clear()
    StubEngine.batches.clear()
    return


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project folder: ``data/set.jsonl``, ``answers.json`` (perfect answers), the suite file."""
    data = pytester.path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    lines = []
    for uid, text in REFERENCES.items():
        samples = (rng.standard_normal(SAMPLES[uid]) * 0.1).astype(np.float32)
        sf.write(data / f"{uid}.wav", samples, 16000, subtype="PCM_16")
        lines.append(json.dumps({"id": uid, "audio": f"{uid}.wav", "text": text}))
    (data / "set.jsonl").write_text("\n".join(lines) + "\n")
    answers = {str(SAMPLES[uid]): text for uid, text in REFERENCES.items()}
    (pytester.path / "answers.json").write_text(json.dumps(answers))
    pytester.makeconftest(
        "from stub_engine import StubEngine\n"
        "from asrbench.engines import register_engine\n"
        "register_engine('stub', StubEngine)\n"
    )
    pytester.makepyfile(test_suite=SUITE.read_text())
    return pytester


def write_answers(project: pytest.Pytester, **overrides: str) -> None:
    """Replace the answer for some utterance ids (by id) in ``answers.json``."""
    answers = {str(SAMPLES[uid]): text for uid, text in REFERENCES.items()}
    for uid, text in overrides.items():
        answers[str(SAMPLES[uid])] = text
    (project.path / "answers.json").write_text(json.dumps(answers))


BASE = ["--asr-model", "stub:answers.json", "--asr-dataset", "data/set.jsonl", "-p", "no:cacheprovider"]
