"""Saved runs: pytest-benchmark's storage (``.benchmarks``) or a JSON report, read back per run.

A run is keyed by model × device × dataset; its figures come from the ``asrbench`` block that the
plugin adds to every saved pytest-benchmark file (``pytest_benchmark_update_json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asrbench.errors import ConfigError

__all__ = ["SavedRun", "find_runs", "load_run"]

Key = tuple[str, str, str]


@dataclass(frozen=True)
class SavedRun:
    """One saved session: its id, when, and per model × device × dataset figures."""

    id: str
    path: Path
    created: str
    runs: dict[Key, dict[str, Any]]
    utterances: list[dict[str, Any]]


def load_run(path: Path) -> SavedRun:
    """Read a pytest-benchmark JSON file (with its ``asrbench`` block) or an asrbench report."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read saved run ({exc})") from exc
    block = data.get("asrbench", data) if isinstance(data, dict) else None
    if not isinstance(block, dict) or "runs" not in block:
        raise ConfigError(f"{path}: no asrbench results in this file (was the run made with "
                          "the asrbench plugin installed?)")
    runs = {(r["model"], r["device"], r["dataset"]): r for r in block["runs"]}
    created = str(data.get("datetime") or block.get("created") or "")
    return SavedRun(_run_id(Path(path)), Path(path), created, runs, block.get("utterances", []))


def _run_id(path: Path) -> str:
    """pytest-benchmark names files ``NNNN_<commit>_<date>.json``; the number is the id."""
    head = path.stem.split("_", 1)[0]
    return head if head.isdigit() else path.stem


def find_runs(storage: Path, selectors: list[str]) -> list[SavedRun]:
    """Runs named by id (``0003``), id prefix or path; with none named, the two most recent."""
    files = sorted(Path(storage).glob("*/*.json"), key=lambda p: (p.name, str(p)))
    if not selectors:
        if not files:
            raise ConfigError(f"{storage}: no saved runs (run pytest with --benchmark-autosave)")
        return [load_run(p) for p in files[-2:]]
    chosen: list[SavedRun] = []
    for selector in selectors:
        candidate = Path(selector)
        if candidate.is_file():
            chosen.append(load_run(candidate))
            continue
        matches = [p for p in files if p.name.startswith(selector) or _run_id(p) == selector]
        if not matches:
            known = ", ".join(_run_id(p) for p in files) or "none"
            raise ConfigError(f"run {selector!r}: not found in {storage}; saved runs: {known}")
        chosen.append(load_run(matches[-1]))
    return chosen
