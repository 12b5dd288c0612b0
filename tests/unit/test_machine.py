"""Disclosure facts: a fake /proc/cpuinfo, a fake sysctl, a fake NVML with two GPUs, a faked psutil;
and nothing repeated from the machine fingerprint."""

from __future__ import annotations

import subprocess
import sys
import types
from collections import namedtuple
from pathlib import Path

import pytest

from asrbench.core.identity import machine_fingerprint
from asrbench.hardware import machine
from asrbench.hardware.machine import cpu_model, gpu_facts, load_average, machine_facts

X86 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7R13 Processor
cpu cores\t: 2

processor\t: 1
model name\t: AMD EPYC 7R13 Processor
"""
ARM = """processor\t: 0
BogoMIPS\t: 50.00
CPU part\t: 0xd0c

Hardware\t: BCM2835
Model\t\t: Raspberry Pi 4 Model B Rev 1.4
"""


def test_cpu_model_from_cpuinfo(tmp_path: Path):
    path = tmp_path / "cpuinfo"
    path.write_text(X86)
    assert cpu_model(path, system="Linux") == "AMD EPYC 7R13 Processor"
    path.write_text(ARM)
    assert cpu_model(path, system="Linux") == "BCM2835"


def test_cpu_model_on_macos_asks_sysctl(monkeypatch):
    def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        assert args == ["sysctl", "-n", "machdep.cpu.brand_string"]
        return subprocess.CompletedProcess(args, 0, stdout="Apple M2 Pro\n", stderr="")

    monkeypatch.setattr(machine.subprocess, "run", run)
    assert cpu_model(system="Darwin") == "Apple M2 Pro"


def test_cpu_model_falls_back_to_platform_or_none(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(machine.platform, "processor", lambda: "")
    assert cpu_model(tmp_path / "absent", system="Linux") is None
    monkeypatch.setattr(machine.platform, "processor", lambda: "Intel64 Family 6")
    assert cpu_model(system="Windows") == "Intel64 Family 6"


def test_load_average_or_the_reason(monkeypatch):
    monkeypatch.setattr(machine.os, "getloadavg", lambda: (1.234, 0.5, 0.25), raising=False)
    assert load_average() == {"load_average": [1.23, 0.5, 0.25]}
    monkeypatch.delattr(machine.os, "getloadavg", raising=False)
    out = load_average()
    assert out["load_average"] is None
    assert out["load_average_reason"] == f"no load average on {sys.platform}"


Memory = namedtuple("Memory", "total free used")


def fake_pynvml(*, init_error: Exception | None = None) -> types.ModuleType:
    module = types.ModuleType("pynvml")
    names = {0: b"NVIDIA A10G", 1: "NVIDIA H100 80GB HBM3"}
    sizes = {0: 24 * 2**30, 1: 80 * 2**30}
    module.shut = 0  # type: ignore[attr-defined]

    def init() -> None:
        if init_error is not None:
            raise init_error

    def shutdown() -> None:
        module.shut += 1  # type: ignore[attr-defined]

    module.nvmlInit = init  # type: ignore[attr-defined]
    module.nvmlShutdown = shutdown  # type: ignore[attr-defined]
    module.nvmlDeviceGetCount = lambda: 2  # type: ignore[attr-defined]
    module.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    module.nvmlDeviceGetName = lambda h: names[h]  # type: ignore[attr-defined]
    module.nvmlDeviceGetMemoryInfo = lambda h: Memory(sizes[h], 0, 0)  # type: ignore[attr-defined]
    module.nvmlSystemGetDriverVersion = lambda: "550.54.15"  # type: ignore[attr-defined]
    return module


def test_gpu_facts_list_every_gpu_cuda_sees_with_the_driver(monkeypatch):
    fake = fake_pynvml()
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert gpu_facts() == {
        "gpus": [{"index": 0, "name": "NVIDIA A10G", "memory_bytes": 24 * 2**30},
                 {"index": 1, "name": "NVIDIA H100 80GB HBM3", "memory_bytes": 80 * 2**30}],
        "gpu_driver": "550.54.15"}
    assert fake.shut == 1  # type: ignore[attr-defined]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")  # CUDA's 0 is NVML's 1
    assert gpu_facts()["gpus"] == [{"index": 0, "name": "NVIDIA H100 80GB HBM3",
                                    "memory_bytes": 80 * 2**30}]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert gpu_facts()["gpus"] == []


def test_gpu_facts_without_nvml_or_driver_say_why(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    assert gpu_facts() == {"gpus": None,
                           "gpus_reason": "NVML not available: nvidia-ml-py is not installed"}
    monkeypatch.setitem(sys.modules, "pynvml",
                        fake_pynvml(init_error=RuntimeError("NVML Shared Library Not Found")))
    assert gpu_facts() == {"gpus": None,
                           "gpus_reason": "no NVIDIA driver: NVML Shared Library Not Found"}


def test_machine_facts_read_psutil_and_affinity_and_repeat_nothing_of_the_fingerprint(monkeypatch):
    import psutil

    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setattr(machine, "cpu_model", lambda: "Test CPU 9000")
    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 16 if logical else 8)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: Memory(64 * 2**30, 0, 0))
    monkeypatch.setattr(machine.threads, "available", lambda: (4, "CPU affinity"))
    facts = machine_facts()
    assert facts["cpu_model"] == "Test CPU 9000"
    assert facts["cpu_logical_cores"] == 16
    assert facts["cpu_physical_cores"] == 8
    assert facts["cpu_allowed_cores"] == 4
    assert facts["cpu_allowed_cores_source"] == "CPU affinity"
    assert facts["memory_bytes"] == 64 * 2**30
    assert facts["gpus"] is None
    assert facts["os"]
    assert not set(facts) & set(machine_fingerprint())


def test_physical_cores_unknown_is_null_with_the_reason(monkeypatch):
    import psutil

    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 4 if logical else None)
    facts = machine_facts()
    assert facts["cpu_physical_cores"] is None
    assert facts["cpu_physical_cores_reason"] == "psutil cannot tell physical cores here"


@pytest.mark.skipif(not hasattr(machine.os, "getloadavg"), reason="no load average on this platform")
def test_the_real_load_average_is_three_non_negative_numbers():
    values = load_average()["load_average"]
    assert len(values) == 3
    assert all(v >= 0 for v in values)
