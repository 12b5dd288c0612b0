"""The model's first call after loading: once per load, the first utterance's first warm-up."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from asrbench.bench import runner
from asrbench.bench.results import ModelKey
from asrbench.config.options import Settings
from asrbench.core.errors import EngineError
from asrbench.data.formats import load_datasets
from asrbench.engines import registry as base
from asrbench.hardware.devices import Device
from stub_engine import StubEngine  # type: ignore[import-not-found]


@pytest.fixture
def session(tmp_path, monkeypatch):
    from asrbench.bench.session import BenchSession

    monkeypatch.setitem(base._registered, "stub", StubEngine)
    base.engine_class.cache_clear()
    lines = []
    for n in range(3):
        sf.write(tmp_path / f"c{n}.wav", np.zeros(1600 + n, np.int16), 16000)
        lines.append(json.dumps({"id": f"c{n}", "audio": f"c{n}.wav", "text": "hello"}))
    (tmp_path / "set.jsonl").write_text("\n".join(lines) + "\n")
    settings = Settings.build(models=["stub,text=hello", "stub,text=other"], devices=["cpu"],
                              datasets=["set.jsonl"], max_wer=[], max_corpus_wer=[],
                              base=tmp_path, warmup=1, rounds=2)
    yield BenchSession(settings, datasets=load_datasets(settings.datasets))
    base.engine_class.cache_clear()


def _measure(session, spec, uid):
    dataset = session.datasets.datasets[0]
    model = session.model(spec, Device("cpu"))
    item = next(i for i in dataset.items if i.id == uid)
    result = runner.measure_utterance(session, model, session.utterance(dataset, item))
    return model, result


def test_the_first_call_is_the_first_warm_up_and_is_made_once(session):
    spec = session.settings.models[0]
    model, first = _measure(session, spec, "c0")
    assert model.engine.calls == 1 + 2  # first call (the warm-up) + 2 rounds, no call more
    assert first.warmup_latencies[0] == session.models.first_calls[ModelKey(spec.label, "cpu")]
    _measure(session, spec, "c1")
    assert model.engine.calls == 3 + 1 + 2  # its own warm-up + rounds


def test_a_model_loaded_again_gets_a_cold_first_call_again(session):
    one, other = session.settings.models
    _, before = _measure(session, one, "c0")
    _measure(session, other, "c0")  # releases the first model
    reloaded, again = _measure(session, one, "c1")
    assert reloaded.engine.calls == 1 + 2
    # the reported first call is the reloaded model's, made on c1 as its first warm-up
    assert session.models.first_calls[ModelKey(one.label, "cpu")] == again.warmup_latencies[0]
    assert again.warmup_latencies[0] != before.warmup_latencies[0]


def test_a_failed_first_call_is_not_tried_again(session, monkeypatch):
    spec = session.settings.models[0]
    model = session.model(spec, Device("cpu"))
    real = StubEngine.transcribe

    def broken_once(self, audio):
        if self.calls == 0:
            self.calls += 1
            raise RuntimeError("cold start failed")
        return real(self, audio)

    monkeypatch.setattr(StubEngine, "transcribe", broken_once)
    with pytest.raises(EngineError, match="cold start failed"):
        _measure(session, spec, "c0")
    _, result = _measure(session, spec, "c1")
    assert model.engine.calls == 1 + 1 + 2  # the failed call, then c1's warm-up and rounds
    assert len(result.warmup_latencies) == 1
    assert ModelKey(spec.label, "cpu") not in session.models.first_calls  # no first-call latency
