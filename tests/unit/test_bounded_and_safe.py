"""Memory stays bounded on long audio; files are written whole, with normal permissions."""

from __future__ import annotations

import json
import os
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from asrbench.bench import audio_cache
from asrbench.bench.guard import call_with_timeout, is_out_of_memory, one_line
from asrbench.bench.session import BenchSession
from asrbench.config.options import Settings
from asrbench.core.files import write_atomic
from asrbench.data.audio import load_audio
from asrbench.data.datasets import Dataset, UtteranceSpec
from asrbench.plugin.persist import Checkpoints


def test_a_long_multichannel_file_never_sits_in_memory_with_all_its_channels(tmp_path):
    frames, channels = 16000 * 120, 4  # two minutes, four channels, already at 16 kHz
    path = tmp_path / "long.wav"
    with sf.SoundFile(path, "w", 16000, channels, subtype="PCM_16") as handle:
        block = (np.random.default_rng(0).uniform(-0.5, 0.5, (16000 * 10, channels)))
        for _ in range(12):
            handle.write(block)
    tracemalloc.start()
    try:
        audio = load_audio(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    mono = frames * 4
    assert len(audio) == frames
    # the output and a block in flight; reading every channel at once would take 4x the output
    assert peak < 2 * mono, f"peak {peak / 2**20:.0f} MiB for {mono / 2**20:.0f} MiB of audio"


def test_the_audio_cache_keeps_memory_bounded(tmp_path, monkeypatch):
    items = []
    for uid in "abcd":
        sf.write(tmp_path / f"{uid}.wav", np.zeros(16000, np.int16), 16000)
        items.append(UtteranceSpec(uid, tmp_path / f"{uid}.wav", "x"))
    data = Dataset("d", "d", tuple(items))
    monkeypatch.setattr(audio_cache, "AUDIO_CACHE_BYTES", 2 * 16000 * 4)
    bench = BenchSession(Settings.build(datasets=["smoke"]))
    for item in items:
        bench.utterance(data, item)
    assert [uid for _, uid in bench.audio] == ["c", "d"]  # the two most recent clips
    assert bench.utterance(data, items[3]) is bench.utterance(data, items[3])


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_umask_permissions(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "r.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == mode
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_checkpoints_write_an_incomplete_report_while_the_run_goes(tmp_path):
    path = tmp_path / "r.json"
    keeper = Checkpoints(path, lambda complete: {"complete": complete, "n": 1}, every=0)
    keeper.pytest_runtest_logfinish()
    assert json.loads(path.read_text()) == {"complete": False, "n": 1}


def test_call_with_timeout_returns_raises_or_gives_up():
    assert call_with_timeout(lambda: 3, None, what="x") == 3
    assert call_with_timeout(lambda: 4, 5.0, what="x") == 4
    with pytest.raises(ZeroDivisionError):
        call_with_timeout(lambda: 1 / 0, 5.0, what="x")
    with pytest.raises(Exception, match=r"^slow: no answer after --asr-timeout 0.05 s$"):
        call_with_timeout(lambda: __import__("time").sleep(1), 0.05, what="slow")


def test_out_of_memory_is_recognised_in_its_forms():
    import torch

    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"))
    assert is_out_of_memory(RuntimeError("CUDA failed with error out of memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert one_line(ValueError("two\nlines")) == "ValueError: two lines"
