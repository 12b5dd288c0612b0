"""Parametrization, test ids, markers, device skips and model caching, through pytester."""

from __future__ import annotations

import json

import pytest

from conftest import BASE  # type: ignore[import-not-found]
from stub_engine import StubEngine


def _collected(project: pytest.Pytester, *args: str) -> list[str]:
    result = project.runpytest_inprocess(*BASE, "--collect-only", "-q", *args)
    return [line for line in result.outlines if "::" in line]


def test_ids_read_model_device_dataset_utterance(project):
    ids = _collected(project, "--asr-device", "cpu")
    assert ids == [
        "test_suite.py::test_utterance[stub:answers.json-cpu-set-one]",
        "test_suite.py::test_utterance[stub:answers.json-cpu-set-two]",
        "test_suite.py::test_utterance[stub:answers.json-cpu-set-three]",
        "test_suite.py::test_corpus[stub:answers.json-cpu-set]",
    ]


def test_default_devices_are_cpu_cuda_mps(project):
    ids = _collected(project)
    assert len(ids) == 12
    assert {i.split("-")[1] for i in ids} == {"cpu", "cuda", "mps"}


@pytest.mark.parametrize("device", ["mps", "cuda"])
def test_marker_selects_exactly_one_device(project, device):
    ids = _collected(project, "-m", device)
    assert len(ids) == 4
    assert all(f"-{device}-" in i or i.endswith(f"-{device}-set]") for i in ids)


def test_marker_combines_device_and_engine(project):
    ids = _collected(project, "-m", "cpu and stub")
    assert len(ids) == 4
    assert all("-cpu-" in i for i in ids)
    assert _collected(project, "-m", "cpu and faster_whisper") == []


def test_absent_devices_skip_with_a_reason(project, monkeypatch):
    from asrbench.hardware.runtimes import TorchRuntime

    monkeypatch.setattr(TorchRuntime, "unavailable_reason",
                        lambda self, d: None if d.kind == "cpu" else f"{d}: not on this test machine")
    result = project.runpytest_inprocess(*BASE, "-rs")
    result.assert_outcomes(passed=4, skipped=8)
    result.stdout.fnmatch_lines(["*SKIPPED*cuda: not on this test machine*",
                                 "*SKIPPED*mps: not on this test machine*"])


def test_mps_on_linux_skips_with_the_real_check(project):
    result = project.runpytest_inprocess(*BASE, "-m", "mps", "-rs")
    result.assert_outcomes(skipped=4)
    result.stdout.fnmatch_lines(["*Apple MPS is not available*"])


def test_faster_whisper_on_mps_skips_with_the_ctranslate2_reason(project):
    result = project.runpytest_inprocess(
        "--asr-model", "faster_whisper", "--asr-device", "mps", "--asr-dataset", "data/set.jsonl",
        "-rs")
    result.assert_outcomes(skipped=4)
    result.stdout.fnmatch_lines(["*CTranslate2 has no MPS backend*"])


def test_each_model_loads_once_per_device(project, monkeypatch):
    from asrbench.hardware.runtimes import TorchRuntime

    monkeypatch.setattr(TorchRuntime, "unavailable_reason", lambda self, d: None)
    monkeypatch.setattr(TorchRuntime, "synchronize", lambda self, d: None)
    monkeypatch.setattr(TorchRuntime, "reset_peak_memory", lambda self, d: None)
    monkeypatch.setattr(TorchRuntime, "peak_memory", lambda self, d: (None, "simulated"))
    monkeypatch.setattr(TorchRuntime, "describe", lambda self, d: f"simulated {d}")
    monkeypatch.setattr(TorchRuntime, "empty_cache", lambda self, d: None)
    project.makepyfile(test_more="""
        def test_again(asr_model, utterance):
            assert asr_model.transcribe(utterance.audio)
    """)
    # -p no:randomly is irrelevant here; ordering is asrbench's own
    result = project.runpytest_inprocess(*BASE, "--asr-model", "stub:answers.json,precision=x",
                                         "--benchmark-disable")
    result.assert_outcomes(passed=2 * 3 * (4 + 3))
    assert sorted(StubEngine.loads) == sorted(
        (spec, device) for spec in ("stub:answers.json", "stub:answers.json,precision=x")
        for device in ("cpu", "cuda", "mps"))


def test_fixtures_work_from_a_users_own_test_file(pytester):
    pytester.makepyfile("""
        def test_mine(asr_model, utterance, asr_benchmark):
            result = asr_benchmark(asr_model, utterance)
            assert result.hypothesis == "fixed words"
            assert result.audio_seconds == utterance.duration > 1
    """)
    pytester.makeconftest(
        "from stub_engine import StubEngine\n"
        "from asrbench.engines import register_engine\n"
        "register_engine('stub', StubEngine)\n")
    result = pytester.runpytest_inprocess("--asr-model", "stub,text=fixed words",
                                          "--asr-device", "cpu", "--benchmark-disable")
    result.assert_outcomes(passed=5)  # the bundled smoke set's five clips


def test_a_broken_engine_errors_its_tests_instead_of_skipping(project, break_import):
    from test_cli import TORCHAUDIO_MISMATCH  # type: ignore[import-not-found]

    break_import("liquid_audio", TORCHAUDIO_MISMATCH)
    result = project.runpytest_inprocess(
        "--asr-model", "lfm2_5_audio:some/folder", "--asr-device", "cpu",
        "--asr-dataset", "data/set.jsonl", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped", 0) == 0
    assert outcomes.get("failed", 0) == 4  # three utterances and the corpus test, in one line
    result.stdout.fnmatch_lines(["*liquid-audio 1.3.0 is installed but cannot be imported "
                                 "(RuntimeError: Detected that PyTorch and TorchAudio*"])


@pytest.mark.parametrize(("selection", "listed"), [("cpu", False), ("mps", True)])
def test_skip_summary_lists_only_selected_tests(project, selection, listed):
    result = project.runpytest_inprocess(
        *BASE, "--asr-model", "faster_whisper", "-m", selection, "--co", "--asr-report", "r.json")
    report = json.loads((project.path / "r.json").read_text())
    skipped = {(s["model"], s["device"]) for s in report["skipped"]}
    lines = [line for line in result.stdout.lines if "faster_whisper:tiny.en / mps" in line]
    assert bool(lines) == listed
    assert (("faster_whisper:tiny.en", "mps") in skipped) == listed
    if not listed:
        assert not [s for s in skipped if s[1] in ("mps", "cuda")]


def test_header_line_names_what_runs(project):
    result = project.runpytest_inprocess(*BASE, "--co", "--asr-device", "cpu")
    result.stdout.fnmatch_lines(["asrbench: models stub:answers.json; devices cpu; "
                                 "datasets set (3 utterances); normaliser whisper-english"])


def test_cache_dir_option_is_where_weights_go(project):
    project.makepyfile(test_cache=(
        "from asrbench.engines import weights\n"
        "def test_folder(asr_session):\n"
        "    assert weights.cache_dir() == asr_session.settings.cache_dir\n"
        "    assert weights.cache_dir().name == 'w'\n"))
    project.runpytest_inprocess(*BASE, "--asr-cache-dir", "w", "test_cache.py").assert_outcomes(passed=1)
    from asrbench.engines import weights

    assert weights.cache_dir().name != "w"  # forgotten at the end of the run
