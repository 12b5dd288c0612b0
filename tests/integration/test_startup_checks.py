"""What is cheap to check is checked at start-up, before any model loads: a usage error naming it."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import BASE  # type: ignore[import-not-found]

CPU = [*BASE, "--asr-device", "cpu", "--benchmark-disable"]


@pytest.mark.parametrize(("args", "message"), [
    (["--asr-model", "whisper:tiny.eng"], "*--asr-model 'whisper:tiny.eng': unknown whisper model "
     "'tiny.eng'; valid: tiny.en, tiny, base.en, *, turbo, or a path*"),
    (["--asr-model", "faster_whisper:huge"], "*unknown faster_whisper model 'huge'; valid: *"
     "distil-large-v3.5, or a path*"),
    (["--asr-max-wer", "inf"], "*--asr-max-wer: expected a finite number >= 0, got inf*"),
    (["--asr-max-corpus-wer", "-0.1"], "*--asr-max-corpus-wer: expected a number >= 0, got -0.1*"),
    (["--asr-max-wer", "nan"], "*--asr-max-wer: expected a number >= 0, got nan*"),
    (["--asr-timeout", "-1"], "*--asr-timeout -1.0: expected a number of seconds above 0*"),
    (["--asr-device", "cuda:x"], "*--asr-device 'cuda:x'*"),
])
def test_bad_settings_stop_the_run_before_any_model_loads(project, args, message):
    from stub_engine import StubEngine

    result = project.runpytest_inprocess(*CPU, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert StubEngine.loads == []


def test_unknown_pyproject_key_lists_the_valid_ones(project):
    project.makepyprojecttoml("[tool.asrbench]\ntime_out = 3\n")
    result = project.runpytest_inprocess(*CPU)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*[[]tool.asrbench[]] unknown key 'time_out'; valid: models, "
                                 "devices, *, timeout, allow_outside_paths, report_overwrite*"])


def test_the_new_settings_are_read_from_pyproject(project):
    project.makepyprojecttoml("[tool.asrbench]\ntimeout = 0\n")
    result = project.runpytest_inprocess(*CPU)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*[[]tool.asrbench[]] timeout 0: expected a number of seconds "
                                 "above 0*"])
    project.makepyprojecttoml("[tool.asrbench]\nreport_overwrite = true\n")
    (project.path / "r.json").write_text("{}")
    project.runpytest_inprocess(*CPU, "--asr-report", "r.json").assert_outcomes(passed=4)


def test_an_empty_dataset_is_a_usage_error_not_a_silent_pass(project):
    (project.path / "data" / "empty.jsonl").write_text("\n\n")
    result = project.runpytest_inprocess(*BASE, "--asr-dataset", "data/empty.jsonl")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*empty.jsonl: dataset 'empty' has no utterances*"])


def test_a_missing_audio_file_stops_the_run_naming_file_and_line(project):
    (project.path / "data" / "two.wav").unlink()
    result = project.runpytest_inprocess(*CPU)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*set.jsonl:2: audio file *two.wav does not exist*"])


def test_outside_paths_need_the_option(project):
    shared = project.path / "shared"
    shared.mkdir()
    shutil.copy(project.path / "data" / "one.wav", shared / "one.wav")
    (project.path / "data" / "set.jsonl").write_text(json.dumps(
        {"id": "one", "audio": "../shared/one.wav",
         "text": "the quick brown fox jumps over the lazy dog"}) + "\n")
    result = project.runpytest_inprocess(*CPU)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*set.jsonl:1: audio path '../shared/one.wav' leaves the "
                                 "manifest's folder *; move it inside or pass "
                                 "--asr-allow-outside-paths*"])
    project.runpytest_inprocess(*CPU, "--asr-allow-outside-paths").assert_outcomes(passed=2)
    project.makeini("[pytest]\nasr_allow_outside_paths = true\n")
    project.runpytest_inprocess(*CPU).assert_outcomes(passed=2)
