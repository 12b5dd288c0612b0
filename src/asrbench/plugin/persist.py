"""Results are never lost: the report at the end, on Ctrl-C, on a crash, and every minute between.

pytest calls ``pytest_sessionfinish`` also after Ctrl-C (KeyboardInterrupt) and after an internal
error, so the report is written then, marked ``"complete": false``. A process that is killed
outright (SIGKILL, out of host memory) leaves the last checkpoint: the report is rewritten, also
incomplete, at most every :data:`CHECKPOINT_SECONDS` while tests run. Every write is atomic
(:func:`asrbench.core.files.write_atomic`), pytest-benchmark's ``--benchmark-json`` included,
and an existing file is not replaced unless ``--asr-report-overwrite`` says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from asrbench.core.errors import ConfigError
from asrbench.core.files import write_atomic
from asrbench.reporting import report

__all__ = ["CHECKPOINT_SECONDS", "Checkpoints", "atomic_benchmark_json", "check_outputs",
           "run_complete", "storage"]

CHECKPOINT_SECONDS = 60.0


def run_complete(session: pytest.Session | None) -> bool:
    """Whether every selected test ran: not interrupted, not crashed, not stopped by ``-x``."""
    if session is None:
        return False
    interrupted = session.exitstatus in (pytest.ExitCode.INTERRUPTED,
                                         pytest.ExitCode.INTERNAL_ERROR)
    return not (interrupted or session.shouldstop or session.shouldfail)


class Checkpoints:
    """A pytest plugin object: rewrites the report (incomplete) every ``every`` seconds."""

    def __init__(self, path: Path, build: Callable[[bool], dict[str, Any]],
                 *, every: float = CHECKPOINT_SECONDS) -> None:
        self.path = path
        self.build = build
        self.every = every
        self.last = time.monotonic()

    def pytest_runtest_logfinish(self) -> None:
        if time.monotonic() - self.last >= self.every:
            report.write_json_atomic(self.path, self.build(False))
            self.last = time.monotonic()


def storage(config: pytest.Config) -> Path:
    """pytest-benchmark's storage folder (``--benchmark-storage``), where saved runs are found."""
    where = str(getattr(config.option, "benchmark_storage", None) or ".benchmarks")
    return config.invocation_params.dir / where.removeprefix("file://")


def check_outputs(config: pytest.Config, report: Path | None, *, overwrite: bool) -> None:
    """Refuse to start when ``--asr-report`` or ``--benchmark-json`` would replace an earlier
    run's file; ``--asr-report-overwrite`` allows it."""
    for flag, path in (("--asr-report", report),
                       ("--benchmark-json", config.getoption("benchmark_json", None))):
        if path is not None and Path(path).exists() and not overwrite:
            raise ConfigError(f"{flag} {path}: file exists (an earlier run's results); choose "
                              "another path, or pass --asr-report-overwrite to replace it")


def atomic_benchmark_json(config: pytest.Config) -> None:
    """Make pytest-benchmark write ``--benchmark-json`` through a temporary file and a rename."""
    bench = getattr(config, "_benchmarksession", None)
    if bench is None or not getattr(bench, "json", None):
        return
    from pytest_benchmark.utils import safe_dumps

    def save_json(output_json: dict[str, Any]) -> None:
        write_atomic(Path(bench.json),
                                 safe_dumps(output_json, ensure_ascii=True, indent=4))  # type: ignore[no-untyped-call]

    bench.save_json = save_json
