"""One thread setting for every engine, on the real engines."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from asrbench.bench.session import BenchSession
from asrbench.config.options import Settings
from asrbench.hardware import threads
from asrbench.hardware.devices import Device

CPU = Device("cpu")


def _session(tmp_path, model: str, **settings) -> BenchSession:
    return BenchSession(Settings.build(models=[model], devices=["cpu"], datasets=[], max_wer=[],
                                       max_corpus_wer=[], base=tmp_path, **settings))


def test_available_threads_follow_affinity_then_omp(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 2, 5}, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert threads.available() == (3, "CPU affinity")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.available() == (2, "OMP_NUM_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "16")  # more than we may use: affinity wins
    assert threads.available() == (3, "CPU affinity")
    assert threads.requested() == 3
    with threads.using(1):
        assert threads.requested() == 1


def test_faster_whisper_gets_the_session_threads(tmp_path, monkeypatch):
    import faster_whisper

    seen = []
    real = faster_whisper.WhisperModel

    def spy(*args, **kwargs):
        seen.append(kwargs["cpu_threads"])
        return real(*args, **kwargs)

    monkeypatch.setattr(faster_whisper, "WhisperModel", spy)
    session = _session(tmp_path, "faster_whisper", threads=1)
    model = session.model(session.settings.models[0], CPU)
    assert seen == [1]
    info = model.load.info
    assert (info["threads"], info["threads_applied_to"], info["engine_info"]["cpu_threads"]) == (
        1, "ctranslate2 cpu_threads", 1)
    session.release()


def test_torch_engines_get_the_same_threads(tmp_path, monkeypatch):
    import torch

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("ASRBENCH_CACHE_DIR", str(tmp_path / "cache"))
        session = _session(tmp_path, "whisper", threads=1)
        model = session.model(session.settings.models[0], CPU)
        assert torch.get_num_threads() == 1
        assert (model.load.info["torch_threads"], model.load.info["threads_applied_to"]) == (
            1, "torch intra-op threads")
        session.release()
    finally:
        torch.set_num_threads(before)


def test_faster_whisper_never_imports_torch(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from asrbench.config.options import Settings
        from asrbench.hardware.devices import Device
        from asrbench.data.datasets import load_dataset
        from asrbench.bench.session import BenchSession
        from asrbench.bench import runner
        settings = Settings.build(models=["faster_whisper"], devices=["cpu"], datasets=[],
                                  max_wer=[], max_corpus_wer=[], base=Path({str(tmp_path)!r}),
                                  threads=1, rounds=1, warmup=0)
        session = BenchSession(settings)
        model = session.model(settings.models[0], Device("cpu"))
        data = load_dataset("smoke")
        summary = runner.corpus_summary(session, model, data)
        assert summary.info["memory_bytes"] > 0, summary.info
        print("torch" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("value", [0, -2, "two", True])
def test_bad_thread_counts_are_config_errors(tmp_path, value):
    from asrbench.core.errors import ConfigError

    with pytest.raises(ConfigError, match="threads"):
        _session(tmp_path, "faster_whisper", threads=value)
