"""Throughput mode through pytester: batches, the reported RTFx, opt-in, unsupported engines."""

from __future__ import annotations

import json
import statistics

import pytest

from asrbench.reporting.schema import validate
from conftest import BASE, SAMPLES, write_answers  # type: ignore[import-not-found]

CPU = [*BASE, "--asr-device", "cpu", "--asr-warmup", "0"]
AUDIO_SECONDS = sum(SAMPLES.values()) / 16000  # 4.5 s over the three clips
SLEEP = 0.05


def _report(project: pytest.Pytester) -> dict:
    return json.loads((project.path / "out.json").read_text())


def test_throughput_is_off_unless_a_batch_size_is_given(project):
    result = project.runpytest_inprocess(*CPU)
    result.assert_outcomes(passed=4, deselected=4)  # the throughput test, and 3 streaming ones
    assert "throughput (batched" not in result.stdout.str()


def test_throughput_reports_batched_rtfx_beside_one_at_a_time(project, monkeypatch):
    from stub_engine import StubEngine

    monkeypatch.setenv("STUB_BATCH_SLEEP", str(SLEEP))
    result = project.runpytest_inprocess(*CPU, "--asr-batch-size", "2", "--asr-rounds", "3",
                                         "--asr-report", "out.json")
    result.assert_outcomes(passed=5)
    # three clips in batches of two: [2, 1], three rounds each, no warm-up batch
    assert StubEngine.batches == [2, 2, 2, 1, 1, 1]
    data = _report(project)
    [run] = data["runs"]
    [batched] = data["throughput"]
    assert (batched["batch_size"], batched["batches"], batched["utterances"]) == (2, 2, 3)
    assert batched["audio_seconds"] == pytest.approx(AUDIO_SECONDS)
    assert len(batched["passes"]) == 3
    # every pass sleeps once per batch: at least 2 × SLEEP, so RTFx is at most 4.5 / 0.1
    assert min(batched["passes"]) >= 2 * SLEEP
    assert batched["seconds"] == pytest.approx(statistics.median(batched["passes"]))
    assert batched["rtfx"] == pytest.approx(AUDIO_SECONDS / statistics.median(batched["passes"]))
    assert batched["rtfx"] <= AUDIO_SECONDS / (2 * SLEEP)
    latencies = [u["latency"] for u in data["utterances"]]
    assert batched["sequential_rtfx"] == pytest.approx(AUDIO_SECONDS / sum(latencies))
    assert batched["sequential_rtfx"] == pytest.approx(run["rtfx"])
    assert batched["speedup"] == pytest.approx(batched["rtfx"] / batched["sequential_rtfx"])
    assert batched["wer"] == 0.0
    assert validate(data) == []  # the report, throughput included, matches its schema
    result.stdout.fnmatch_lines(["*throughput (batched*",
                                 "*stub:answers.json / cpu / set: batch 2, RTFx * one at a time*"])


def test_throughput_scores_the_batched_transcripts(project, monkeypatch):
    write_answers(project, two="he was an ill young man")  # 2 of 8 words wrong
    result = project.runpytest_inprocess(*CPU, "--asr-batch-size", "8", "--asr-max-wer", "1",
                                         "--asr-report", "out.json", "-k", "throughput")
    result.assert_outcomes(passed=1, deselected=7)  # -k: 4; streaming mode off: 3
    [batched] = _report(project)["throughput"]
    words = sum(len(text.split()) for text in
                ("the quick brown fox jumps over the lazy dog",
                 "he was not an ill disposed young man", "she sells sea shells by the sea shore"))
    assert batched["batches"] == 1
    assert batched["wer"] == pytest.approx(2 / words)


def test_engine_without_batches_skips_with_its_reason(project):
    project.makeconftest(
        "from stub_engine import StubEngine\n"
        "from asrbench.engines import register_engine\n"
        "from asrbench.engines.base import Engine\n"
        "class NoBatch(StubEngine):\n"
        "    name = 'nobatch'\n"
        "    no_batch = 'this stub cannot batch'\n"
        "    transcribe_batch = Engine.transcribe_batch\n"
        "register_engine('stub', StubEngine)\n"
        "register_engine('nobatch', NoBatch)\n"
    )
    result = project.runpytest_inprocess(
        "--asr-model", "nobatch:answers.json", "--asr-dataset", "data/set.jsonl",
        "--asr-device", "cpu", "--asr-batch-size", "2", "-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=4, skipped=1)
    result.stdout.fnmatch_lines(["*nobatch: this stub cannot batch*"])


def test_batch_size_must_be_positive(project):
    result = project.runpytest_inprocess(*CPU, "--asr-batch-size", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--asr-batch-size 0: must be at least 1*"])


BATCH_ENGINES = (
    "import os, time\n"
    "from stub_engine import StubEngine\n"
    "from asrbench.engines import register_engine\n"
    "class HangingBatch(StubEngine):\n"
    "    name = 'hangbatch'\n"
    "    def transcribe_batch(self, audio):\n"
    "        time.sleep(float(os.environ['STUB_HANG']))\n"
    "        return super().transcribe_batch(audio)\n"
    "class OomBatch(StubEngine):\n"
    "    name = 'oombatch'\n"
    "    def transcribe_batch(self, audio):\n"
    "        raise RuntimeError('CUDA out of memory. Tried to allocate 2.00 GiB')\n"
    "register_engine('stub', StubEngine)\n"
    "register_engine('hangbatch', HangingBatch)\n"
    "register_engine('oombatch', OomBatch)\n"
)


def test_a_hanging_batch_fails_its_test_by_timeout_and_the_run_goes_on(project, monkeypatch):
    project.makeconftest(BATCH_ENGINES)
    monkeypatch.setenv("STUB_HANG", "4")
    result = project.runpytest_inprocess(
        "--asr-model", "hangbatch:answers.json", "--asr-model", "stub:answers.json",
        "--asr-dataset", "data/set.jsonl", "--asr-device", "cpu", "--asr-warmup", "0",
        "--asr-rounds", "1", "--asr-batch-size", "2", "--asr-timeout", "1",
        "--asr-report", "out.json", "-p", "no:cacheprovider", "-p", "no:randomly")
    # the hanging model's utterances and corpus pass before its throughput test; the next model
    # runs all five of its tests
    result.assert_outcomes(passed=4 + 5, failed=1)
    result.stdout.fnmatch_lines([
        "*hangbatch:answers.json on cpu, set, batch 1 of 2 (2 clips): "
        "no answer after --asr-timeout 1 s*",
        "*throughput (batched*",
        "*stub:answers.json / cpu / set: batch 2, RTFx * one at a time*"])
    assert "Traceback" not in result.stdout.str()
    [batched] = _report(project)["throughput"]
    assert batched["model"] == "stub:answers.json"


def test_an_out_of_memory_batch_frees_the_model_and_fails_its_later_tests(project):
    project.makeconftest(BATCH_ENGINES)
    data = project.path / "data"
    (data / "other.jsonl").write_text((data / "set.jsonl").read_text())
    result = project.runpytest_inprocess(
        "--asr-model", "oombatch:answers.json", "--asr-model", "stub:answers.json",
        "--asr-dataset", "data/set.jsonl", "--asr-dataset", "data/other.jsonl",
        "--asr-device", "cpu", "--asr-warmup", "0", "--asr-rounds", "1",
        "--asr-batch-size", "2", "--asr-report", "out.json", "-p", "no:cacheprovider",
        "-p", "no:randomly", "-rN")
    # oombatch: set's utterances and corpus pass, its throughput runs out of memory; the model is
    # released, so all five tests on the other dataset fail in one line; stub: ten pass
    result.assert_outcomes(passed=4 + 10, failed=1 + 5)
    out = result.stdout.str()
    reason = ("oombatch:answers.json on cpu, set, batch 1 of 2 (2 clips): out of memory "
              "(RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB); model released")
    lines = out.splitlines()
    assert lines.count(reason) == 1  # the throughput test's one line
    assert lines.count("oombatch:answers.json on cpu: not run after an earlier failure "
                       f"({reason})") == 5
    assert "Traceback" not in out
    from stub_engine import StubEngine

    assert [spec for spec, _ in StubEngine.loads] == ["oombatch:answers.json", "stub:answers.json"]
    assert StubEngine.alive_at_load == [0, 0]  # the first model was gone before the second loaded
    report = _report(project)
    assert {(t["model"], t["dataset"]) for t in report["throughput"]} == {
        ("stub:answers.json", "set"), ("stub:answers.json", "other")}
    failed = {(f["model"], f["dataset"]) for f in report["failures"]}
    assert failed == {("oombatch:answers.json", "other")}
