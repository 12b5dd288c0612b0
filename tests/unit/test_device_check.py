"""benchmarks/device_check.py: exits 0 with a message without a GPU; its table from constructed legs."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "benchmarks" / "device_check.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("device_check", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def test_without_a_gpu_it_says_so_and_exits_0() -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # every GPU hidden, whatever the host has
    result = subprocess.run([sys.executable, str(SCRIPT)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "device check: no NVIDIA GPU on this machine" in result.stdout


def test_it_sets_up_with_the_readmes_command() -> None:
    module = _load()
    assert module.SETUP in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_table_states_each_legs_figures() -> None:
    module = _load()
    fp16 = module.Leg("faster_whisper", "fp16", "compute_type=float16")
    int8 = module.Leg("faster_whisper", "int8", "compute_type=int8_float16")
    whisper = module.Leg("whisper", "fp16", "fp16=true")
    assert fp16.spec == "faster_whisper,compute_type=float16"
    results = [
        module.LegResult(fp16, "ok", wer=0.0625, rtfx=123.456, report_memory=None,
                         report_memory_kind="cuda: NVML", nvml_memory=300 * 2**20,
                         nvml_joules=41.25, seconds=12.4),
        module.LegResult(int8, "skipped", seconds=3.0, note="cuda: CUDA is not available"),
        module.LegResult(whisper, "ok", wer=0.05, rtfx=40.0, report_memory=150 * 2**20,
                         report_memory_kind="cuda peak allocated by torch",
                         nvml_memory=420 * 2**20, nvml_joules=None, seconds=30.0),
    ]
    lines = module.format_table(results, gpu="GPU 0: Simulated").splitlines()
    assert lines[0] == "device check on GPU 0: Simulated"
    assert lines[1].split() == ["engine", "precision", "status", "WER", "%", "RTFx", "report",
                                "MiB", "NVML", "MiB", "NVML", "J", "s", "memory", "(report)"]
    assert lines[3].split() == ["faster_whisper", "fp16", "ok", "6.25", "123.5", "-", "300",
                                "41.2", "12", "cuda:", "NVML"]
    assert lines[4].split()[:9] == ["faster_whisper", "int8", "skipped", "-", "-", "-", "-", "-",
                                    "3"]
    assert lines[5].split()[:9] == ["whisper", "fp16", "ok", "5.00", "40.0", "150", "420", "-",
                                    "30"]
    assert lines[6] == "faster_whisper int8: cuda: CUDA is not available"
    assert len(lines) == 7
