"""What the asrbench plugin costs a project that does not use it: ``pytest --co`` start-up time.

Runs ``pytest --collect-only`` in a throw-away project of ordinary tests, alternately with the
plugin (installed, loaded through its entry point) and with ``-p no:asrbench``, and prints the
medians (wall and CPU time), their difference and ratio. CPU time is the steadier
figure on a busy machine. Target: under 0.05 s more with the plugin.

    python benchmarks/plugin_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = "\n\n".join(f"def test_{i}():\n    assert {i} == {i}" for i in range(20)) + "\n"


def run_once(project: Path, *extra: str) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one ``pytest --co`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                    *extra], cwd=project, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each (default: 15)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="asrbench-startup-") as folder:
        project = Path(folder)
        (project / "test_plain.py").write_text(TESTS)
        (project / "pyproject.toml").write_text('[project]\nname = "unrelated"\nversion = "0"\n')
        run_once(project)  # warm the file-system cache and bytecode
        run_once(project, "-p", "no:asrbench")
        with_plugin, without = [], []
        for _ in range(args.runs):
            with_plugin.append(run_once(project))
            without.append(run_once(project, "-p", "no:asrbench"))
    print(f"pytest --co in a project of 20 plain tests, median of {args.runs} runs each")
    for what, index in (("wall", 0), ("CPU (user + system)", 1)):
        on = statistics.median(r[index] for r in with_plugin)
        off = statistics.median(r[index] for r in without)
        least = min(r[index] for r in with_plugin) - min(r[index] for r in without)
        print(f"  {what}: with asrbench {on:.3f} s, with -p no:asrbench {off:.3f} s; "
              f"plugin costs {on - off:+.3f} s (ratio {on / off:.3f}; target < +0.050 s); "
              f"difference of the minima {least:+.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
