"""Streaming under load: the same streams on a quiet machine and beside CPU-heavy processes.

A benchmark, not a test: it times this machine and prints figures, it asserts nothing.

For each clock mode (``--clocks``, default ``virtual,unaware,wall``) it runs the benchmark suite
twice in fresh processes, ``pytest tests/benchmarks --asr-stream --asr-fast --asr-device cpu``
on the smoke set (offline test and streaming test per utterance, so the report holds the stream's
WER beside the offline WER of the same utterances): once as the machine is, once with ``--burners``
extra processes spinning ``while True: pass`` beside it (killed when the run ends). Printed per clock:
each streaming latency figure quiet and loaded and their ratio, the stream and offline WER, and
whether the two runs' streams (every update's text and emission time) are identical. The load
average is printed with each run: on a shared machine "quiet" means "without the burners".

What to expect (the claims of ``docs/concepts/streaming.md``): on the ``virtual`` clock the
latencies move little under load (the engine's compute is CPU time, which a busy machine does not
inflate much); ``unaware`` figures are identical (the transcripts depend only on the chunk
schedule); ``wall`` pacing moves with the load.

Run from the repository root: ``python benchmarks/stream_under_load.py [--model faster_whisper]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("stream_first_latency_p50", "stream_first_latency_p90", "stream_commit_latency_p50",
           "stream_commit_latency_p90", "openbench_streaming_latency",
           "openbench_confirmed_latency", "stream_end_of_utterance_latency", "stream_rtf",
           "lag_slope", "stream_erasure")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def run_suite(model: str, chunk_ms: int, clock: str, burners: int, report: Path,
              extra: list[str]) -> tuple[dict[str, Any], str, str, float]:
    """One suite run, ``burners`` spinning processes beside it: (report, load before, after, wall)."""
    spinning = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(burners)]
    try:
        if spinning:
            time.sleep(2.0)  # let the burners take their share before the run starts
        before = load()
        started = time.perf_counter()
        command = [sys.executable, "-m", "pytest", "tests/benchmarks", "-q", "-p", "no:cacheprovider",
                   "--asr-stream", "--asr-fast", "--asr-device", "cpu", "--asr-model", model,
                   "--asr-chunk-ms", str(chunk_ms), "--asr-stream-clock", clock,
                   "-k", "test_utterance or test_stream", "--asr-report", str(report),
                   "--asr-report-overwrite", *extra]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        after = load()
    finally:
        for process in spinning:
            process.kill()
            process.wait()
    if not report.is_file():
        raise SystemExit(f"{' '.join(command)} wrote no report:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    if done.returncode not in (0, 1):  # 1: a threshold failed, the figures stand
        print(done.stdout[-2000:], file=sys.stderr)
    return json.loads(report.read_text()), before, after, wall


def streams(report: dict[str, Any]) -> dict[str, list[tuple[float, str, str]]]:
    """Each streamed utterance's updates: (emission time, partial, committed)."""
    return {u["id"]: [(s["f"], s["partial"], s["committed"]) for s in u["stream"]["trace"]]
            for u in report["utterances"] if u.get("stream")}


def texts(report: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    return {key: [(p, c) for _, p, c in rows] for key, rows in streams(report).items()}


def show(value: Any) -> str:
    return "null" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="faster_whisper")
    parser.add_argument("--chunk-ms", type=int, default=100)
    parser.add_argument("--clocks", default="virtual,unaware,wall")
    parser.add_argument("--burners", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="folder to keep the reports in")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest after --")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="stream-load-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{args.model}, {args.chunk_ms} ms chunks, CPU, pytest args {args.pytest_args or 'none'} "
          f"(smoke set unless they name one); {args.burners} burner(s); {os.cpu_count()} CPUs; "
          f"reports in {folder}")
    for clock in args.clocks.split(","):
        runs = []
        for burners in (0, args.burners):
            name = f"{clock}-{'loaded' if burners else 'quiet'}"
            report, before, after, wall = run_suite(args.model, args.chunk_ms, clock, burners,
                                                    folder / f"{name}.json", args.pytest_args)
            print(f"[{clock}] {name}: {wall:.0f} s; {before} before, {after} after")
            runs.append(report)
        quiet, loaded = (r["runs"][0] for r in runs)
        print(f"[{clock}] compute clock {quiet.get('stream_compute_clock')}; "
              f"{'figure':<34} {'quiet':>8} {'loaded':>8} {'ratio':>7}")
        for figure in FIGURES:
            a, b = quiet.get(figure), loaded.get(figure)
            ratio = f"{b / a:7.3f}" if a and b is not None else "      -"
            print(f"[{clock}]   {figure:<34} {show(a):>8} {show(b):>8} {ratio}")
        for label, run in (("quiet", quiet), ("loaded", loaded)):
            why = run.get("stream_wer_gap_reason")
            print(f"[{clock}]   {label}: stream WER {show(run.get('stream_wer'))}, offline WER "
                  f"{show(run.get('wer'))}, gap {show(run.get('stream_wer_gap'))}"
                  f"{f' ({why})' if why else ''}")
        same_text = texts(runs[0]) == texts(runs[1])
        same_time = streams(runs[0]) == streams(runs[1])
        same_figures = all(quiet.get(f) == loaded.get(f) for f in FIGURES)
        print(f"[{clock}]   same updates (text): {same_text}; same emission times: {same_time}; "
              f"identical figures: {same_figures}")


if __name__ == "__main__":
    main()
