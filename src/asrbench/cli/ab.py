"""``asrbench ab``: two pytest commands run alternately on one machine, then judged run by run.

Each pair runs A and B back to back, each in a fresh process, in an order drawn from a seeded
generator (the seed is printed and recorded), so whatever drifts during the session (the
machine's clock speed, its neighbours, its caches) falls on both sides alike and cancels in the
pair's ratio. Every run writes its own ``--asr-report`` file into the output folder and, unless
``--no-save``, is also saved into the benchmark storage under a label (``ab-SEED-a``). The answer
is :mod:`asrbench.reporting.sides` on the pairs: per timing figure the ratio B / A with its 95 %
interval and a verdict (``slower``, ``faster``, ``equivalent``, ``no decision``).
"""

from __future__ import annotations

import json
import random
import secrets
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from asrbench.core.errors import ConfigError
from asrbench.reporting.compare import Gate
from asrbench.reporting.history import SavedRun

__all__ = ["AbResult", "Side", "compare_sides_and_gate", "pair_orders", "run_ab"]

#: Runs a command (argv, working folder, log file) and returns its exit status.
Launch = Callable[[list[str], Path, Path], int]


@dataclass(frozen=True)
class Side:
    """One side of an A/B: its pytest arguments, the Python that runs them, and where."""

    name: str
    args: str
    python: str = sys.executable
    cwd: Path = Path()


@dataclass(frozen=True)
class AbResult:
    seed: int
    orders: list[str]
    reports_a: list[Path]
    reports_b: list[Path]
    folder: Path


def pair_orders(pairs: int, seed: int) -> list[str]:
    """Which side runs first in each pair (``"AB"`` or ``"BA"``), drawn from ``seed``."""
    rng = random.Random(seed)
    return ["AB" if rng.random() < 0.5 else "BA" for _ in range(pairs)]


def _launch(argv: list[str], cwd: Path, log: Path) -> int:
    with log.open("w", encoding="utf-8") as out:
        return subprocess.call(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)


def run_ab(a: Side, b: Side, *, pairs: int, folder: Path, seed: int | None = None,
           storage: Path | None = None, launch: Launch | None = None,
           say: Callable[[str], None] = print) -> AbResult:
    """Run ``pairs`` pairs of A and B, each run in a fresh process (``launch``, by default a
    subprocess whose output goes to the run's log); the reports' paths back."""
    launch = launch or _launch
    if pairs < 1:
        raise ConfigError(f"--pairs {pairs}: expected 1 or more (3 or more for a verdict)")
    seed = secrets.randbelow(2**32) if seed is None else seed
    orders = pair_orders(pairs, seed)
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    sides = {"A": a, "B": b}
    reports: dict[str, list[Path]] = {"A": [], "B": []}
    say(f"asrbench ab: {pairs} pairs, seed {seed}, reports in {folder}")
    for index, order in enumerate(orders, start=1):
        for name in order:
            side = sides[name]
            report = folder / f"{name.lower()}-{index:02d}.json"
            if report.exists():
                raise ConfigError(f"{report}: already exists; give ab a new --out folder")
            argv = [side.python, "-m", "pytest", *shlex.split(side.args),
                    "--asr-report", str(report), "-p", "no:cacheprovider"]
            if storage is not None:
                argv += ["--benchmark-save", f"ab-{seed}-{name.lower()}",
                         "--benchmark-storage", str(storage.resolve())]
            log = report.with_suffix(".log")
            started = time.perf_counter()
            code = launch(argv, side.cwd, log)
            took = time.perf_counter() - started
            say(f"  pair {index}/{pairs} {name}: pytest exited {code} in {took:.1f} s ({log.name})")
            if not report.is_file():
                raise ConfigError(f"{log}: side {name}'s pytest (exit {code}) wrote no report; "
                                  f"command: {shlex.join(argv)}")
            reports[name].append(report)
    manifest = {"seed": seed, "pairs": pairs, "orders": orders,
                "a": {"args": a.args, "python": a.python, "cwd": str(a.cwd)},
                "b": {"args": b.args, "python": b.python, "cwd": str(b.cwd)},
                "created": datetime.now(UTC).isoformat(timespec="seconds")}
    (folder / "ab.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return AbResult(seed, orders, reports["A"], reports["B"], folder)


def compare_sides_and_gate(base: Sequence[SavedRun], new: Sequence[SavedRun], *,
                           gates: list[Gate], paired: bool, margin: str = "5%",
                           output: str = "table", significant: bool = False,
                           allow_cross_machine: bool = False) -> int:
    """Print the side-by-side compare and apply the gates: 0 pass, 1 ``slower`` (or a WER
    gate broke), 2 ``no decision`` on a timing gate."""
    from asrbench.reporting import sides, sides_format

    found_margin = sides.parse_margin(margin)
    rows = sides.compare_sides(base, new, paired=paired, margin=found_margin,
                               margins={g.metric: g.limit / 100 for g in gates if g.relative})
    if output == "csv":
        sys.stdout.write(sides_format.format_sides_csv(rows))
    elif output == "json":
        print(sides_format.format_sides_json(rows))
    elif output == "markdown":
        sys.stdout.write(sides_format.format_sides_markdown(rows))
    else:
        print(sides_format.format_sides_table(rows, base, new))
    notes: list[str] = []
    try:
        failed, undecided = sides.side_failures(rows, gates, significant_only=significant,
                                                allow_cross_machine=allow_cross_machine,
                                                notes=notes)
    finally:
        for message in notes:
            print(f"NOTE {message}", file=sys.stderr)
    for message in undecided:
        print(f"NO DECISION {message}", file=sys.stderr)
    for message in failed:
        print(f"FAIL {message}", file=sys.stderr)
    return 1 if failed else 2 if undecided else 0
