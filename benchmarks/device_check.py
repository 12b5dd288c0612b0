"""The device check: every engine's CUDA legs on the smoke set, one table, within eight minutes.

Run from a fresh clone on a machine with an NVIDIA GPU::

    python3 benchmarks/device_check.py

It sets up with the README's command (when ``.venv`` is absent), then, for every engine that can use
CUDA here, runs the benchmark suite on ``cuda`` (fp16, and int8 where the engine offers it) over the
smoke set with ``--asr-require-device cuda``, so a leg that measured nothing fails. Beside each
leg's report it samples NVML from outside the run: the test process's device memory (compared with
the memory the report states, torch's peak allocation for torch engines) and the GPU's energy counter
over the leg. On a machine without a GPU it says so and exits 0.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LEGS", "SETUP", "Leg", "LegResult", "format_table", "gpu_names", "main"]

ROOT = Path(__file__).resolve().parents[1]
#: The README's set-up command (a test checks the README still says this).
SETUP = "python3.12 -m venv .venv && .venv/bin/pip install -c requirements.lock -e '.[all,test]'"
BUDGET_SECONDS = 8 * 60
#: Per engine, the CUDA precisions to run: fp16, and int8 where the engine offers it.
LEGS: dict[str, tuple[tuple[str, str], ...]] = {
    "faster_whisper": (("fp16", "compute_type=float16"), ("int8", "compute_type=int8_float16")),
    "whisper": (("fp16", "fp16=true"),),
    "transformers": (("fp16", "dtype=float16"),),
    "lfm2_5_audio": (("default", ""),),
    "whisper_cpp": (("default", ""),),
}


@dataclass(frozen=True)
class Leg:
    engine: str
    precision: str
    options: str

    @property
    def spec(self) -> str:
        return f"{self.engine},{self.options}" if self.options else self.engine


@dataclass(frozen=True)
class LegResult:
    """One leg's figures; ``None`` where not measured, with why in ``note``."""

    leg: Leg
    status: str
    wer: float | None = None
    rtfx: float | None = None
    report_memory: int | None = None
    report_memory_kind: str = ""
    nvml_memory: int | None = None
    nvml_joules: float | None = None
    seconds: float = 0.0
    note: str = ""


def gpu_names() -> list[str]:
    """The NVIDIA GPUs this process may use (``nvidia-smi -L``, less what CUDA_VISIBLE_DEVICES hides)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return []
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return []
    try:
        out = subprocess.run([tool, "-L"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.startswith("GPU ")]


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.0f}"


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(results: Sequence[LegResult], *, gpu: str) -> str:
    """One table: a row per leg, with WER, RTFx, the report's and NVML's memory, NVML energy."""
    head = ("engine", "precision", "status", "WER %", "RTFx", "report MiB", "NVML MiB",
            "NVML J", "s", "memory (report)")
    rows = [(r.leg.engine, r.leg.precision, r.status,
             _num(None if r.wer is None else r.wer * 100, ".2f"), _num(r.rtfx, ".1f"),
             _mib(r.report_memory), _mib(r.nvml_memory), _num(r.nvml_joules, ".1f"),
             f"{r.seconds:.0f}", r.report_memory_kind) for r in results]
    widths = [max(len(str(row[i])) for row in (head, *rows)) for i in range(len(head))]
    lines = [f"device check on {gpu}", "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
              for row in rows]
    lines += [f"{r.leg.engine} {r.leg.precision}: {r.note}" for r in results if r.note]
    return "\n".join(lines)


class _Nvml:
    """NVML from outside the run: a process's device memory (sampled) and the energy counter."""

    def __init__(self) -> None:
        import pynvml

        pynvml.nvmlInit()
        self.nvml = pynvml
        self.handle = pynvml.nvmlDeviceGetHandleByIndex(0)

    def energy_mj(self) -> int | None:
        try:
            return int(self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle))
        except self.nvml.NVMLError:
            return None

    def process_memory(self, pids: set[int]) -> int | None:
        try:
            procs = self.nvml.nvmlDeviceGetComputeRunningProcesses(self.handle)
        except self.nvml.NVMLError:
            return None
        used = [p.usedGpuMemory for p in procs if p.pid in pids and p.usedGpuMemory]
        return sum(used) if used else None


def _children(pid: int) -> set[int]:
    import psutil

    try:
        return {pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))}
    except psutil.Error:
        return {pid}


def run_leg(leg: Leg, nvml: _Nvml | None, *, timeout: float, out: Path) -> LegResult:
    """The benchmark suite on cuda for ``leg``; figures from its report and NVML."""
    report = out / f"{leg.engine}-{leg.precision}.json"
    command = [sys.executable, "-m", "pytest", "tests/benchmarks", "-m", "cuda", "--asr-device",
               "cuda", "--asr-require-device", "cuda", "--asr-model", leg.spec, "--asr-dataset",
               "smoke", "--asr-fast", "--asr-report", str(report), "--asr-report-overwrite",
               "--benchmark-disable", "-q", "-p", "no:cacheprovider"]
    start, peak = time.monotonic(), None
    energy_start = nvml.energy_mj() if nvml else None
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(child.stdout or []), daemon=True)
    reader.start()
    while child.poll() is None:
        if time.monotonic() - start > timeout:
            child.kill()
            break
        if nvml is not None:
            used = nvml.process_memory(_children(child.pid))
            if used is not None:
                peak = used if peak is None else max(peak, used)
        time.sleep(0.2)
    child.wait()
    reader.join(timeout=5)
    seconds = time.monotonic() - start
    energy_end = nvml.energy_mj() if nvml else None
    joules = (None if energy_start is None or energy_end is None
              else (energy_end - energy_start) / 1000)
    tail = " | ".join(line.strip() for line in lines[-3:])
    if child.returncode not in (0, 1) or not report.is_file():
        why = "timed out" if seconds > timeout else f"exit {child.returncode}: {tail}"
        return LegResult(leg, "error", nvml_memory=peak, nvml_joules=joules, seconds=seconds,
                         note=why)
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    runs = [r for r in data.get("runs", []) if str(r.get("device", "")).startswith("cuda")]
    if not runs:
        skips = "; ".join(s.get("reason", "") for s in data.get("skipped", []))
        return LegResult(leg, "skipped", seconds=seconds, note=skips or tail)
    run = runs[0]
    return LegResult(leg, "ok" if child.returncode == 0 else "failed", wer=run.get("wer"),
                     rtfx=run.get("rtfx"), report_memory=run.get("memory_bytes"),
                     report_memory_kind=str(run.get("memory_kind", "")), nvml_memory=peak,
                     nvml_joules=joules, seconds=seconds,
                     note="" if child.returncode == 0 else tail)


def _legs() -> list[Leg]:
    from asrbench.engines.registry import engine_class, engine_names
    from asrbench.hardware.devices import Device

    legs = []
    for name in engine_names():
        if name in LEGS and engine_class(name).device_unavailable(Device("cuda", 0)) is None:
            legs += [Leg(name, precision, options) for precision, options in LEGS[name]]
    return legs


def run_legs() -> int:
    """Inside the project's environment: every CUDA leg, then the table."""
    deadline = time.monotonic() + BUDGET_SECONDS
    try:
        nvml: _Nvml | None = _Nvml()
    except Exception as exc:  # no NVML: memory and energy columns stay empty, said why
        print(f"device check: NVML unavailable ({exc}); no NVML memory or energy")
        nvml = None
    legs, results = _legs(), []
    with tempfile.TemporaryDirectory(prefix="asrbench-device-check-") as tmp:
        for leg in legs:
            left = deadline - time.monotonic()
            if left < 20:
                results.append(LegResult(leg, "not run", note="the 8-minute budget was spent"))
                continue
            results.append(run_leg(leg, nvml, timeout=left, out=Path(tmp)))
            print(f"  {leg.engine} {leg.precision}: {results[-1].status} "
                  f"({results[-1].seconds:.0f} s)", flush=True)
    print(format_table(results, gpu=", ".join(gpu_names()) or "cuda"))
    return 0 if results and all(r.status == "ok" for r in results) else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    gpus = gpu_names()
    if not gpus:
        print("device check: no NVIDIA GPU on this machine (nvidia-smi lists none, or "
              "CUDA_VISIBLE_DEVICES hides them); nothing to check")
        return 0
    if "--legs" in args:
        return run_legs()
    python = ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        print(f"device check: setting up: {SETUP}", flush=True)
        subprocess.run(SETUP, shell=True, cwd=ROOT, check=True)
    print(f"device check: {', '.join(gpus)}; CUDA legs on the smoke set", flush=True)
    return subprocess.run([str(python), str(Path(__file__).resolve()), "--legs"], cwd=ROOT,
                          check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
