"""LFM2.5-Audio engine on a tiny random checkpoint, through the real liquid-audio code path.

A random model says nothing meaningful: these tests check plumbing (device placement, audio
conversion, token filtering, stop and truncation, timing), not accuracy.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from lfm_tiny import build_tiny_lfm  # type: ignore[import-not-found]

from asrbench.core.errors import EngineError, EngineUnavailable
from asrbench.engines import engine_class, parse_model_spec
from asrbench.engines.lfm import TranscriptTruncated, token_budget
from asrbench.hardware.devices import Device

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:transformers.*")


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    return build_tiny_lfm(tmp_path_factory.mktemp("lfm") / "tiny")


def _load(folder, device="cpu", extra=""):
    spec = parse_model_spec(f"lfm2_5_audio:{folder}{extra}")
    return engine_class("lfm2_5_audio").load(spec, Device(device))


@pytest.fixture(scope="module")
def engine(tiny):
    return _load(tiny, extra=",max_new_tokens=6")


@pytest.fixture
def no_cuda(monkeypatch):
    """Any use of CUDA fails the test."""
    def fail(*args, **kwargs):
        raise AssertionError("CUDA was touched")

    monkeypatch.setattr(torch.cuda, "_lazy_init", fail)
    monkeypatch.setattr(torch.Tensor, "cuda", fail)
    monkeypatch.setattr(torch.nn.Module, "cuda", fail)


def test_real_path_on_cpu_runs_and_reports_truncation(tiny, no_cuda):
    engine = _load(tiny, extra=",max_new_tokens=6")
    assert not engine._model.training
    assert next(engine._model.parameters()).device.type == "cpu"
    assert engine._processor.device.type == "cpu"
    assert engine.info()["precision"] == "float32"
    audio = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    with pytest.warns(TranscriptTruncated, match="6 new tokens used without an end of turn"):
        text = engine.transcribe(audio)
    assert isinstance(text, str)


def test_mps_loads_on_cpu_then_moves(tiny, monkeypatch, no_cuda):
    from liquid_audio import LFM2AudioModel

    loads, moves = [], []
    real_from_pretrained = LFM2AudioModel.from_pretrained.__func__
    real_to = torch.nn.Module.to

    def spy_from_pretrained(cls, folder, **kwargs):
        loads.append((type(folder).__name__, kwargs["device"]))
        return real_from_pretrained(cls, folder, **kwargs)

    def spy_to(self, *args, **kwargs):
        target = args[0] if args else kwargs.get("device")
        if str(target).startswith("mps"):
            moves.append(type(self).__name__)
            return self  # no Metal here: record the move instead of making it
        return real_to(self, *args, **kwargs)

    monkeypatch.setattr(LFM2AudioModel, "from_pretrained", classmethod(spy_from_pretrained))
    monkeypatch.setattr(torch.nn.Module, "to", spy_to)
    engine = _load(tiny, device="mps")
    assert loads == [("PosixPath", "cpu")]  # a Path (a str goes to the hub), on the CPU
    assert "LFM2AudioModel" in moves
    assert "AudioToMelSpectrogramPreprocessor" in moves
    assert engine.info()["precision"] == "float32"


@pytest.mark.parametrize(("data", "rate"), [
    (np.zeros(16000, np.float32), 16000),
    (np.zeros((16000, 1), np.float32), 16000),
    (np.zeros((16000, 2), np.float32), 16000),
    (np.zeros(16000, np.int16), 16000),
    (np.zeros(44100, np.float32), 44100),
], ids=["1-D", "N-by-1", "stereo", "int16", "44.1kHz"])
def test_any_input_reaches_add_audio_as_float32_1_by_n_at_16k(engine, monkeypatch, data, rate):
    from liquid_audio import ChatState

    seen = []

    class Stop(Exception):
        pass

    def capture(self, wave, sampling_rate):
        seen.append((wave.dtype, tuple(wave.shape), sampling_rate))
        raise Stop

    monkeypatch.setattr(ChatState, "add_audio", capture)
    with pytest.raises(Stop):
        engine.transcribe(data, rate)
    assert seen == [(torch.float32, (1, 16000), 16000)]


def test_only_text_tokens_are_kept_and_generation_stops_at_end_of_turn(engine, monkeypatch):
    tokenizer = engine._processor.text
    words = tokenizer.encode("hello world", add_special_tokens=False)
    consumed = []

    def script(**kwargs):
        text = [[w] for w in words]
        for item in [*text[:3], [128], list(range(8)), *text[3:], [7], [99]]:
            consumed.append(item)
            yield torch.tensor(item)

    monkeypatch.setattr(engine._model, "generate_sequential", script)
    assert engine.transcribe(np.zeros(8000, np.float32)) == "hello world"
    assert consumed[-1] == [7]  # nothing read past the end of turn


def test_default_token_budget_grows_with_audio_and_beats_the_library_default():
    assert token_budget(1.0) > 20
    assert token_budget(30.0) > token_budget(5.0) >= 3 * 5 * 1.5


def test_the_whole_clip_goes_into_one_conversation_by_default(engine, monkeypatch):
    lengths = []
    monkeypatch.setattr(engine, "_turn", lambda wave: lengths.append(wave.shape[1]) or "x")
    assert engine.transcribe(np.zeros(16000 * 70, np.float32)) == "x"
    assert lengths == [16000 * 70]
    assert engine.info()["chunk_seconds"] == "none (whole clip)"


def test_chunking_only_when_asked(tiny, monkeypatch):
    engine = _load(tiny, extra=",chunk_seconds=30")
    lengths = []
    monkeypatch.setattr(engine, "_turn", lambda wave: lengths.append(wave.shape[1]) or "x")
    assert engine.transcribe(np.zeros(16000 * 70, np.float32)) == "x x x"
    assert lengths == [480000, 480000, 160000]


@pytest.fixture
def flash_attn_installed(monkeypatch):
    """``flash_attn`` looks installed (it is not: using it would fail)."""
    import importlib.machinery
    import importlib.util

    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name == "flash_attn":
            return importlib.machinery.ModuleSpec("flash_attn", None)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_flash_attention_is_not_used_off_cuda_even_when_installed(tiny, flash_attn_installed,
                                                                  no_cuda):
    engine = _load(tiny, extra=",max_new_tokens=2")
    assert engine._model.lfm.config._attn_implementation == "sdpa"
    assert engine.info()["attn_implementation"] == "sdpa"
    with pytest.warns(TranscriptTruncated):
        assert isinstance(engine.transcribe(np.zeros(16000, np.float32)), str)


def test_flash_attention_is_chosen_on_cuda_only_when_installed(monkeypatch):
    from asrbench.engines.lfm import default_attention

    assert default_attention(Device("cuda")) == "sdpa"  # not installed here
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a, **k: object())
    assert default_attention(Device("cuda", 1)) == "flash_attention_2"
    assert default_attention(Device("mps")) == "sdpa"
    assert default_attention(Device("cpu")) == "sdpa"


def test_attention_and_chunk_options_are_checked(tiny):
    from asrbench.core.errors import ConfigError

    with pytest.raises(ConfigError, match="valid: sdpa, flash_attention_2, eager"):
        parse_model_spec(f"lfm2_5_audio:{tiny},attn_implementation=fast")
    with pytest.raises(ConfigError, match="must be > 0"):
        parse_model_spec(f"lfm2_5_audio:{tiny},chunk_seconds=0")
    engine = _load(tiny, extra=",attn_implementation=eager")
    assert engine._model.lfm.config._attn_implementation == "eager"


def test_missing_parameter_is_an_error(tiny, tmp_path):
    from safetensors.torch import load_file, save_file

    broken = tmp_path / "broken"
    broken.mkdir()
    for item in tiny.iterdir():
        (broken / item.name).write_bytes(item.read_bytes())
    state = load_file(str(tiny / "model.safetensors"))
    dropped = next(k for k in state if k.startswith("audio_adapter.") and k.endswith(".weight"))
    del state[dropped]
    save_file(state, str(broken / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(EngineError, match=f"1 parameters not in the checkpoint.*{dropped}"):
        _load(broken)


def test_offline_without_cached_weights_is_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(EngineUnavailable, match=r"LiquidAI/LFM2\.5-Audio-1\.5B: not in the local "
                       r"cache and HF_HUB_OFFLINE is set"):
        _load("LiquidAI/LFM2.5-Audio-1.5B")


def test_suite_runs_the_tiny_checkpoint_through_the_plugin(pytester, tiny):
    pytester.makepyfile(test_suite=(
        __import__("pathlib").Path(__file__).parents[1] / "benchmarks" / "test_transcribe.py"
    ).read_text())
    result = pytester.runpytest_inprocess(
        "--asr-model", f"lfm2_5_audio:{tiny},max_new_tokens=4", "--asr-device", "cpu",
        "--asr-device", "mps", "--asr-device", "cuda", "--asr-max-wer", "1000", "--asr-rounds", "1",
        "--asr-report", "r.json", "-W", "ignore::UserWarning", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6, skipped=12)
    result.stdout.fnmatch_lines(["*Apple MPS is not available*"])
    report = json.loads((pytester.path / "r.json").read_text())
    [run] = report["runs"]
    assert run["model"] == "lfm2_5_audio:tiny,max_new_tokens=4"
    assert run["engine_info"]["precision"] == "float32"
    assert run["latency_p50"] > 0
    assert run["load_seconds"] > 0


def test_weights_are_reported_where_they_are(engine):
    assert engine.weights_device() == "cpu"


def test_streams_through_local_agreement(engine):
    """Plumbing only (the random model's words mean nothing): three decodes, the last one on the
    whole clip, and the final hypothesis all committed."""
    audio = np.random.default_rng(1).standard_normal(40_000).astype(np.float32) * 0.1
    session = engine.start_stream()
    import torch

    # torch in this process: the process's CPU clock, the calling thread's on one intra-op thread
    assert session.compute_clock == ("thread_cpu" if torch.get_num_threads() == 1 else "process_cpu")
    assert session.describe()["prompt_used"] is False
    with pytest.warns(TranscriptTruncated):
        updates = [session.accept(audio[i:i + 8000]) for i in range(0, len(audio), 8000)]
    with pytest.warns(TranscriptTruncated):
        final = session.finish()
    assert session.decodes == 3  # at 1.0 s and 2.0 s (min_chunk_s), then the rest at finish
    assert updates[0].partial == ""
    assert final.partial == final.committed
    assert final.committed.split()[:len(updates[-1].committed.split())] == updates[-1].committed.split()
