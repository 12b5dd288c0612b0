"""Run a benchmark as N shards through submitit (Slurm, or local processes), then merge them.

``asrbench submit --shards 4 --executor slurm -- tests/benchmarks --asr-model ...`` submits one
job per shard, each running ``pytest <args> --asr-shard I/4 --asr-report <folder>/shard-I-of-4.json``
in the current folder, waits for all of them, merges the reports (:mod:`asrbench.reporting.merge`) and saves
the merged run in the pytest-benchmark storage. ``--executor local`` runs the same jobs as local
processes, which is how this is tested.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asrbench.core.errors import ConfigError

__all__ = ["Submitted", "run_shard", "submit"]


@dataclass(frozen=True)
class Submitted:
    """What came back: each shard's pytest exit code, the merged report and where it was saved."""

    exit_codes: list[int]
    report: dict[str, Any]
    saved: Path


def run_shard(pytest_args: Sequence[str], index: int, count: int, report: str, cwd: str) -> int:
    """One job: pytest on shard ``index`` of ``count``, writing its report to ``report``."""
    command = [sys.executable, "-m", "pytest", *pytest_args, f"--asr-shard={index}/{count}",
               f"--asr-report={report}"]
    return subprocess.run(command, cwd=cwd, check=False).returncode


def _value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def submit(pytest_args: Sequence[str], *, shards: int, executor: str, folder: Path,
           storage: Path, parameters: Mapping[str, str] | None = None,
           allow_cross_machine: bool = False) -> Submitted:
    """Submit ``shards`` jobs, wait, merge and save; raises ConfigError when a shard wrote nothing."""
    if shards < 1:
        raise ConfigError(f"--shards {shards}: must be at least 1")
    if executor not in ("slurm", "local"):
        raise ConfigError(f"--executor {executor!r}: valid: slurm, local")
    try:
        import submitit
    except ImportError as exc:
        raise ConfigError("submit needs submitit (pip install 'pytest-asrbench[slurm]')") from exc
    from asrbench.reporting.merge import merge_reports, save_merged

    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    jobs_executor = submitit.AutoExecutor(folder=folder / "logs", cluster=executor)
    settings: dict[str, Any] = {"timeout_min": 60, "name": "asrbench"}
    settings.update({k: _value(v) for k, v in (parameters or {}).items()})
    try:
        jobs_executor.update_parameters(**settings)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"--param: {exc}") from exc
    reports = [folder / f"shard-{i}-of-{shards}.json" for i in range(1, shards + 1)]
    for report in reports:
        report.unlink(missing_ok=True)
    cwd = str(Path.cwd())
    jobs = [jobs_executor.submit(run_shard, list(pytest_args), i, shards, str(report), cwd)
            for i, report in enumerate(reports, start=1)]
    codes = [int(job.result()) for job in jobs]
    absent = [f"{i}/{shards} (pytest exit {codes[i - 1]})"
              for i, report in enumerate(reports, start=1) if not report.is_file()]
    if absent:
        raise ConfigError(f"shard(s) {', '.join(absent)} wrote no report; logs in {folder / 'logs'}")
    merged = merge_reports(reports, allow_cross_machine=allow_cross_machine)
    return Submitted(codes, merged, save_merged(merged, storage))
