"""The measurement protocol through the plugin: first call, warm-up, rounds, profiler, groups."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import tick_engine  # type: ignore[import-not-found]
from asrbench.bench import protocol  # imported now: pytester unloads modules first imported in a run
from conftest import SUITE  # type: ignore[import-not-found]

ARGS = ["--asr-model", "tick", "--asr-device", "cpu", "--asr-dataset", "data/set.jsonl",
        "--asr-max-wer", "10", "--asr-report", "r.json", "--asr-report-overwrite",
        "-p", "no:cacheprovider"]


@pytest.fixture
def ticking(project, monkeypatch):
    tick_engine.CLOCK.now = 0.0
    tick_engine.TickEngine.instances.clear()
    monkeypatch.setattr(protocol, "CLOCK", tick_engine.CLOCK)
    project.makeconftest(
        "from tick_engine import TickEngine\n"
        "from asrbench.engines import register_engine\n"
        "register_engine('tick', TickEngine)\n")
    project.makepyfile(test_suite=SUITE.read_text())
    yield project
    from asrbench.engines import registry as base

    base._registered.pop("tick", None)  # other tests list the registered engines
    base.engine_class.cache_clear()


def _report(project):
    data = json.loads((project.path / "r.json").read_text())
    return data["runs"][0], {u["id"]: u for u in data["utterances"]}


def _expected(warmup: int, rounds: int, extra: int = 0):
    """What each utterance's warm-ups and measured rounds took: call k takes k seconds, except the
    model's first call (call 0, ``FIRST``), which is the first utterance's first warm-up."""
    calls = iter(range(1, 100))
    out = {}
    for n, uid in enumerate(("one", "two", "three")):
        warm = [tick_engine.FIRST if n == 0 and w == 0 else float(next(calls))
                for w in range(warmup)]
        measured = [float(next(calls)) for _ in range(rounds)]
        for _ in range(extra):
            next(calls)
        out[uid] = (warm, measured)
    return out


def test_first_call_is_per_model_and_never_in_the_statistics(ticking):
    result = ticking.runpytest_inprocess(*ARGS, "--asr-rounds", "3", "--asr-warmup", "1")
    result.assert_outcomes(passed=4)
    run, utts = _report(ticking)
    assert run["first_call_latency"] == tick_engine.FIRST
    for uid, (warm, measured) in _expected(1, 3).items():
        assert utts[uid]["warmup_latencies"] == warm
        assert utts[uid]["latencies"] == measured
        assert utts[uid]["latency"] == measured[1]
    medians = [2.0, 6.0, 10.0]  # calls 1-3, 5-7, 9-11: warm-ups are calls 0 (the first), 4, 8
    assert run["latency_p50"] == 6.0
    assert run["latency_mean"] == pytest.approx(sum(medians) / 3)
    assert run["latency_p90"] == pytest.approx(9.2)
    assert run["latency_p95"] == pytest.approx(9.6)
    assert run["measured_rounds"] == 3
    assert run["warmup_rounds"] == 1
    assert tick_engine.FIRST not in [x for u in utts.values() for x in u["latencies"]]
    # the first call is the first utterance's warm-up, not a call more: 3 x (1 + 3) calls in all
    assert tick_engine.TickEngine.instances[0].calls == 3 * (1 + 3)
    result.stdout.fnmatch_lines(["latency: median of 3 measured calls per utterance after 1 "
                                 "warm-up call; the first utterance's first warm-up is the model's "
                                 "first call after loading, reported apart"])


def test_benchmark_cprofile_call_is_not_a_measured_round(ticking):
    result = ticking.runpytest_inprocess(*ARGS, "--asr-rounds", "2", "--asr-warmup", "1",
                                         "--benchmark-cprofile=tottime")
    result.assert_outcomes(passed=4)
    _run, utts = _report(ticking)
    for uid, (warm, measured) in _expected(1, 2, extra=1).items():
        assert (utts[uid]["warmup_latencies"], utts[uid]["latencies"]) == (warm, measured)
    assert tick_engine.TickEngine.instances[0].calls == 3 * (1 + 2 + 1)


def test_benchmark_disable_keeps_the_protocol_rounds(ticking):
    result = ticking.runpytest_inprocess(*ARGS, "--asr-rounds", "3", "--asr-warmup", "2",
                                         "--benchmark-disable")
    result.assert_outcomes(passed=4)
    run, utts = _report(ticking)
    for uid, (warm, measured) in _expected(2, 3).items():
        assert (utts[uid]["warmup_latencies"], utts[uid]["latencies"]) == (warm, measured)
    assert run["protocol"].startswith("median of 3 measured calls per utterance after 2 warm-up")


def test_fast_mode_measures_each_utterance_once(ticking):
    result = ticking.runpytest_inprocess(*ARGS, "--asr-fast", "--asr-rounds", "5")
    result.assert_outcomes(passed=4)
    run, utts = _report(ticking)
    assert run["first_call_latency"] == tick_engine.FIRST
    assert [utts[u]["latencies"] for u in ("one", "two", "three")] == [[1.0], [2.0], [3.0]]
    assert all(u["warmup_latencies"] == [] for u in utts.values())
    assert tick_engine.TickEngine.instances[0].calls == 1 + 3  # no warm-up: the first call is apart
    assert run["fast"] is True
    assert run["rtf"] == pytest.approx(6.0 / 4.5)
    result.stdout.fnmatch_lines(["latency: fast: 1 measured call per utterance, no per-utterance "
                                 "warm-up*"])


def test_fast_mode_from_ini(ticking):
    ticking.makeini("[pytest]\nasr_fast = true\n")
    ticking.runpytest_inprocess(*ARGS).assert_outcomes(passed=4)
    assert _report(ticking)[0]["fast"] is True


def test_corpus_fallback_uses_the_same_protocol(ticking):
    result = ticking.runpytest_inprocess(*ARGS, "--asr-rounds", "2", "--asr-warmup", "1",
                                         "-k", "test_corpus")
    result.assert_outcomes(passed=1)
    run, utts = _report(ticking)
    assert run["first_call_latency"] == tick_engine.FIRST
    for uid, (warm, measured) in _expected(1, 2).items():
        assert (utts[uid]["warmup_latencies"], utts[uid]["latencies"]) == (warm, measured)


def test_saved_benchmarks_are_grouped_by_model_device_dataset(ticking):
    storage = ticking.path / "store"
    ticking.runpytest_inprocess(*ARGS, "--asr-rounds", "2", f"--benchmark-storage={storage}",
                                "--benchmark-save=first").assert_outcomes(passed=4)
    [saved] = storage.glob("*/0001_first.json")
    groups = {b["group"] for b in json.loads(saved.read_text())["benchmarks"]}
    assert groups == {"tick:tick-cpu-set"}
    compare = subprocess.run(
        [sys.executable, "-c", "from pytest_benchmark.cli import main; main()", f"--storage={storage}",
         "compare", "--group-by", "group", "0001"],
        capture_output=True, text=True, check=False, cwd=storage)
    assert compare.returncode == 0, compare.stderr[-2000:]
    assert "benchmark 'tick:tick-cpu-set': 3 tests" in compare.stdout


def test_thread_setting_from_option_ini_and_pyproject_is_recorded(ticking, monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    ticking.runpytest_inprocess(*ARGS).assert_outcomes(passed=4)
    run = _report(ticking)[0]
    assert (run["threads"], run["threads_source"]) == (4, "CPU affinity")
    assert run["threads_applied_to"] == "ctranslate2 cpu_threads"
    ticking.makepyprojecttoml("[tool.asrbench]\nthreads = 3\n")
    ticking.runpytest_inprocess(*ARGS).assert_outcomes(passed=4)
    assert _report(ticking)[0]["threads"] == 3
    ticking.makeini("[pytest]\nasr_threads = 1\n")
    ticking.runpytest_inprocess(*ARGS).assert_outcomes(passed=4)
    assert _report(ticking)[0]["threads"] == 1
    ticking.runpytest_inprocess(*ARGS, "--asr-threads", "2").assert_outcomes(passed=4)
    assert _report(ticking)[0]["threads"] == 2


def test_cpu_memory_is_reported_with_its_label(project):
    result = project.runpytest_inprocess(
        "--asr-model", "stub:answers.json", "--asr-dataset", "data/set.jsonl", "--asr-device",
        "cpu", "--asr-report", "r.json", "--benchmark-disable", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    run = _report(project)[0]
    assert run["memory_kind"].startswith("cpu peak RSS of the process while loaded")
    assert run["memory_bytes"] >= run["memory_baseline_bytes"] > 0
    result.stdout.fnmatch_lines(["*cpu peak RSS of the process while loaded * MiB (+* over "
                                 "pre-load)"])
