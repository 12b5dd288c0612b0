"""Saved runs: pytest-benchmark's storage (``.benchmarks``) or a JSON report, read back per run.

A saved run is named by its machine folder and id (``Linux-CPython-3.12-64bit/0003``): two machines
may both have a run ``0003``. Within it, figures are keyed by model × device × dataset; they come
from the ``asrbench`` block that the plugin adds to every saved pytest-benchmark file
(``pytest_benchmark_update_json``). ``host`` is the measuring machine's fingerprint id, which tells
whether two runs' timings are like for like.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asrbench.core.errors import ConfigError

__all__ = ["SavedRun", "find_runs", "load_run", "read_block"]

Key = tuple[str, str, str]


@dataclass(frozen=True)
class SavedRun:
    """One saved session: its id, when, and per model × device × dataset figures."""

    id: str
    path: Path
    created: str
    runs: dict[Key, dict[str, Any]]
    utterances: list[dict[str, Any]]
    machine: str = ""
    host: str | None = None
    host_name: str | None = None

    @property
    def name(self) -> str:
        """``MACHINE/ID``: unique across the machine folders of one storage."""
        return f"{self.machine}/{self.id}" if self.machine else self.id


def read_block(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The whole JSON file and its asrbench block: a report, or a saved benchmark's ``asrbench``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read saved run ({exc})") from exc
    block = data.get("asrbench", data) if isinstance(data, dict) else None
    if not isinstance(block, dict) or "runs" not in block:
        raise ConfigError(f"{path}: no asrbench results in this file (was the run made with "
                          "the asrbench plugin installed?)")
    return data, block


def load_run(path: Path) -> SavedRun:
    """Read a pytest-benchmark JSON file (with its ``asrbench`` block) or an asrbench report."""
    data, block = read_block(path)
    runs = {(r["model"], r["device"], r["dataset"]): r for r in block["runs"]}
    created = str(data.get("datetime") or block.get("created") or "")
    found = block.get("machine")
    machine: dict[str, Any] = found if isinstance(found, dict) else {}
    folder = Path(path).parent.name if "asrbench" in data else ""
    return SavedRun(_run_id(Path(path)), Path(path), created, runs, block.get("utterances", []),
                    machine=folder or str(machine.get("folder") or ""),
                    host=machine.get("id") or _legacy_host(machine),
                    host_name=machine.get("node"))


def _legacy_host(machine: dict[str, Any]) -> str | None:
    """Reports before schema 2 had no fingerprint id: the host name stands in for it."""
    return str(machine["node"]) if machine.get("node") else None


def _run_id(path: Path) -> str:
    """pytest-benchmark names files ``NNNN_<commit>_<date>.json``; the number is the id."""
    head = path.stem.split("_", 1)[0]
    return head if head.isdigit() else path.stem


def _name(path: Path) -> str:
    return f"{path.parent.name}/{_run_id(path)}"


def find_runs(storage: Path, selectors: list[str]) -> list[SavedRun]:
    """Runs named by ``[MACHINE/]ID`` (``0003``, ``Linux-CPython-3.12-64bit/0003``), id prefix,
    path, or glob (``ab/a-*.json`` on disk, else ``*_ab-a*`` over the storage's run files, in
    name order); with none named, the two most recent (by the time they were saved).

    An id that more than one machine folder holds is refused unless its machine is named.
    """
    files = sorted(Path(storage).glob("*/*.json"), key=lambda p: (p.name, str(p)))
    if not selectors:
        if not files:
            raise ConfigError(f"{storage}: no saved runs (run pytest with --benchmark-autosave)")
        runs = [load_run(p) for p in files]
        return sorted(runs, key=lambda r: (r.created, r.id, r.machine))[-2:]
    chosen: list[SavedRun] = []
    for selector in selectors:
        candidate = Path(selector)
        if any(c in selector for c in "*?[") and not candidate.is_file():
            chosen += _glob_runs(storage, files, selector)
            continue
        if candidate.is_file():
            chosen.append(load_run(candidate))
            continue
        folder, _, run = selector.rpartition("/")
        matches = [p for p in files if (not folder or p.parent.name == folder)
                   and (p.name.startswith(run) or _run_id(p) == run)]
        if not matches:
            known = ", ".join(_name(p) for p in files) or "none"
            raise ConfigError(f"run {selector!r}: not found in {storage}; saved runs: {known}")
        machines = sorted({p.parent.name for p in matches})
        if len(machines) > 1:
            raise ConfigError(f"run {selector!r}: saved by more than one machine "
                              f"({', '.join(machines)}); name it as MACHINE/{run}")
        chosen.append(load_run(matches[-1]))
    return chosen


def _glob_runs(storage: Path, files: list[Path], pattern: str) -> list[SavedRun]:
    """A glob's runs: files it matches on disk, else saved runs whose ``MACHINE/FILE`` or file
    name it matches."""
    from fnmatch import fnmatch
    from glob import glob

    on_disk = sorted(Path(p) for p in glob(pattern) if Path(p).is_file())
    found = on_disk or [p for p in files if fnmatch(f"{p.parent.name}/{p.name}", pattern)
                        or fnmatch(p.name, pattern) or fnmatch(_name(p), pattern)]
    if not found:
        raise ConfigError(f"run {pattern!r}: the pattern matches no file and no run saved in "
                          f"{storage}")
    return [load_run(p) for p in found]
