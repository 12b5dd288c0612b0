"""The report: schema, golden files, engine info kept apart, failures, completeness, run identity."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from asrbench.reporting.report import REPORT_VERSION
from asrbench.reporting.schema import load_schema, validate
from conftest import BASE, write_answers  # type: ignore[import-not-found]

GOLDEN = Path(__file__).parents[1] / "golden"
CPU = [*BASE, "--asr-device", "cpu"]
#: Values that differ from run to run or machine to machine; the golden files hold a placeholder.
VOLATILE = {"created", "machine", "software", "latency", "latencies", "warmup_latencies", "rtf",
            "rtfx", "latency_p50", "latency_p90", "latency_p95", "latency_mean",
            "first_call_latency", "load_seconds", "weights", "source", "device_name", "threads",
            "threads_source", "torch_threads", "memory_bytes", "memory_kind",
            "memory_baseline_bytes", "memory_growth_bytes",
            # the conditions a run was measured under (tests/unit/test_disclosure.py)
            "disclosure",
            # the cost figures (version 3): measured, or null with a reason that is the machine's
            "cpu_seconds", "core_hours_per_audio_hour", "cpu_utilisation"}
#: Energy figures and labels depend on the machine's counters (values, or the reason there are none).
VOLATILE_PARTS = ("energy", "idle_", "joules")

LIAR = """
from stub_engine import StubEngine
from asrbench.engines import register_engine

class Liar(StubEngine):
    name = "liar"
    def info(self):
        return {"device": "cuda:0", "wer": 0.0, "model": "other", "precision": "int8"}

class Flaky(StubEngine):
    name = "flaky"
    def transcribe(self, audio):
        if len(audio) == 24000:
            raise RuntimeError("decoder blew up\\n  on this one")
        return super().transcribe(audio)

register_engine("stub", StubEngine)
register_engine("liar", Liar)
register_engine("flaky", Flaky)
"""


@pytest.fixture(autouse=True)
def _engine_registry():
    """The engines these tests register in-process are forgotten afterwards."""
    from asrbench.engines import registry as base

    saved = dict(base._registered)
    yield
    base._registered.clear()
    base._registered.update(saved)
    base.engine_class.cache_clear()


def _normalise(value: Any, key: str = "") -> Any:
    if key in VOLATILE or any(part in key for part in VOLATILE_PARTS):
        return "<volatile>"
    if isinstance(value, dict):
        return {k: _normalise(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def _golden(name: str, data: Any) -> None:
    path = GOLDEN / name
    text = json.dumps(_normalise(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("ASRBENCH_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} changed; if on purpose, rerun with ASRBENCH_UPDATE_GOLDEN=1 and raise "
        "REPORT_VERSION for incompatible changes")


@pytest.fixture
def golden_run(project):
    write_answers(project, two="he was an ill posed young man")
    project.runpytest_inprocess(*CPU, "--asr-rounds", "2", "--asr-max-wer", "1",
                                "--asr-report", "report.json", "--benchmark-json", "bench.json"
                                ).assert_outcomes(passed=4)
    return project


def test_report_matches_the_golden_file_and_the_schema(golden_run):
    report = json.loads((golden_run.path / "report.json").read_text())
    assert validate(report) == []
    assert report["version"] == REPORT_VERSION
    assert report["complete"] is True
    assert report["failures"] == []
    _golden("report.json", report)


def test_benchmark_json_asrbench_block_matches_the_golden_file(golden_run):
    data = json.loads((golden_run.path / "bench.json").read_text())
    assert validate(data["asrbench"]) == []
    _golden("benchmark_asrbench.json", data["asrbench"])
    info = data["benchmarks"][0]["extra_info"]
    assert info["engine_info"] == {"precision": "float32", "engine_version": "stub"}


def test_schema_is_shipped_and_catches_broken_reports(golden_run):
    schema = load_schema()
    # reports of this version and older ones (2) validate: compare and merge read both
    assert REPORT_VERSION == 3
    assert schema["properties"]["version"]["minimum"] == 2
    report = json.loads((golden_run.path / "report.json").read_text())
    del report["runs"][0]["wer"]
    report["complete"] = "yes"
    report["utterances"][0]["word_errors"]["insertions"] = -1
    assert validate(report) == [
        "$.complete: expected boolean, got str",
        "$.runs[0]: missing required key 'wer'",
        "$.utterances[0].word_errors.insertions: -1 is below the minimum 0"]
    try:
        import jsonschema
    except ImportError:
        return
    jsonschema.validate(json.loads((golden_run.path / "report.json").read_text()), schema)


def test_engine_info_can_never_overwrite_a_measured_figure(project):
    project.makeconftest(LIAR)
    result = project.runpytest_inprocess(*BASE, "--asr-model", "liar:answers.json", "--asr-device",
                                         "cpu", "--asr-report", "r.json", "--benchmark-json", "b.json")
    result.assert_outcomes(passed=8)  # stub and liar, 3 utterances and the corpus each
    report = json.loads((project.path / "r.json").read_text())
    run = next(r for r in report["runs"] if r["model"] == "liar:answers.json")
    assert (run["device"], run["wer"], run["model"]) == ("cpu", 0.0, "liar:answers.json")
    assert run["engine_info"] == {"device": "cuda:0", "wer": 0.0, "model": "other",
                                  "precision": "int8"}
    bench = json.loads((project.path / "b.json").read_text())
    for record in bench["benchmarks"]:
        assert record["extra_info"]["device"] == "cpu"
    result.stdout.fnmatch_lines(["*liar:answers.json / cpu / set*", "*int8*"])


def test_a_failed_utterance_is_listed_with_its_error(project):
    project.makeconftest(LIAR)
    result = project.runpytest_inprocess(*BASE[2:], "--asr-model", "flaky:answers.json",
                                         "--asr-device", "cpu", "--asr-report", "r.json",
                                         "--benchmark-disable")
    result.assert_outcomes(passed=2, failed=2)  # utterance two and the corpus
    report = json.loads((project.path / "r.json").read_text())
    assert validate(report) == []
    audio = str(project.path / "data" / "two.wav")
    assert report["failures"] == [{
        "id": "two", "model": "flaky:answers.json", "device": "cpu", "dataset": "set",
        "error_type": "EngineError",
        "message": f"flaky:answers.json on cpu, set/two ({audio}): transcription failed "
                   "(RuntimeError: decoder blew up on this one)",
        "audio": audio}]
    assert [u["id"] for u in report["utterances"]] == ["one", "three"]


def test_an_interrupted_session_writes_an_incomplete_report(project):
    project.makepyfile(test_zz_stop="def test_stop():\n    raise KeyboardInterrupt\n")
    result = project.inline_run(*CPU, "--asr-report", "r.json", "--benchmark-disable",
                                no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    report = json.loads((project.path / "r.json").read_text())
    assert report["complete"] is False
    assert len(report["utterances"]) == 3


def test_two_models_with_the_same_file_name_are_two_runs(project):
    for folder, text in (("a", "the quick brown fox"), ("b", "he was not")):
        (project.path / folder).mkdir()
        shutil.copy(project.path / "answers.json", project.path / folder / "answers.json")
        (project.path / folder / "answers.json").write_text(json.dumps({"default": text}))
    result = project.runpytest_inprocess(
        "--asr-model", "stub:a/answers.json", "--asr-model", "stub:b/answers.json",
        "--asr-dataset", "data/set.jsonl", "-p", "no:cacheprovider", "--asr-device", "cpu",
        "--asr-max-wer", "1", "--asr-report", "r.json", "--benchmark-disable", "-v")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["*test_utterance*stub:a/answers.json-cpu-set-one*",
                                 "*test_utterance*stub:b/answers.json-cpu-set-one*"])
    report = json.loads((project.path / "r.json").read_text())
    runs = {r["model"]: r for r in report["runs"]}
    assert sorted(runs) == ["stub:a/answers.json", "stub:b/answers.json"]
    assert runs["stub:a/answers.json"]["wer"] != runs["stub:b/answers.json"]["wer"]
    a, b = (runs[f"stub:{x}/answers.json"]["identity"] for x in "ab")
    assert a["weights"] == str(project.path / "a" / "answers.json")
    assert a["model_hash"] != b["model_hash"]
    assert a["dataset_hash"] == b["dataset_hash"]
    assert len(report["utterances"]) == 6


def test_a_wer_failure_shows_the_alignment(project):
    write_answers(project, two="he was an ill posed young man today")
    result = project.runpytest_inprocess(*CPU, "--asr-max-wer", "0.05", "--benchmark-disable")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "*REF: he was not an ill disposed young man ****",
        "*HYP: he was *** an ill    posed young man today",
        "E  *D               S               I",
        "*(S substitution, D deletion, I insertion)*"])
