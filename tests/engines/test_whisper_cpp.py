"""whisper.cpp (pywhispercpp) on the bundled tiny.en converted to ggml: the converter read back tensor
by tensor, the file checks that keep whisper.cpp from crashing the process, honest devices
(builds simulated), decoding options and threads, and the doctor's known-broken av pair."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from types import SimpleNamespace

import numpy as np
import pytest
import pywhispercpp  # noqa: F401  (installed by the whisper-cpp extra: a broken install is an error, not a skip)

from asrbench.core.errors import EngineError, EngineUnavailable
from asrbench.engines import engine_class, parse_model_spec
from asrbench.engines.convert import read_ct2, whisper_state
from asrbench.engines.convert_ggml import (
    GgmlError,
    cached_ggml,
    expected_tensors,
    ggml_bytes,
    read_ggml,
    tensor_array,
    validate_ggml,
)
from asrbench.engines.spec import ModelSpec
from asrbench.engines.weights import bundled_ct2_model
from asrbench.hardware import runtimes
from asrbench.hardware.devices import Device
from asrbench.scoring.metrics import get_normaliser, score
from asrbench.testing import EngineContract

SOURCE = bundled_ct2_model()
CPU = Device("cpu")
CPU_BUILD = ("WHISPER : COREML = 0 | OPENVINO = 0 | CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | "
             "F16C = 1 | FMA = 1 | OPENMP = 1 | REPACK = 1 |")
METAL_BUILD = ("WHISPER : COREML = 0 | OPENVINO = 0 | MTL : EMBED_LIBRARY = 1 | CPU : NEON = 1 | "
               "ARM_FMA = 1 | FP16_VA = 1 | DOTPROD = 1 | ACCELERATE = 1 | REPACK = 1 |")
CUDA_BUILD = ("WHISPER : COREML = 0 | OPENVINO = 0 | CUDA : ARCHS = 890 | USE_GRAPHS = 1 | "
              "PEER_MAX_BATCH_SIZE = 128 | CPU : SSE3 = 1 | AVX2 = 1 | OPENMP = 1 | REPACK = 1 |")


class TestWhisperCppContract(EngineContract):
    @pytest.fixture
    def engine_class(self):
        return engine_class("whisper_cpp")


@pytest.fixture(scope="module")
def source_state():
    return whisper_state(read_ct2(SOURCE))


@pytest.fixture(scope="module")
def ggml_file(tmp_path_factory):
    return cached_ggml(SOURCE, tmp_path_factory.mktemp("ggml"))


@pytest.fixture(scope="module")
def cpp(cpu_model):
    return cpu_model("whisper_cpp")


def _simulate_build(monkeypatch, info: str) -> None:
    monkeypatch.setitem(runtimes._RUNTIMES, "whisper_cpp", runtimes.WhisperCppRuntime(lambda: info))


# ---- the converter ------------------------------------------------------------------------

def test_every_tensor_reads_back_equal_to_the_fp16_source(ggml_file, source_state):
    dims, state = source_state
    model = validate_ggml(ggml_file)
    assert dict(model.hparams) == {k: dims[k] for k in model.hparams}
    assert (model.ftype, model.filters, model.vocab) == (1, (80, 201), 50256)
    assert set(model.tensors) == set(state) == set(expected_tensors(model.hparams))
    assert len(model.tensors) == 167
    for name, source in state.items():
        assert source.dtype == np.float16, name  # the bundled model is fp16: the round trip is exact
        got = tensor_array(model, name)
        if name.endswith(("conv1.bias", "conv2.bias")):
            assert got.shape == (source.shape[0], 1), name
            got = got.reshape(-1)
        assert got.shape == source.shape, name
        kind = model.tensors[name].type
        if source.ndim >= 2 and "positional_embedding" not in name:
            assert (kind, got.dtype) == (1, np.float16), name
            np.testing.assert_array_equal(got, source, err_msg=name)
        else:  # biases, layer norms, positional embeddings: float32, exactly the fp16 values
            assert (kind, got.dtype) == (0, np.float32), name
            np.testing.assert_array_equal(got, source.astype(np.float32), err_msg=name)


def test_mel_filters_and_vocabulary_are_openai_whispers(ggml_file):
    import base64
    import importlib.util
    from pathlib import Path

    assets = Path(importlib.util.find_spec("whisper").origin).parent / "assets"
    data = ggml_file.read_bytes()
    start = 4 + 11 * 4 + 8
    filters = np.frombuffer(data, "<f4", count=80 * 201, offset=start).reshape(80, 201)
    np.testing.assert_array_equal(filters, np.load(assets / "mel_filters.npz")["mel_80"])
    first = base64.b64decode((assets / "gpt2.tiktoken").read_text().split()[0])
    offset = start + 80 * 201 * 4 + 4
    length = int.from_bytes(data[offset:offset + 4], "little")
    assert data[offset + 4:offset + 4 + length] == first


def test_conversion_is_cached_and_content_addressed(tmp_path):
    first = cached_ggml(SOURCE, tmp_path)
    stamp = first.stat().st_mtime_ns
    assert cached_ggml(SOURCE, tmp_path) == first
    assert first.stat().st_mtime_ns == stamp  # not rebuilt
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary file left


def test_cli_converts_to_ggml(tmp_path, capsys):
    from asrbench.cli import main

    assert main(["convert", str(SOURCE), str(tmp_path / "t.bin"), "--to", "ggml"]) == 0
    assert validate_ggml(tmp_path / "t.bin").vocab == 50256
    assert main(["convert", str(SOURCE), str(tmp_path / "x.bin"), "--to", "gguf"]) == 2
    assert "--to 'gguf': valid: 'whisper'" in capsys.readouterr().err


# ---- the checks before whisper.cpp sees a file ------------------------------------------------

def test_truncated_file_is_one_line_naming_it(ggml_file, tmp_path):
    cut = tmp_path / "cut.bin"
    cut.write_bytes(ggml_file.read_bytes()[:5_000_000])
    with pytest.raises(GgmlError, match=r"cut\.bin: truncated in tensor '.+' \(needs \d+ bytes") as err:
        validate_ggml(cut)
    assert "\n" not in str(err.value)


def test_all_float32_file_is_refused(source_state, tmp_path):
    f32 = tmp_path / "f32.bin"
    f32.write_bytes(ggml_bytes(*source_state, ftype=0))
    assert read_ggml(f32).tensors["encoder.conv1.weight"].type == 0  # well formed, but all f32
    with pytest.raises(GgmlError, match=r"f32\.bin: an all-float32 file \(ftype 0\); whisper\.cpp "
                                        r"aborts"):
        validate_ggml(f32)


def test_missing_tensor_wrong_shape_and_bad_magic(source_state, tmp_path):
    dims, state = source_state
    missing = tmp_path / "missing.bin"
    missing.write_bytes(ggml_bytes(dims, {k: v for k, v in state.items()
                                          if k != "decoder.ln.bias"}))
    with pytest.raises(GgmlError, match=r"166 tensors, whisper\.cpp expects 167: 1 missing "
                                        r"\(first 'decoder\.ln\.bias'\)"):
        validate_ggml(missing)
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(ggml_bytes({**dims, "n_text_ctx": 224}, state))
    with pytest.raises(GgmlError, match=r"'decoder\.positional_embedding' has shape \[448, 384\], "
                                        r"expected \[224, 384\]"):
        validate_ggml(wrong)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(GgmlError, match="not a ggml Whisper file"):
        validate_ggml(gguf)


@pytest.mark.parametrize("damage", ["truncate", "float32"])
def test_the_engine_refuses_a_bad_file_without_crashing(damage, ggml_file, source_state, tmp_path):
    """Given to whisper.cpp, these files crash or abort the process: the engine must stop first."""
    bad = tmp_path / f"{damage}.bin"
    if damage == "truncate":
        bad.write_bytes(ggml_file.read_bytes()[:-1000])
    else:
        bad.write_bytes(ggml_bytes(*source_state, ftype=0))
    code = textwrap.dedent(f"""
        from asrbench.core.errors import EngineError
        from asrbench.engines import engine_class, parse_model_spec
        from asrbench.hardware.devices import Device
        try:
            engine_class("whisper_cpp").load(parse_model_spec("whisper_cpp:{bad}"), Device("cpu"))
        except EngineError as exc:
            print("REFUSED", exc)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"REFUSED whisper_cpp:{bad}: {bad}: "), lines


# ---- honest devices ---------------------------------------------------------------------------

def test_a_build_without_metal_skips_mps_with_the_reason(monkeypatch):
    _simulate_build(monkeypatch, CPU_BUILD)
    cls = engine_class("whisper_cpp")
    assert cls.unsupported_reason(Device("mps")) is None  # the engine could; this build cannot
    reason = cls.device_unavailable(Device("mps"))
    assert reason == ("mps: Apple MPS is not available to this whisper.cpp build (no Metal backend; "
                      "its system info lists CPU)")
    assert "no CUDA backend" in str(cls.device_unavailable(Device("cuda", 0)))
    with pytest.raises(EngineUnavailable, match="no Metal backend"):
        cls.load(ModelSpec("whisper_cpp"), Device("mps"))


def test_metal_and_cuda_builds_offer_their_devices(monkeypatch):
    from asrbench.hardware import nvml

    cls = engine_class("whisper_cpp")
    _simulate_build(monkeypatch, METAL_BUILD)
    assert runtimes.get_runtime("whisper_cpp").backends() == ["Metal", "CPU"]
    assert cls.device_unavailable(Device("mps")) is None
    assert "no CUDA backend" in str(cls.device_unavailable(Device("cuda")))
    _simulate_build(monkeypatch, CUDA_BUILD)
    monkeypatch.setattr(nvml, "device_count", lambda: 2)
    assert cls.device_unavailable(Device("cuda", 1)) is None
    assert "only 2 CUDA device(s)" in str(cls.device_unavailable(Device("cuda", 2)))
    assert "no Metal backend" in str(cls.device_unavailable(Device("mps")))


def test_a_gpu_build_that_loads_on_the_cpu_is_not_a_gpu_result(monkeypatch):
    """The build claims Metal, but whisper.cpp's own load log finds no GPU (forced here, so on a
    Mac too): refused, not run on the CPU under the GPU's name."""
    from pywhispercpp import model as pw_model

    class NoGpu(pw_model.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "context_params": {"use_gpu": False}})

    monkeypatch.setattr(pw_model, "Model", NoGpu)
    _simulate_build(monkeypatch, METAL_BUILD)
    with pytest.raises(EngineUnavailable, match=r"on mps: whisper\.cpp found no GPU backend and "
                                                r"would run on CPU; not reported as a mps result"):
        engine_class("whisper_cpp").load(ModelSpec("whisper_cpp"), Device("mps"))


def test_the_backend_that_ran_is_recorded(cpp):
    from asrbench.engines.whisper_cpp import _backend

    info = cpp.info()
    assert (info["backend"], info["build_backends"][-1], info["precision"]) == (
        "whisper.cpp CPU", "CPU", "float16")
    assert cpp.weights_device() == "cpu"
    assert _backend("whisper_backend_init_gpu: using CUDA1 backend\n") == "CUDA1"
    assert _backend("whisper_backend_init_gpu: using MTL0 backend\nusing BLAS backend") == "MTL0"
    assert _backend("whisper_backend_init_gpu: no GPU found\n") == "CPU"


# ---- decoding, threads, batching --------------------------------------------------------------

def test_greedy_defaults_and_accuracy(cpp, smoke, cpu_transcripts):
    assert cpp.decode == {"language": "en", "beam_size": 1, "temperature": 0.0,
                          "without_timestamps": True}
    text = cpu_transcripts("whisper_cpp")[smoke[0].id]  # austen-0870, 22 words, by cpp
    assert text.startswith("And Mr. John Dashwood")
    assert score(smoke[0].text, text, get_normaliser("whisper-english")).wer == 0.0
    assert type(cpp).batch_unsupported_reason() == (
        "whisper_cpp: whisper.cpp transcribes one audio per whisper_full call (whisper_full_parallel "
        "splits one clip across processors; it does not batch clips)")


def test_beam_search_and_threads_reach_whisper_cpp(monkeypatch, smoke):
    from pywhispercpp import model as pw_model

    seen = []

    class Spy(pw_model.Model):  # a subclass: pywhispercpp calls Model._get_segments by name
        def __init__(self, *args, **kwargs):
            seen.append(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(pw_model, "Model", Spy)
    engine = engine_class("whisper_cpp").load(parse_model_spec("whisper_cpp,beam_size=3,threads=1"),
                                             CPU)
    assert (seen[0]["params_sampling_strategy"], seen[0]["beam_search"]["beam_size"]) == (1, 3)
    assert (seen[0]["n_threads"], seen[0]["temperature_inc"]) == (1, 0.0)
    assert engine.info()["threads"] == 1
    last = smoke[-1]  # austen-0930, 8 words
    assert score(last.text, engine.transcribe(last.audio), get_normaliser("whisper-english")).wer == 0.0


def test_session_threads_apply_to_whisper_cpp(tmp_path):
    from asrbench.bench.session import BenchSession
    from asrbench.config.options import Settings

    session = BenchSession(Settings.build(models=["whisper_cpp"], devices=["cpu"], datasets=[],
                                          max_wer=[], max_corpus_wer=[], base=tmp_path, threads=1))
    model = session.model(session.settings.models[0], CPU)
    info = model.load.info
    assert (info["threads"], info["threads_applied_to"], info["engine_info"]["threads"]) == (
        1, "whisper.cpp n_threads", 1)
    session.release()


def test_bad_options_and_names_are_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr("pywhispercpp.constants.MODELS_DIR", tmp_path)  # nothing downloaded
    cls = engine_class("whisper_cpp")
    with pytest.raises(EngineError, match="beam_size and threads must be at least 1"):
        cls.load(parse_model_spec("whisper_cpp,threads=0"), CPU)
    with pytest.raises(EngineError, match=r"whisper_cpp:\./absent\.bin: no such ggml file"):
        cls.load(ModelSpec("whisper_cpp", "./absent.bin"), CPU)
    with pytest.raises(EngineUnavailable, match=r"whisper_cpp:base\.en: not in the local cache and "
                                                "HF_HUB_OFFLINE is set"):
        cls.load(ModelSpec("whisper_cpp", "base.en"), CPU)  # never downloaded offline


# ---- doctor: the faster-whisper / av pair -----------------------------------------------------

@pytest.mark.parametrize(("fw", "av", "broken"), [
    ("1.2.1", "19.0.2", True), ("1.1.0", "19.0.0", True), ("1.2.1", "18.1.0", False),
    ("1.3.0", "19.0.2", False), (None, "19.0.2", False),
])
def test_doctor_reports_the_known_broken_av_pair(monkeypatch, fw, av, broken):
    from asrbench.cli import doctor

    versions = {"faster-whisper": fw, "av": av}
    monkeypatch.setattr(doctor, "_version", versions.get)
    problems = doctor.av_pair_problems()
    assert bool(problems) is broken
    if broken:
        assert problems == [
            f"faster-whisper {fw} and av {av} are a known-broken pair: faster-whisper on a file path "
            "fails (open() got an unexpected keyword argument 'metadata_errors'; av 19 removed it); "
            "asrbench passes arrays, but install av<19 with the lock file: pip install -c "
            "requirements.lock ..."]


def test_doctor_fails_on_the_broken_pair(monkeypatch, capsys):
    from asrbench.cli import doctor, main

    _simulate_build(monkeypatch, CPU_BUILD)
    real = doctor._version
    monkeypatch.setattr(doctor, "_version",
                        lambda name: {"av": "19.0.2", "faster-whisper": "1.2.1"}.get(name, real(name)))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "\n  faster-whisper 1.2.1 and av 19.0.2 are a known-broken pair" in out
    assert "whisper_cpp on mps: mps: Apple MPS is not available to this whisper.cpp build" in out


# ---- time to first text ---------------------------------------------------------------------

def test_first_text_is_the_first_segment_with_text(cpp, monkeypatch):
    from asrbench.engines.first_text import recording

    clock = [0.0]

    def transcribe(samples, new_segment_callback=None, **kwargs):
        segments = []
        for text, seconds in (("", 0.1), (" [BLANK_AUDIO]", 0.1), (" the first", 0.3),
                              (" and the rest", 0.5)):
            clock[0] += seconds
            segment = SimpleNamespace(text=text)
            segments.append(segment)
            if new_segment_callback is not None:
                new_segment_callback(segment)
        return segments

    monkeypatch.setattr(cpp._model, "transcribe", transcribe)
    with recording(lambda: clock[0]) as recorder:
        assert cpp.transcribe(np.zeros(16000, np.float32)) == "[BLANK_AUDIO] the first and the rest"
    # neither the empty segment nor the non-speech tag is text; the first words came at 0.5 s
    assert recorder.result(incremental=True).seconds == pytest.approx(0.5)
