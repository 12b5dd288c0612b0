"""Memory figures per device and engine runtime, on simulated devices, each with its label."""

from __future__ import annotations

import mmap
import os
import sys
import threading
import time
import types

from asrbench.hardware.devices import Device
from asrbench.hardware.memory import MemoryWatch


def _fresh_pages(size: int) -> mmap.mmap:
    """Touched anonymous pages: new to the process, unlike heap memory the allocator kept."""
    block = mmap.mmap(-1, size)
    for offset in range(0, size, mmap.PAGESIZE):
        block[offset] = 1
    return block


def test_cpu_reports_peak_rss_and_growth_over_the_pre_load_baseline():
    watch = MemoryWatch(Device("cpu"), "ctranslate2")
    watch.start()
    block = _fresh_pages(64 * 2**20)
    watch.sample()
    block.close()
    watch.stop()
    figures = watch.figures()
    assert figures["memory_kind"].startswith("cpu peak RSS of the process while loaded")
    assert figures["memory_growth_bytes"] >= 60 * 2**20
    assert figures["memory_bytes"] == figures["memory_baseline_bytes"] + figures[
        "memory_growth_bytes"]


def test_a_later_model_never_raises_an_earlier_models_peak():
    first = MemoryWatch(Device("cpu"), "ctranslate2")
    first.start()
    first.stop()
    before = first.figures()
    second = MemoryWatch(Device("cpu"), "torch")
    second.start()
    block = _fresh_pages(96 * 2**20)  # a new high-water mark, in the second window
    second.sample()
    block.close()
    second.stop()
    assert first.figures() == before
    assert second.figures()["memory_growth_bytes"] >= 90 * 2**20


def test_cuda_torch_engine_reports_torch_peak_allocated(monkeypatch):
    import torch

    resets = []
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda d: resets.append(d))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda d: 123 * 2**20)
    watch = MemoryWatch(Device("cuda", 1), "torch")
    watch.start()
    watch.sample()
    watch.stop()
    assert resets == ["cuda:1"]
    assert watch.figures() == {"memory_bytes": 123 * 2**20,
                               "memory_kind": "cuda peak allocated by torch"}


def _fake_nvml(monkeypatch, processes, *, fail_init=False):
    asked = []
    module = types.ModuleType("pynvml")

    def init():
        if fail_init:
            raise RuntimeError("NVML Shared Library Not Found")

    module.nvmlInit = init
    module.nvmlDeviceGetHandleByIndex = lambda i: asked.append(("index", i)) or f"gpu{i}"
    module.nvmlDeviceGetHandleByUUID = lambda u: asked.append(("uuid", u)) or u
    module.nvmlDeviceGetComputeRunningProcesses = lambda handle: processes
    monkeypatch.setitem(sys.modules, "pynvml", module)
    return asked


def test_cuda_ctranslate2_engine_reports_nvml_process_memory_not_torch(monkeypatch):
    import torch

    def no_torch(*args):
        raise AssertionError("torch cannot see CTranslate2's allocations")

    monkeypatch.setattr(torch.cuda, "max_memory_allocated", no_torch)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", no_torch)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    procs = [types.SimpleNamespace(pid=1, usedGpuMemory=10**9),
             types.SimpleNamespace(pid=os.getpid(), usedGpuMemory=456 * 2**20)]
    asked = _fake_nvml(monkeypatch, procs)
    watch = MemoryWatch(Device("cuda", 1), "ctranslate2")
    watch.start()
    watch.stop()
    assert asked == [("index", 5)]  # cuda:1 under CUDA_VISIBLE_DEVICES=3,5 is NVML's GPU 5
    figures = watch.figures()
    assert figures["memory_bytes"] == 456 * 2**20
    assert figures["memory_kind"].startswith("cuda process memory from NVML")


def test_nvml_without_our_pid_reports_nothing_and_says_why(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    _fake_nvml(monkeypatch, [types.SimpleNamespace(pid=1, usedGpuMemory=10**9)])
    watch = MemoryWatch(Device("cuda"), "ctranslate2")
    watch.start()
    watch.stop()
    assert watch.figures() == {"memory_kind": "cuda: not measured (NVML lists no process with "
                                              "this pid; containers hide host pids)"}


def test_nvml_that_cannot_start_is_labelled(monkeypatch):
    _fake_nvml(monkeypatch, [], fail_init=True)
    watch = MemoryWatch(Device("cuda"), "ctranslate2")
    watch.start()
    assert watch.figures() == {
        "memory_kind": "cuda: not measured (NVML: NVML Shared Library Not Found)"}


def test_mps_reports_the_driver_pool_as_not_a_peak(monkeypatch):
    import torch

    monkeypatch.setattr(torch.mps, "driver_allocated_memory", lambda: 77)
    watch = MemoryWatch(Device("mps"), "torch")
    watch.start()
    watch.sample()
    assert watch.figures() == {"memory_bytes": 77,
                               "memory_kind": "mps driver-allocated pool (not a peak)"}




def test_the_cpu_sampler_stops_once_the_kernel_mark_is_the_exact_peak(monkeypatch):
    from asrbench.hardware import memory

    mark = [100]  # the process's high-water mark, as getrusage gives it
    monkeypatch.setattr(memory, "_max_rss", lambda: mark[0])
    watch = MemoryWatch(Device("cpu"), "ctranslate2", interval=0.001)
    watch.start()

    def sampling():
        return any(t.name == "asrbench-memory" for t in threading.enumerate())

    time.sleep(0.05)  # fifty intervals under the old mark: only samples can see a peak
    assert sampling()
    assert not watch.kernel_peak_rose()
    mark[0] = 200  # the mark rises (a model loading): from now on it is the exact peak
    deadline = time.monotonic() + 5
    while sampling() and time.monotonic() < deadline:
        time.sleep(0.001)
    assert not sampling()
    assert watch.kernel_peak_rose()
    watch.stop()
    figures = watch.figures()
    assert figures["memory_kind"] == "cpu peak RSS of the process while loaded (kernel high-water mark)"
    assert figures["memory_bytes"] >= 200
