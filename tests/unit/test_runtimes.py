"""Runtimes, placement checks, MPS fallback detection and ``auto``, with simulated hardware."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from asrbench.core.errors import ConfigError
from asrbench.hardware import runtimes
from asrbench.hardware.devices import Device, parse_device
from asrbench.hardware.runtimes import CTranslate2Runtime, placement_error


@pytest.mark.parametrize(("requested", "actual"), [
    ("cpu", "cpu"), ("cuda", "cuda:0"), ("cuda", "cuda:3"), ("cuda:1", "cuda:1"), ("cuda:0", "cuda"),
    ("mps", "mps"), ("mps", "mps:0"), ("cpu", None),
])
def test_weights_where_requested_pass(requested, actual):
    assert placement_error(parse_device(requested), actual) is None


@pytest.mark.parametrize(("requested", "actual"), [
    ("cuda", "cpu"), ("cuda:1", "cuda:0"), ("cuda:1", "cuda"), ("mps", "cpu"), ("mps", "cpu+mps:0"),
    ("cpu", "meta"), ("cpu", "somewhere"), ("cuda:0", "cuda:0+cuda:1"),
])
def test_weights_elsewhere_are_named(requested, actual):
    assert placement_error(parse_device(requested), actual) == (
        f"its weights are on {actual}, not on {requested}")


@pytest.mark.parametrize(("value", "enabled"), [
    ("1", True), ("true", True), (" On ", True), ("0", False), ("", False), (None, False)])
def test_mps_fallback_variable_is_detected(monkeypatch, value, enabled):
    if value is None:
        monkeypatch.delenv("PYTORCH_ENABLE_MPS_FALLBACK", raising=False)
    else:
        monkeypatch.setenv("PYTORCH_ENABLE_MPS_FALLBACK", value)
    assert runtimes.mps_fallback_enabled() is enabled
    assert runtimes.TorchRuntime().cpu_fallback(Device("mps")) is enabled
    assert runtimes.TorchRuntime().cpu_fallback(Device("cuda")) is None


def _fake_ctranslate2(monkeypatch, count: int) -> None:
    module = types.ModuleType("ctranslate2")
    module.get_cuda_device_count = lambda: count  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ctranslate2", module)


def test_ctranslate2_counts_its_own_cuda_devices(monkeypatch):
    _fake_ctranslate2(monkeypatch, 2)
    runtime = CTranslate2Runtime()
    assert runtime.unavailable_reason(Device("cuda")) is None
    assert runtime.unavailable_reason(Device("cuda", 1)) is None
    assert runtime.unavailable_reason(Device("cuda", 2)) == (
        "cuda:2: only 2 CUDA device(s) present (cuda:0 to cuda:1)")
    assert runtime.unavailable_reason(Device("mps")) == "mps: ctranslate2 has no MPS backend"
    assert runtime.peak_memory(Device("cuda")) == (None, "not measured by ctranslate2")


def test_ctranslate2_without_cuda_says_so(monkeypatch):
    _fake_ctranslate2(monkeypatch, 0)
    assert CTranslate2Runtime().unavailable_reason(Device("cuda")) == (
        "cuda: CUDA is not available to ctranslate2 on this machine")


@pytest.mark.parametrize(("present", "expected", "why"), [
    ({"cuda", "mps"}, Device("cuda", 0), "a CUDA device is present"),
    ({"mps"}, Device("mps"), "no CUDA; Apple MPS is present"),
    (set(), Device("cpu"), "no CUDA or MPS device here"),
])
def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch, present, expected, why):
    monkeypatch.setattr(runtimes, "machine_unavailable_reason",
                        lambda d: None if d.kind in present else "absent")
    device = runtimes.resolve_device("auto")
    assert device == expected
    assert device.chosen == f"auto: {why}"
    assert device.label == f"{expected} (auto: {why})"
    assert runtimes.resolve_device("AUTO ") == expected


def test_named_devices_resolve_without_asking_the_machine(monkeypatch):
    monkeypatch.setattr(runtimes, "machine_unavailable_reason", lambda d: pytest.fail("asked"))
    assert runtimes.resolve_device("cuda:1") == Device("cuda", 1)
    assert runtimes.resolve_device("cuda:1").chosen is None
    with pytest.raises(ConfigError, match="--asr-device 'tpu': unknown device; valid: cpu, cuda"):
        runtimes.resolve_device("tpu")


def test_the_device_value_leaves_auto_to_the_runtimes():
    with pytest.raises(ConfigError, match=r"runtimes\.resolve_device"):
        parse_device("auto")


def test_the_device_value_module_imports_no_runtime():
    """``devices`` is a value type: importing it alone loads neither the runtimes nor torch."""
    code = ("import sys, asrbench.hardware.devices; "
            "print(sorted(m for m in sys.modules if m.startswith('asrbench.hardware') or m == 'torch'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['asrbench.hardware', 'asrbench.hardware.devices']"


def test_machine_check_knows_mps_is_macos_only_without_asking_torch(monkeypatch):
    monkeypatch.setattr(runtimes.platform, "system", lambda: "Linux")
    monkeypatch.setattr(runtimes, "get_runtime", lambda name: pytest.fail("a runtime was asked"))
    assert "Apple MPS is not available on Linux" in str(
        runtimes.machine_unavailable_reason(Device("mps")))


def _fake_nvml(monkeypatch, count: int | None, name: str = "Simulated GPU") -> None:
    module = types.ModuleType("pynvml")

    def init() -> None:
        if count is None:
            raise RuntimeError("NVML Shared Library Not Found")

    module.nvmlInit = init  # type: ignore[attr-defined]
    module.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    module.nvmlDeviceGetCount = lambda: count  # type: ignore[attr-defined]
    module.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    module.nvmlDeviceGetName = lambda h: f"{name} {h}"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", module)


def test_no_driver_means_no_cuda_without_asking_any_library(monkeypatch):
    _fake_nvml(monkeypatch, None)
    monkeypatch.setattr(runtimes, "get_runtime", lambda name: pytest.fail("a runtime was asked"))
    assert runtimes.machine_unavailable_reason(Device("cuda")) == (
        "cuda: CUDA is not available on this machine (NVML: no NVIDIA driver or GPU)")


def test_cuda_counts_when_any_runtime_sees_it(monkeypatch):
    _fake_nvml(monkeypatch, 2)
    _fake_ctranslate2(monkeypatch, 2)
    assert runtimes.machine_unavailable_reason(Device("cuda", 1)) is None


def test_gpu_names_come_from_nvml_for_ctranslate2(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    _fake_nvml(monkeypatch, 2)
    assert CTranslate2Runtime().describe(Device("cuda", 1)) == "Simulated GPU 1"
    _fake_nvml(monkeypatch, None)
    assert CTranslate2Runtime().describe(Device("cuda", 1)) == "CUDA device 1"


def test_gpu_names_follow_cuda_visible_devices(monkeypatch):
    """cuda:1 under ``CUDA_VISIBLE_DEVICES=3,5`` is the GPU NVML numbers 5."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    _fake_nvml(monkeypatch, 8)
    assert CTranslate2Runtime().describe(Device("cuda", 1)) == "Simulated GPU 5"


def test_torch_module_device_lists_every_device_its_tensors_are_on():
    import torch
    module = torch.nn.Linear(2, 2)
    assert runtimes.torch_module_device(module) == "cpu"
    module.register_buffer("elsewhere", torch.zeros(1, device="meta"))
    assert runtimes.torch_module_device(module) == "cpu+meta"


def test_unknown_runtime_names_the_known_ones():
    with pytest.raises(KeyError, match="unknown runtime 'nope'; valid: cpu, ctranslate2, mlx, torch, "
                                       "whisper_cpp"):
        runtimes.get_runtime("nope")
