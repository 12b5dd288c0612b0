"""Bad input, broken models and interrupted runs: one line each, the run goes on, nothing is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asrbench.data.audio import load_audio
from conftest import BASE, REFERENCES, SAMPLES, write_answers  # type: ignore[import-not-found]

CPU = [*BASE, "--asr-device", "cpu", "--benchmark-disable", "-p", "no:randomly"]
TESTS = Path(__file__).parents[1]


def _tone(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.3 * np.sin(2 * np.pi * 220 * t)
    return np.stack([mono] * channels, axis=1) if channels > 1 else mono


def _bytes_cut(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def mixed_manifest(project: pytest.Pytester) -> tuple[dict[str, str], dict[str, str]]:
    """Add every kind of good and bad clip to ``data/set.jsonl``: (good id → text, bad id → cause).

    The stub answers each good clip with its reference, keyed by its decoded length.
    """
    data = project.path / "data"
    good = {
        "silence": (lambda p: sf.write(p, np.zeros(16800), 16000, subtype="PCM_16"), "wav"),
        "stereo": (lambda p: sf.write(p, _tone(1.1, 44100, 2), 44100, subtype="PCM_16"), "wav"),
        "six-channels": (lambda p: sf.write(p, _tone(1.15, 48000, 6), 48000), "wav"),
        "u8": (lambda p: sf.write(p, _tone(1.2, 8000), 8000, subtype="PCM_U8"), "wav"),
        "pcm24": (lambda p: sf.write(p, _tone(1.3, 48000), 48000, subtype="PCM_24"), "flac"),
        "float": (lambda p: sf.write(p, _tone(1.4, 22050), 22050, subtype="FLOAT"), "wav"),
        "ulaw": (lambda p: sf.write(p, _tone(1.55, 8000), 8000, subtype="ULAW"), "wav"),
        "cut-wav": (lambda p: (sf.write(p, _tone(3.3, 16000), 16000), _bytes_cut(p)), "wav"),
        "vorbis": (lambda p: sf.write(p, _tone(1.7, 32000), 32000, format="OGG"), "ogg"),
        "mp3": (lambda p: sf.write(p, _tone(1.8, 24000), 24000, format="MP3"), "mp3"),
    }
    bad = {
        "zero-bytes": (lambda p: p.write_bytes(b""), "wav", "cannot decode audio"),
        "random-bytes": (lambda p: p.write_bytes(np.random.default_rng(1).bytes(4000)), "wav",
                         "cannot decode audio"),
        "cut-flac": (lambda p: (sf.write(p, _tone(2.0, 16000), 16000), _bytes_cut(p)), "flac",
                     "cannot decode audio"),
        "nan": (lambda p: sf.write(p, np.where(np.arange(16000) == 5, np.nan, 0.1), 16000,
                                   subtype="FLOAT"), "wav", "samples contain NaN or infinity"),
        "inf": (lambda p: sf.write(p, np.where(np.arange(16000) == 5, np.inf, 0.1), 16000,
                                   subtype="FLOAT"), "wav", "samples contain NaN or infinity"),
        "too-short": (lambda p: sf.write(p, _tone(0.05, 16000), 16000), "wav",
                      "shorter than the 0.1 s minimum"),
    }
    lines = [json.dumps({"id": uid, "audio": f"{uid}.wav", "text": text})
             for uid, text in REFERENCES.items()]
    answers = {str(SAMPLES[uid]): text for uid, text in REFERENCES.items()}
    texts = {}
    for uid, (write, ext) in good.items():
        path = data / f"{uid}.{ext}"
        write(path)
        texts[uid] = "" if uid == "silence" else f"clip {uid.replace('-', ' ')}"
        key = str(len(load_audio(path)))
        assert key not in answers, f"{uid}: two clips of one length"
        answers[key] = texts[uid]
        lines.append(json.dumps({"id": uid, "audio": path.name, "text": texts[uid]}))
    causes = {}
    for uid, (write, ext, cause) in bad.items():
        path = data / f"{uid}.{ext}"
        write(path)
        causes[uid] = cause
        lines.append(json.dumps({"id": uid, "audio": path.name, "text": "anything"}))
    (data / "set.jsonl").write_text("\n".join(lines) + "\n")
    (project.path / "answers.json").write_text(json.dumps(answers))
    return {**REFERENCES, **texts}, causes


def test_mixed_manifest_runs_every_good_clip_and_fails_each_bad_one_in_one_line(project):
    good, bad = mixed_manifest(project)
    result = project.runpytest_inprocess(*CPU, "--asr-report", "r.json", "-rf")
    total = len(good) + len(bad)
    result.assert_outcomes(passed=len(good), failed=len(bad) + 1)  # + the corpus test
    out = result.stdout.str()
    lines = out.splitlines()
    for uid, cause in bad.items():
        # under the test's header, one line naming the file and the cause, and nothing else
        header = next(i for i, line in enumerate(lines)
                      if line.startswith("_") and f"[stub:answers.json-cpu-set-{uid}]" in line)
        reason = lines[header + 1]
        assert f"/data/{uid}." in reason, reason
        assert cause in reason, reason
        assert lines[header + 2].startswith(("_", "-", "=")), lines[header + 2]
        assert f"FAILED test_suite.py::test_utterance[stub:answers.json-cpu-set-{uid}]" in out
    assert "Traceback" not in out
    assert "audio.py" not in out
    assert "datasets.py" not in out
    result.stdout.fnmatch_lines([f"*set: {len(bad)} of {total} utterances failed: see above*"])
    report = json.loads((project.path / "r.json").read_text())
    assert report["complete"] is True
    assert {u["id"] for u in report["utterances"]} == set(good)
    assert all(u["wer"] == 0.0 for u in report["utterances"])
    failures = {f["id"]: f for f in report["failures"]}
    assert set(failures) == set(bad)
    for uid, cause in bad.items():
        assert cause in failures[uid]["message"]
        assert Path(failures[uid]["audio"]).name.startswith(f"{uid}.")
        assert failures[uid]["error_type"] == "AudioError"
        assert (failures[uid]["model"], failures[uid]["device"]) == ("stub:answers.json", "cpu")
    [run] = report["runs"]
    assert run["utterances"] == len(good)


def test_a_link_out_of_the_dataset_folder_stops_the_run_in_one_line(project):
    data = project.path / "data"
    outside = project.path / "outside"
    outside.mkdir()
    (data / "two.wav").rename(outside / "secret.wav")
    (data / "two.wav").symlink_to(outside / "secret.wav")
    result = project.runpytest_inprocess(*CPU)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    refusal = [line for line in result.stderr.lines if line.strip()]
    assert refusal == [f"ERROR: asrbench: {data / 'set.jsonl'}:2: audio path 'two.wav' leaves the "
                       f"manifest's folder {data} through a symbolic link (to "
                       f"{outside / 'secret.wav'}); move it inside or pass "
                       "--asr-allow-outside-paths"]
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    project.runpytest_inprocess(*CPU, "--asr-allow-outside-paths", "--asr-report", "r.json",
                                "--asr-report-overwrite", "--asr-html", "r.html"
                                ).assert_outcomes(passed=4)
    report = json.loads((project.path / "r.json").read_text())
    assert {u["id"] for u in report["utterances"]} == set(REFERENCES)  # "two", not "secret"
    # the run allowed the link, so its page plays every clip, the linked one included
    page = (project.path / "r.html").read_text()
    assert page.count('src="data:audio/wav;base64,') == len(REFERENCES)


def test_an_engine_exception_fails_that_utterance_only(project):
    answers = json.loads((project.path / "answers.json").read_text())
    answers[str(SAMPLES["two"])] = "!error"
    (project.path / "answers.json").write_text(json.dumps(answers))
    result = project.runpytest_inprocess(*CPU, "--asr-report", "r.json")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "*stub:answers.json on cpu, set/two (*two.wav): transcription failed "
        "(RuntimeError: stub engine broke)*",
        "*1 of 3 utterances failed: see above*"])
    assert "Traceback" not in result.stdout.str()
    report = json.loads((project.path / "r.json").read_text())
    assert [f["id"] for f in report["failures"]] == ["two"]
    assert report["failures"][0]["error_type"] == "EngineError"


def test_long_traceback_is_still_there_on_request(project):
    answers = {str(SAMPLES["two"]): "!error"}
    (project.path / "answers.json").write_text(json.dumps(answers))
    result = project.runpytest_inprocess(*CPU, "-k", "two", "--tb=long")
    result.stdout.fnmatch_lines(["*raise RuntimeError(\"stub engine broke\")*"])


def _two_models(project: pytest.Pytester, bad_answers: dict[str, str]) -> list[str]:
    (project.path / "bad.json").write_text(json.dumps(bad_answers))
    return ["--asr-model", "stub:bad.json", *CPU]


def test_a_load_failure_fails_every_test_of_that_model_with_the_reason_once(project):
    (project.path / "broken.json").write_text("{not json")
    # -rN: no short summary, whose lines repeat the messages in full where CI is set
    result = project.runpytest_inprocess("--asr-model", "stub:broken.json", *CPU,
                                         "--asr-report", "r.json", "-rN")
    # the broken model's three utterances and corpus fail; the good model's four pass
    result.assert_outcomes(passed=4, failed=4)
    out = result.stdout.str()
    assert out.count("stub:broken.json on cpu: load failed (JSONDecodeError") == 1
    assert out.count("stub:broken.json on cpu: not run, the model failed earlier") == 3
    assert "Traceback" not in out
    assert "ERROR" not in out
    report = json.loads((project.path / "r.json").read_text())
    assert sorted(f["id"] for f in report["failures"]) == ["one", "three", "two"]


def test_out_of_memory_frees_the_model_and_the_next_model_runs(project):
    args = _two_models(project, {str(SAMPLES["one"]): "!oom"})
    result = project.runpytest_inprocess(*args, "--asr-report", "r.json")
    result.assert_outcomes(passed=4, failed=4)
    result.stdout.fnmatch_lines([
        "*stub:bad.json on cpu, set/one (*one.wav): out of memory "
        "(MemoryError: stub: device out of memory); model released*",
        "*stub:bad.json on cpu: not run after an earlier failure*"])
    from stub_engine import StubEngine

    assert [spec for spec, _ in StubEngine.loads] == ["stub:bad.json", "stub:answers.json"]
    assert StubEngine.alive_at_load == [0, 0]  # the first model was gone before the second loaded
    report = json.loads((project.path / "r.json").read_text())
    assert sorted(f["id"] for f in report["failures"]) == ["one", "three", "two"]
    assert {u["model"] for u in report["utterances"]} == {"stub:answers.json"}


def test_timeout_fails_a_hung_transcription_and_the_run_goes_on(project, monkeypatch):
    monkeypatch.setenv("STUB_HANG", "3")
    args = _two_models(project, {str(SAMPLES["one"]): REFERENCES["one"],
                                 str(SAMPLES["two"]): "!hang"})
    result = project.runpytest_inprocess(*args, "--asr-timeout", "0.5")
    result.assert_outcomes(passed=4 + 1, failed=3)  # 'one' of the hung model passed before
    result.stdout.fnmatch_lines([
        "*stub:bad.json on cpu, set/two (*two.wav): no answer after --asr-timeout 0.5 s*",
        "*stub:bad.json on cpu: not run after an earlier failure (*--asr-timeout 0.5 s)*"])


def test_timeout_must_be_positive(project):
    result = project.runpytest_inprocess(*CPU, "--asr-timeout", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--asr-timeout 0.0: expected a number of seconds above 0*"])


def test_ctrl_c_leaves_a_valid_report_marked_incomplete(project):
    write_answers(project, two="!hang")  # 'one' passes at once; 'two' hangs until interrupted
    env = {**os.environ, "STUB_HANG": "60", "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    # a shell's background job starts with SIGINT ignored, and Python then keeps ignoring it: the
    # child gets the default disposition back, so it sees Ctrl-C however the suite was started
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *CPU, "-v", "--asr-report", "r.json"],
        cwd=project.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "PASSED" in line:  # one utterance done, the next one is hanging in the engine
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.communicate(timeout=60)[0]
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, "".join(seen) + rest
    assert "KeyboardInterrupt" in rest
    report = json.loads((project.path / "r.json").read_text())
    assert report["complete"] is False
    assert [u["id"] for u in report["utterances"]] == ["one"]
    assert report["runs"][0]["utterances"] == 1
    assert sorted(p.name for p in project.path.iterdir() if p.name.startswith(".r.json")) == []


def test_a_crashed_session_still_writes_its_report_marked_incomplete(project):
    project.makeconftest(
        "from stub_engine import StubEngine\n"
        "from asrbench.engines import register_engine\n"
        "register_engine('stub', StubEngine)\n"
        "def pytest_runtest_logreport(report):\n"
        "    if report.when == 'call' and 'two' in report.nodeid:\n"
        "        raise RuntimeError('a plugin bug')\n")
    result = project.runpytest_inprocess(*CPU, "--asr-report", "r.json")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    report = json.loads((project.path / "r.json").read_text())
    assert report["complete"] is False
    assert [u["id"] for u in report["utterances"]] == ["one", "two"]


def test_stopping_early_with_x_marks_the_report_incomplete(project):
    (project.path / "answers.json").write_text(json.dumps({str(SAMPLES["one"]): "wrong"}))
    project.runpytest_inprocess(*CPU, "-x", "--asr-report", "r.json")
    assert json.loads((project.path / "r.json").read_text())["complete"] is False


def test_an_existing_report_is_not_overwritten_unless_asked(project):
    project.runpytest_inprocess(*CPU, "--asr-report", "r.json").assert_outcomes(passed=4)
    first = (project.path / "r.json").read_text()
    result = project.runpytest_inprocess(*CPU, "--asr-report", "r.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--asr-report *r.json: file exists (an earlier run's results); "
                                 "choose another path, or pass --asr-report-overwrite*"])
    assert (project.path / "r.json").read_text() == first
    project.runpytest_inprocess(*CPU, "--asr-report", "r.json", "--asr-report-overwrite"
                                ).assert_outcomes(passed=4)
    assert (project.path / "r.json").read_text() != first


def test_an_existing_benchmark_json_is_not_overwritten_unless_asked(project):
    args = [*BASE, "--asr-device", "cpu", "--benchmark-json", "b.json"]
    project.runpytest_inprocess(*args).assert_outcomes(passed=4)
    quiet = ["-W", "ignore::pytest_benchmark.logger.PytestBenchmarkWarning"]  # nothing was run
    result = project.runpytest_inprocess(*args, *quiet)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--benchmark-json b.json: file exists*"])
    project.runpytest_inprocess(*args, "--asr-report-overwrite").assert_outcomes(passed=4)
    assert json.loads((project.path / "b.json").read_text())["asrbench"]["complete"] is True


def test_report_files_get_the_usual_permissions(project):
    old = os.umask(0o022)
    try:
        project.runpytest_inprocess(*CPU, "--asr-report", "r.json").assert_outcomes(passed=4)
    finally:
        os.umask(old)
    assert (project.path / "r.json").stat().st_mode & 0o777 == 0o644
