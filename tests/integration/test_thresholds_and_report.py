"""WER thresholds, bad configuration and the JSON report, through pytester."""

from __future__ import annotations

import json

import pytest

from conftest import BASE, write_answers  # type: ignore[import-not-found]

CPU = [*BASE, "--asr-device", "cpu", "--benchmark-disable"]


def test_wrong_transcript_fails_with_reference_and_hypothesis(project):
    write_answers(project, two="he was an ill posed young man")
    result = project.runpytest_inprocess(*CPU, "--asr-max-wer", "0.05")
    result.assert_outcomes(passed=2, failed=2)  # utterance two and the corpus
    result.stdout.fnmatch_lines([
        "*set/two: WER 25.0% > 5.0%*",
        "*reference:  he was not an ill disposed young man*",
        "*hypothesis: he was an ill posed young man*",
        "*corpus WER 8.0% (95% CI *) > 5.0%*"])


def test_threshold_from_pyproject_per_model_and_dataset(project):
    write_answers(project, two="he was an ill posed young man")  # 2 errors in 8 words
    project.makepyprojecttoml("""
        [tool.asrbench]
        max_wer = 0.0
        max_corpus_wer = 0.0
        [tool.asrbench.max_corpus_wer]
        "stub:*@set" = 0.1
    """.replace("max_corpus_wer = 0.0\n        [tool", "[tool"))
    result = project.runpytest_inprocess(*CPU)
    # utterance two exceeds 0 %, the corpus (2 / 25 words = 8 %) passes its 10 % rule
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*test_utterance*stub:answers.json-cpu-set-two*"])


def test_command_line_threshold_replaces_the_default(project):
    write_answers(project, two="he was an ill posed young man")
    project.makepyprojecttoml("[tool.asrbench]\nmax_wer = 0.0\n")
    assert project.runpytest_inprocess(*CPU).ret == 1
    project.runpytest_inprocess(*CPU, "--asr-max-wer", "0.3").assert_outcomes(passed=4)


def test_ini_rules(project):
    write_answers(project, two="he was an ill posed young man")
    project.makeini("""
        [pytest]
        asr_max_wer =
            0.0
            stub:*@set = 0.3
    """)
    project.runpytest_inprocess(*CPU).assert_outcomes(passed=4)


@pytest.mark.parametrize(("toml", "message"), [
    ("[tool.asrbench]\nmaxwer = 0.2\n", "*unknown key 'maxwer'; valid: *max_wer*"),
    ("[tool.asrbench]\nmax_wer = 'low'\n", "*max_wer: expected a number, got 'low'*"),
    ("[tool.asrbench.max_wer]\n'@set' = 0.2\n", "*names no model*"),
    ("[tool.asrbench]\nmax_wer = -1\n", "*max_wer: expected a number >= 0, got -1*"),
])
def test_bad_pyproject_is_a_usage_error_naming_the_key(project, toml, message):
    project.makepyprojecttoml(toml)
    result = project.runpytest_inprocess(*CPU)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


@pytest.mark.parametrize(("args", "message"), [
    (["--asr-device", "gpu"],
     "*--asr-device 'gpu': unknown device; valid: cpu, cuda, cuda:N, mps*"),
    (["--asr-model", "nemo"],
     # engines that other tests' in-process runs registered (the streaming tests' ``schedule``)
     # may be listed too, in order
     ("*unknown engine 'nemo'; valid: faster_whisper, lfm2_5_audio, mlx_whisper, pocketsphinx, "
      "*stub, transformers, whisper, whisper_cpp*")),
    (["--asr-model", "stub,beam=3"], "*unknown option 'beam'; valid: precision, text*"),
    (["--asr-dataset", "missing.jsonl"], "*--asr-dataset 'missing.jsonl': no such file or folder*"),
    (["--asr-normalizer", "fancy"], "*--asr-normalizer 'fancy': unknown*"),
    (["--asr-rounds", "0"], "*--asr-rounds 0: must be at least 1*"),
])
def test_bad_options_are_usage_errors(project, args, message):
    result = project.runpytest_inprocess(*BASE, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_bad_manifest_line_names_file_and_line(project):
    (project.path / "bad.jsonl").write_text('{"audio": "data/one.wav", "text": "x"}\n{"audio": 3}\n')
    result = project.runpytest_inprocess("--asr-model", "stub", "--asr-dataset", "bad.jsonl")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bad.jsonl:2: 'audio' and 'text' must both be strings*"])


def test_report_has_runs_and_utterances_and_no_temp_files(project):
    write_answers(project, three="she sells sea shells")
    result = project.runpytest_inprocess(*BASE, "--asr-device", "cpu", "--asr-device", "mps",
                                         "--asr-report", "out/report.json", "--asr-max-wer", "0.3")
    result.assert_outcomes(passed=3, failed=1, skipped=4)  # utterance three fails
    report = json.loads((project.path / "out" / "report.json").read_text())
    [run] = report["runs"]
    for key in ("model", "device", "dataset", "utterances", "audio_seconds", "wer", "cer", "rtf",
                "rtfx", "latency_p50", "latency_p95", "load_seconds", "wer_ci95", "normaliser"):
        assert key in run, key
    assert (run["model"], run["device"], run["dataset"], run["utterances"]) == (
        "stub:answers.json", "cpu", "set", 3)
    assert run["word_errors"] == {"substitutions": 0, "deletions": 4, "insertions": 0,
                                  "reference_tokens": 25}
    assert run["wer"] == pytest.approx(4 / 25)
    assert run["normaliser"].startswith("whisper-english (whisper-normalizer ")
    assert len(report["utterances"]) == 3
    for key in ("id", "model", "device", "dataset", "reference", "hypothesis", "wer", "latency", "rtf"):
        assert key in report["utterances"][0], key
    assert report["skipped"][0]["device"] == "mps"
    assert "Apple MPS is not available" in report["skipped"][0]["reason"]
    assert sorted(p.name for p in (project.path / "out").iterdir()) == ["report.json"]


def test_benchmark_json_carries_wer_and_rtf(project):
    project.runpytest_inprocess(*BASE, "--asr-device", "cpu", "--benchmark-json", "bench.json")
    data = json.loads((project.path / "bench.json").read_text())
    infos = [b["extra_info"] for b in data["benchmarks"]]
    assert len(infos) == 3
    for info in infos:
        for key in ("wer", "cer", "rtf", "audio_seconds", "model", "device", "dataset",
                    "reference", "hypothesis"):
            assert key in info, key
    assert data["asrbench"]["runs"][0]["wer"] == 0.0
    assert "asrbench" in data["machine_info"]


def test_corpus_test_alone_transcribes_what_it_needs(project):
    result = project.runpytest_inprocess(*CPU, "-k", "corpus", "--asr-report", "r.json")
    result.assert_outcomes(passed=1)
    assert len(json.loads((project.path / "r.json").read_text())["utterances"]) == 3


def test_report_and_saved_benchmark_state_the_same_memory_figures(project):
    # the last model's memory watch is frozen before either file is written
    project.runpytest_inprocess(*BASE, "--asr-device", "cpu", "--benchmark-json", "bench.json",
                                "--asr-report", "out.json")
    report = json.loads((project.path / "out.json").read_text())
    saved = json.loads((project.path / "bench.json").read_text())["asrbench"]
    memory = [{k: v for k, v in run.items() if k.startswith("memory_")} for run in report["runs"]]
    assert memory[0]["memory_kind"].startswith("cpu peak RSS")
    assert memory == [{k: v for k, v in run.items() if k.startswith("memory_")}
                      for run in saved["runs"]]
