"""How often does a timing verdict cry wolf, and how often does it catch a real slowdown?

A benchmark, not a test: it runs pytest many times on this machine and prints rates.

Each round runs three commands in fresh processes, in an order shuffled per round (seeded):
A, A again (the same command: an A/A control) and B (a real slowdown: by default
``--asr-threads 1`` against A's ``--asr-threads 2``). From the rounds it builds every choice of
``--per-side`` rounds (20 choices of 3 out of 6 rounds; the choices overlap, so they are not
independent trials) and judges each as ``asrbench ab`` and ``asrbench compare --vs`` would:

- **false alarms**: A against A' (paired by round, as ``ab`` pairs), counted when the RTF
  verdict is ``slower`` or ``faster`` (the margin is ``--margin``, 5 % by default);
- **detection**: A against B, counted when the verdict is ``slower``;
- for contrast, **today's within-run test** on single pairs of runs: each A against its A' with
  the paired bootstrap over utterances (``asrbench compare A A'``), counted when ΔRTF is
  "significant", the 3-in-6 false-alarm rate the replicate design replaces.

Run from the repository root (about 10 s a run on two cores; 6 rounds are 18 runs)::

    python benchmarks/false_alarms.py --rounds 6
    python benchmarks/false_alarms.py --from asrbench-false-alarms/20260101T120000   # recount
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

DEFAULT = ("tests/benchmarks -m cpu --asr-device cpu --asr-model faster_whisper --asr-fast "
           "-q -p no:cacheprovider")
SIDES = ("a", "a2", "b")


def run_rounds(a: str, b: str, rounds: int, folder: Path, seed: int) -> None:
    """``rounds`` rounds of A, A' (the same command) and B, shuffled within each round."""
    rng = random.Random(seed)
    commands = {"a": a, "a2": a, "b": b}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan.json").write_text(json.dumps({"a": a, "b": b, "rounds": rounds, "seed": seed}))
    for index in range(1, rounds + 1):
        order = list(SIDES)
        rng.shuffle(order)
        for side in order:
            report = folder / f"{side}-{index:02d}.json"
            argv = [sys.executable, "-m", "pytest", *shlex.split(commands[side]),
                    "--asr-report", str(report), "--asr-report-overwrite"]
            started = time.perf_counter()
            with report.with_suffix(".log").open("w") as log:
                code = subprocess.call(argv, stdout=log, stderr=subprocess.STDOUT)
            print(f"round {index}/{rounds} {side:>2}: exit {code}, "
                  f"{time.perf_counter() - started:.1f} s", file=sys.stderr)


def rates(folder: Path, per_side: int, margin: float) -> dict[str, object]:
    """The verdict counts over every choice of ``per_side`` rounds, and today's within-run test."""
    from asrbench.reporting.history import load_run
    from asrbench.scoring.replicates import replicate_change
    from asrbench.scoring.significance import paired_timing

    runs = {side: [load_run(p) for p in sorted(folder.glob(f"{side}-*.json"))] for side in SIDES}
    rounds = min(len(r) for r in runs.values())
    if rounds < per_side:
        raise SystemExit(f"{folder}: {rounds} complete rounds, fewer than --per-side {per_side}")

    def rtf(run: object) -> float:
        [figures] = run.runs.values()  # type: ignore[attr-defined]
        return float(figures["rtf"])

    def latencies(run: object) -> dict[str, float]:
        return {u["id"]: u["latency"] for u in run.utterances}  # type: ignore[attr-defined]

    verdicts: dict[str, dict[str, int]] = {"aa": {}, "ab": {}, "aa_unpaired": {}}
    for chosen in itertools.combinations(range(rounds), per_side):
        a = [rtf(runs["a"][i]) for i in chosen]
        for name, other, paired in (("aa", "a2", True), ("ab", "b", True),
                                    ("aa_unpaired", "a2", False)):
            new = [rtf(runs[other][i]) for i in chosen]
            verdict = replicate_change(a, new, figure="rtf", paired=paired, margin=margin).verdict
            verdicts[name][verdict] = verdicts[name].get(verdict, 0) + 1
    within = [paired_timing(latencies(runs["a"][i]), latencies(runs["a2"][i]), resamples=2000)
              for i in range(rounds)]
    significant = sum(bool(t and t[0].significant) for t in within)
    every = {side: [round(rtf(r), 4) for r in runs[side][:rounds]] for side in SIDES}
    return {"rounds": rounds, "per_side": per_side, "margin": margin, "verdicts": verdicts,
            "within_run_significant": significant, "within_run_pairs": rounds, "rtf": every}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="rounds of A, A', B (default: 6)")
    parser.add_argument("--per-side", type=int, default=3, help="runs per side of each "
                        "comparison (default: 3)")
    parser.add_argument("--margin", type=float, default=5.0, help="verdict margin in percent "
                        "(default: 5)")
    parser.add_argument("--a", default=f"{DEFAULT} --asr-threads 2", help="side A's pytest args")
    parser.add_argument("--b", default=f"{DEFAULT} --asr-threads 1", help="side B's pytest args "
                        "(the real slowdown)")
    parser.add_argument("--seed", type=int, default=0, help="order seed (default: 0)")
    parser.add_argument("--out", help="folder of the runs (default: asrbench-false-alarms/<time>)")
    parser.add_argument("--from", dest="source", help="recount the runs of an earlier folder")
    args = parser.parse_args(argv)
    if args.source:
        folder = Path(args.source)
    else:
        folder = Path(args.out or f"asrbench-false-alarms/{datetime.now(UTC):%Y%m%dT%H%M%S}")
        run_rounds(args.a, args.b, args.rounds, folder, args.seed)
    found = rates(folder, args.per_side, args.margin / 100)
    (folder / "rates.json").write_text(json.dumps(found, indent=2) + "\n")
    total = sum(found["verdicts"]["aa"].values())  # type: ignore[index]
    print(format_rates(found, total))
    return 0


def format_rates(found: dict[str, object], total: int) -> str:
    verdicts: dict[str, dict[str, int]] = found["verdicts"]  # type: ignore[assignment]
    aa, ab, un = verdicts["aa"], verdicts["ab"], verdicts["aa_unpaired"]
    alarms = aa.get("slower", 0) + aa.get("faster", 0)
    alarms_un = un.get("slower", 0) + un.get("faster", 0)
    return "\n".join([
        f"{found['rounds']} rounds; every choice of {found['per_side']} rounds: {total} "
        f"comparisons (overlapping), margin {100 * float(found['margin']):g} %",  # type: ignore[arg-type]
        f"RTF per round: A {found['rtf']['a']}, A' {found['rtf']['a2']}, "  # type: ignore[index]
        f"B {found['rtf']['b']}",  # type: ignore[index]
        f"A/A false alarms (paired, as ab): {alarms}/{total}  {aa}",
        f"A/A false alarms (unpaired, Welch): {alarms_un}/{total}  {un}",
        f"A/B detection of the slowdown (paired): {ab.get('slower', 0)}/{total}  {ab}",
        f"today's within-run test, A against A' one run each: "
        f"{found['within_run_significant']}/{found['within_run_pairs']} 'significant'",
    ])


if __name__ == "__main__":
    raise SystemExit(main())
