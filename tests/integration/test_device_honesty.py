"""Devices this machine lacks, simulated: cuda:N, ``auto``, weights placement, MPS CPU fallback.

The stub engine runs on a simulated runtime (two CUDA devices and an MPS device), so every path
runs here, on a CPU box, a CUDA box or a Mac alike.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from asrbench.hardware import runtimes
from asrbench.hardware.devices import Device
from conftest import BASE  # type: ignore[import-not-found]
from stub_engine import StubEngine


class SimulatedRuntime(runtimes.Runtime):
    """Two CUDA devices and MPS; records what it was asked."""

    name = "simulated"

    def __init__(self, cuda: int = 2, mps: bool = True) -> None:
        self.cuda = cuda
        self.mps = mps
        self.synchronized: list[str] = []

    def cuda_device_count(self) -> int:
        return self.cuda

    def mps_unavailable(self) -> str | None:
        return None if self.mps else "mps: simulated absence"

    def cpu_fallback(self, device: Device) -> bool | None:
        return runtimes.TorchRuntime().cpu_fallback(device)  # the real check of the variable

    def synchronize(self, device: Device) -> None:
        self.synchronized.append(str(device))

    def describe(self, device: Device) -> str:
        return f"simulated {device}"


@pytest.fixture
def simulated(monkeypatch) -> SimulatedRuntime:
    runtime = SimulatedRuntime()
    monkeypatch.setitem(runtimes._RUNTIMES, runtime.name, runtime)
    monkeypatch.setattr(StubEngine, "runtime", runtime.name)
    monkeypatch.delenv("PYTORCH_ENABLE_MPS_FALLBACK", raising=False)
    return runtime


def _report(project: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project.path / "out.json").read_text())
    return data


def test_cuda_index_runs_end_to_end_on_that_device(project, simulated):
    result = project.runpytest_inprocess(*BASE, "--asr-device", "cuda:1", "--asr-report", "out.json",
                                         "--benchmark-disable", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*test_utterance?stub:answers.json-cuda:1-set-one? PASSED*"])
    assert StubEngine.loads == [("stub:answers.json", "cuda:1")]
    assert set(simulated.synchronized) == {"cuda:1"}  # the timed region waited on that device
    [run] = _report(project)["runs"]
    assert (run["device"], run["weights_device"], run["device_name"]) == (
        "cuda:1", "cuda:1", "simulated cuda:1")


def test_a_cuda_index_beyond_the_machine_skips_naming_the_count(project, simulated):
    result = project.runpytest_inprocess(*BASE, "--asr-device", "cuda:2", "-rs")
    result.assert_outcomes(skipped=4)
    result.stdout.fnmatch_lines(["*cuda:2: only 2 CUDA device(s) present (cuda:0 to cuda:1)*"])


def test_weights_elsewhere_than_requested_fail_the_models_tests(project, simulated):
    result = project.runpytest_inprocess(
        *BASE, "--asr-model", "stub:answers.json,weights=cpu", "--asr-device", "cuda",
        "--asr-device", "cpu", "--benchmark-disable")
    # both models pass on cpu, the honest one on cuda; every cuda test of the other fails, the
    # first with the reason, the others pointing to it
    result.assert_outcomes(passed=12, failed=4)
    result.stdout.fnmatch_lines([
        "*stub:answers.json,weights=cpu on cuda: its weights are on cpu, not on cuda; its "
        "results would not be cuda results*",
        "*stub:answers.json,weights=cpu on cuda: not run, the model failed earlier*"])
    assert StubEngine.loads.count(("stub:answers.json,weights=cpu", "cuda")) == 1  # tried once


def test_weights_on_another_gpu_than_requested_fail(project, simulated):
    result = project.runpytest_inprocess(
        *BASE, "--asr-model", "stub:answers.json,weights=cuda:0", "--asr-device", "cuda:1")
    result.assert_outcomes(passed=4, failed=4)
    result.stdout.fnmatch_lines(["*its weights are on cuda:0, not on cuda:1*"])


def test_mps_fallback_is_recorded_and_marked_in_the_summary(project, simulated, monkeypatch):
    monkeypatch.setenv("PYTORCH_ENABLE_MPS_FALLBACK", "1")
    result = project.runpytest_inprocess(*BASE, "--asr-device", "mps", "--asr-report", "out.json",
                                         "--benchmark-disable")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*stub:answers.json / mps / set*",
                                 "*MPS with CPU fallback*PYTORCH_ENABLE_MPS_FALLBACK*"])
    [run] = _report(project)["runs"]
    assert run["mps_fallback"] is True
    assert run["weights_device"] == "mps"


def test_a_pure_mps_run_is_not_marked(project, simulated):
    result = project.runpytest_inprocess(*BASE, "--asr-device", "mps", "--asr-report", "out.json",
                                         "--benchmark-disable")
    result.assert_outcomes(passed=4)
    assert "CPU fallback" not in result.stdout.str()
    assert _report(project)["runs"][0]["mps_fallback"] is False


@pytest.mark.parametrize(("present", "chosen"), [
    ({"cuda", "mps"}, "cuda:0 (auto: a CUDA device is present)"),
    ({"mps"}, "mps (auto: no CUDA; Apple MPS is present)"),
    (set(), "cpu (auto: no CUDA or MPS device here)"),
])
def test_auto_picks_the_best_device_and_says_so(project, simulated, monkeypatch, present, chosen):
    monkeypatch.setattr(runtimes, "machine_unavailable_reason",
                        lambda d: None if d.kind in present | {"cpu"} else f"{d}: absent")
    result = project.runpytest_inprocess(*BASE, "--asr-device", "auto", "--asr-report", "out.json",
                                         "--benchmark-disable")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([f"asrbench: models stub:answers.json; devices {chosen}; *"])
    [run] = _report(project)["runs"]
    assert run["device"] == chosen.split()[0]
    assert run["device_requested"] == "auto"


def test_auto_and_the_same_device_named_run_once(project, simulated, monkeypatch):
    monkeypatch.setattr(runtimes, "machine_unavailable_reason",
                        lambda d: None if d.kind in ("cpu", "cuda") else "absent")
    ids = [line for line in project.runpytest_inprocess(
        *BASE, "--asr-device", "auto", "--asr-device", "cuda:0", "--co", "-q").outlines if "::" in line]
    assert len(ids) == 4
