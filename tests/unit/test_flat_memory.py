"""Flat memory: decoded audio is held in a small bounded cache, never for the whole session."""

from __future__ import annotations

import gc
import json
import weakref

import numpy as np
import pytest
import soundfile as sf

from asrbench.bench import runner
from asrbench.bench.audio_cache import AUDIO_CACHE_SIZE
from asrbench.bench.session import BenchSession
from asrbench.config.options import Settings
from asrbench.data.formats import load_datasets
from asrbench.engines import registry as base
from asrbench.hardware.devices import Device
from stub_engine import StubEngine

CLIPS = 3 * AUDIO_CACHE_SIZE


@pytest.fixture
def session(tmp_path, monkeypatch):
    monkeypatch.setitem(base._registered, "stub", StubEngine)
    base.engine_class.cache_clear()
    lines = []
    for n in range(CLIPS):
        sf.write(tmp_path / f"c{n}.wav", np.zeros(1600 + n, np.int16), 16000)
        lines.append(json.dumps({"id": f"c{n}", "audio": f"c{n}.wav", "text": "hello"}))
    (tmp_path / "big.jsonl").write_text("\n".join(lines) + "\n")
    settings = Settings.build(models=["stub,text=hello"], devices=["cpu"],
                              datasets=["big.jsonl"], max_wer=[], max_corpus_wer=[],
                              base=tmp_path)
    yield BenchSession(settings, datasets=load_datasets(settings.datasets))
    base.engine_class.cache_clear()


def test_audio_cache_is_bounded_and_least_recently_used(session):
    dataset = session.datasets.datasets[0]
    first = session.utterance(dataset, dataset.items[0])
    assert session.utterance(dataset, dataset.items[0]) is first  # a repeat is a cache hit
    for item in dataset.items:
        session.utterance(dataset, item)
        assert len(session.audio) <= AUDIO_CACHE_SIZE
    assert [uid for _, uid in session.audio] == [i.id for i in dataset.items[-AUDIO_CACHE_SIZE:]]
    assert session.utterance(dataset, dataset.items[0]) is not first  # evicted, decoded again


def test_a_whole_dataset_run_keeps_results_but_not_audio(session):
    """After every clip is transcribed and scored, at most the cache's clips are still alive."""
    dataset = session.datasets.datasets[0]
    model = session.model(session.settings.models[0], Device("cpu"))
    alive: list[weakref.ref[np.ndarray]] = []
    original = dataset.load

    def load(item):
        utterance = original(item)
        alive.append(weakref.ref(utterance.audio))
        return utterance

    object.__setattr__(dataset, "load", load)  # the frozen dataset, watched for this test only
    summary = runner.corpus_summary(session, model, dataset)
    gc.collect()
    assert summary.utterances == CLIPS
    assert len(session.store) == CLIPS
    assert len(alive) == CLIPS
    assert sum(ref() is not None for ref in alive) <= AUDIO_CACHE_SIZE
