"""Parallel runs under pytest-xdist: one summary and one report, WER exactly as without xdist.

The workers are real processes (``-n 2``); every test runs on ``cpu`` only, so the result is the
same on any host.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import BASE, write_answers  # type: ignore[import-not-found]

STUB = Path(__file__).parents[1] / "stub_engine.py"


def _wer_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("stub:answers.json / cpu")]


def _report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.mark.slow  # pytest-xdist: a controller and its worker processes
def test_two_workers_give_one_summary_with_the_wer_of_a_plain_run(project: pytest.Pytester) -> None:
    shutil.copy(STUB, project.path / "stub_engine.py")  # the workers import it from the project
    write_answers(project, two="he was an ill posed young man")  # a non-zero WER to compare
    args = [*BASE, "--asr-device", "cpu", "--asr-fast", "--benchmark-disable"]
    plain = project.runpytest_inprocess(*args, "--asr-report", "plain.json")  # no xdist: in-process
    plain.assert_outcomes(passed=4)
    parallel = project.runpytest_subprocess(
        *args, "-n", "2", "--asr-report", "xdist.json", "--benchmark-json", "bench.json")
    parallel.assert_outcomes(passed=4)
    out = parallel.stdout.str()
    assert out.count("= asrbench =") == 1  # one summary, printed by the controller
    assert "pytest-xdist: 2 workers, each pinned to its cores (gw0 cpus " in out
    [row] = _wer_lines(out)
    [plain_row] = _wer_lines(plain.stdout.str())
    wer = re.split(r"\s+", row)
    assert wer[4:8] == re.split(r"\s+", plain_row)[4:8]  # utts, audio s, WER%, 95% CI
    one, two = _report(project.path / "plain.json"), _report(project.path / "xdist.json")
    [run_one], [run_two] = one["runs"], two["runs"]
    for figure in ("wer", "cer", "utterances", "audio_seconds", "wer_ci95"):
        assert run_two[figure] == run_one[figure], figure
    assert run_one["wer"] > 0
    assert sorted(u["id"] for u in two["utterances"]) == ["one", "three", "two"]
    parallel_block = two["parallel"]
    assert parallel_block["workers"] == 2
    pins = {p["worker"]: p for p in parallel_block["pinning"]}
    assert set(pins) == {"gw0", "gw1"}
    for pin in pins.values():
        assert pin["threads"] == len(pin["cpus"]) >= 1
    if not any(p["cpus_shared"] for p in pins.values()):  # as many cores as workers, or more
        assert set(pins["gw0"]["cpus"]).isdisjoint(pins["gw1"]["cpus"])
        assert run_two["timings_shared"] is False
    else:  # a one-core machine: said so
        assert run_two["timings_shared"] is True
        assert "shared cores" in run_two["timings_shared_reason"]
    assert _report(project.path / "bench.json")["asrbench"]["runs"][0]["wer"] == run_one["wer"]


def test_shared_timings_are_named_per_device() -> None:
    from asrbench.plugin.xdist import share, shared_timings

    assert share([0, 1, 2, 3, 4], 0, 2) == ([0, 1, 2], False)
    assert share([0, 1, 2, 3, 4], 1, 2) == ([3, 4], False)
    assert share([0, 1], 2, 3) == ([0], True)
    why = shared_timings({"gw0": {"cuda:0", "cpu"}, "gw1": {"cuda:0"}},
                         [{"worker": "gw0", "cpus_shared": False},
                          {"worker": "gw1", "cpus_shared": False}])
    assert why == {"cuda:0": "2 xdist workers measured on cuda:0 at the same time (gw0, gw1)"}


def test_compare_leaves_shared_timings_out_of_gates_and_like_for_like() -> None:
    from asrbench.reporting.compare import Row, failures, parse_gate

    key = ("stub", "cpu", "set")
    base = {"rtf": 0.1, "wer": 0.1, "normaliser": "n"}
    shared = {"rtf": 0.5, "wer": 0.1, "normaliser": "n", "timings_shared": True,
              "timings_shared_reason": "3 xdist workers on 2 cores: workers gw2 shared cores"}
    row = Row(key, {"m/1": base, "m/2": shared}, hosts={"m/1": "h", "m/2": "h"})
    assert not row.same_machine("m/2")  # same host, but shared: not like for like
    notes: list[str] = []
    assert failures([row], [parse_gate("rtf:+10%")], notes=notes) == []  # a 5x rise, never gated
    assert notes == ["rtf:+10% not judged for run m/2 on stub / cpu / set: timed while xdist "
                     "workers shared the device"]
    from asrbench.reporting.compare_format import format_markdown

    assert "(timings shared by xdist workers)" in format_markdown([row])
    assert "other machine" not in format_markdown([row])
    plain = Row(key, {"m/1": base, "m/2": {**shared, "timings_shared": False}},
                hosts={"m/1": "h", "m/2": "h"})
    assert plain.same_machine("m/2")
    assert failures([plain], [parse_gate("rtf:+10%")]) != []


@pytest.mark.slow  # pytest-xdist: a controller and its worker processes
def test_a_plain_parallel_run_is_left_alone(pytester: pytest.Pytester) -> None:
    """``pytest -n 2`` on tests that use no asrbench fixture: no asrbench summary, no report."""
    project = pytester
    project.makepyfile(test_plain="def test_one():\n    assert True\n\n"
                                  "def test_two():\n    assert True\n")
    result = project.runpytest_subprocess("test_plain.py", "-n", "2", "--asr-report", "out.json")
    result.assert_outcomes(passed=2)
    assert "= asrbench =" not in result.stdout.str()
    assert "asrbench:" not in result.stdout.str()
    assert not (project.path / "out.json").exists()
    # a settings mistake is still a usage error at start-up, as without xdist
    bad = project.runpytest_subprocess("test_plain.py", "-n", "2", "--asr-rounds", "0")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*asrbench: --asr-rounds*"])


@pytest.mark.slow  # pytest-xdist: a controller and its worker processes
@pytest.mark.parametrize(("args", "message"), [
    (["--asr-baseline", "0042"], "*asrbench: --asr-baseline: run '0042': not found*"),
    (["--asr-dataset", "data/nope.jsonl"], "*asrbench: *nope.jsonl*"),
    (["--asr-baseline-rtf-margin", "10"], "*asrbench: --asr-baseline-rtf-margin: needs "
                                          "--asr-baseline RUN*"),
])
def test_usage_errors_stay_usage_errors_under_xdist(project: pytest.Pytester, args: list[str],
                                                     message: str) -> None:
    shutil.copy(STUB, project.path / "stub_engine.py")
    # one worker finds the mistake as two would, and starts faster
    result = project.runpytest_subprocess(*BASE, "--asr-device", "cpu", "-n", "1", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_every_workers_throughput_reaches_the_one_report(project: pytest.Pytester) -> None:
    """Two workers' reports, each with its own model's batched run: the combined run has both."""
    from asrbench.plugin.xdist import combine

    shutil.copy(project.path / "answers.json", project.path / "other.json")
    args = ["--asr-dataset", "data/set.jsonl", "-p", "no:cacheprovider", "--asr-device", "cpu",
            "--asr-fast", "--benchmark-disable", "--asr-batch-size", "2"]
    reports = []
    for n, model in enumerate(("stub:answers.json", "stub:other.json")):
        project.runpytest_inprocess(*args, "--asr-model", model, "--asr-report",
                                    f"w{n}.json").assert_outcomes(passed=5)
        reports.append({**_report(project.path / f"w{n}.json"), "worker": f"gw{n}"})
    pinning = [{"worker": f"gw{n}", "cpus": [n], "threads": 1, "cpus_shared": False,
                "method": "test"} for n in range(2)]
    _, data = combine(reports, pinning, complete=True, datasets=reports[0]["datasets"])
    throughput = data["throughput"]
    assert sorted(t["model"] for t in throughput) == ["stub:answers.json", "stub:other.json"]
    assert all(t["batch_size"] == 2 and t["utterances"] == 3 for t in throughput)
    assert all(t["timings_shared"] is False for t in throughput)  # one core each, not shared
    assert [r["model"] for r in data["runs"]] == ["stub:answers.json", "stub:other.json"]


@pytest.mark.slow  # pytest-xdist: a controller and its worker processes
def test_a_plain_parallel_run_ignores_asrbench_settings_it_does_not_use(
        pytester: pytest.Pytester) -> None:
    """A project whose benchmark job sets a baseline gate and a dataset made later still runs its
    plain tests with ``-n``: only a run that uses asrbench needs them."""
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    pytester.makepyprojecttoml('[tool.asrbench]\nbaseline = "0001"\nbaseline_rtf_margin = 10\n'
                               'datasets = ["data/later.jsonl"]\n')
    pytester.runpytest_inprocess("test_plain.py", "-p", "no:cacheprovider").assert_outcomes(
        passed=1)
    result = pytester.runpytest_subprocess("test_plain.py", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


@pytest.mark.slow  # pytest-xdist: a controller and its worker processes
def test_a_crashed_worker_marks_the_combined_run_incomplete(project: pytest.Pytester) -> None:
    shutil.copy(STUB, project.path / "stub_engine.py")
    write_answers(project, one="!crash")
    result = project.runpytest_subprocess(*BASE, "--asr-device", "cpu", "--asr-fast",
                                          "--benchmark-disable", "-n", "2",
                                          "--max-worker-restart", "1", "--asr-report", "out.json")
    assert result.ret != pytest.ExitCode.OK
    out = result.stdout.str()
    assert "crashed" in out
    data = _report(project.path / "out.json")
    assert data["complete"] is False
    assert data["parallel"]["crashed"]
    assert all(p["cpus"] for p in data["parallel"]["pinning"])  # replacements pinned somewhere
