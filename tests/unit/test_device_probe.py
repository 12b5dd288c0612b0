"""The device probe: a matmul on a device torch reports available, compared with the CPU.

Devices are simulated on this CPU machine: torch is told CUDA/MPS exist, and moving a tensor there
either works (a copy that stays on the CPU), raises (a virtualised MPS), or computes wrong numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from asrbench.hardware import runtimes, torch_runtime
from asrbench.hardware.devices import Device


def _simulate(monkeypatch: pytest.MonkeyPatch, move: Callable[[Any, str], Any]) -> None:
    """torch reports one CUDA device and MPS; tensors sent to them go through ``move``."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    original = torch.Tensor.to

    def to(self: Any, *args: Any, **kwargs: Any) -> Any:
        target = str(args[0]) if args else str(kwargs.get("device"))
        if target == "cpu":
            return original(self, *args, **kwargs)
        return move(self, target)

    monkeypatch.setattr(torch.Tensor, "to", to)


def test_a_working_device_passes_and_is_probed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    _simulate(monkeypatch, lambda tensor, target: tensor.clone())
    calls: list[str] = []
    real = torch_runtime.numeric_check

    def counted(device: Device) -> str | None:
        calls.append(str(device))
        return real(device)

    monkeypatch.setattr(torch_runtime, "numeric_check", counted)
    runtime = runtimes.TorchRuntime()
    for _ in range(3):
        assert runtime.unavailable_reason(Device("cuda", 0)) is None
        assert runtime.unavailable_reason(Device("mps")) is None
    assert calls == ["cuda:0", "mps"]  # once per device per run


def test_an_mps_that_cannot_run_work_names_the_virtualised_runner(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def oom(tensor: Any, target: str) -> Any:
        raise RuntimeError("MPS backend out of memory (MPS allocated: 0 bytes, other allocations: "
                           "0 bytes, max allowed: 1.70 GB)")

    _simulate(monkeypatch, oom)
    reason = runtimes.TorchRuntime().unavailable_reason(Device("mps"))
    assert reason is not None
    assert reason.startswith("mps: torch reports it available but a 64x64 matmul on it raised "
                             "RuntimeError: MPS backend out of memory (MPS allocated: 0 bytes")
    assert "GitHub-hosted macOS runners are virtual machines" in reason
    assert "pytorch/pytorch#125197" in reason
    assert "actions/runner-images#9918" in reason


def test_a_cuda_device_computing_wrong_numbers_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _simulate(monkeypatch, lambda tensor, target: tensor + 1)  # every input off by one
    reason = runtimes.TorchRuntime().unavailable_reason(Device("cuda", 0))
    assert reason is not None
    assert reason.startswith("cuda:0: torch reports it available but a 64x64 matmul on it "
                             "differs from the CPU result (max abs error ")
    assert "runner-images" not in reason  # the virtualised-runner note is about MPS


def test_nan_results_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _simulate(monkeypatch, lambda tensor, target: tensor * float("nan"))
    reason = runtimes.TorchRuntime().unavailable_reason(Device("cuda", 0))
    assert reason is not None
    assert "max abs error nan" in reason


def test_the_check_passes_on_the_cpu_itself() -> None:
    assert torch_runtime.numeric_check(Device("cpu")) is None


def test_an_absent_device_is_not_probed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch_runtime, "numeric_check", lambda d: pytest.fail("probed"))
    reason = runtimes.TorchRuntime().unavailable_reason(Device("cuda", 0))
    assert reason is not None
    assert "CUDA is not available" in reason
