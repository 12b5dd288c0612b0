"""Merge shard reports into one run, and save it where ``asrbench compare`` finds it.

Each shard (``--asr-shard I/N``) writes a report with its part of every dataset. Merging recomputes
every figure from the utterances, never by averaging shard figures: corpus WER and CER from summed
counts with a bootstrap interval over all utterances, RTFx = Σ audio / Σ compute, latency
percentiles over all utterances. It refuses, naming the cause: a shard missing or given twice, an
utterance in two shards or in none, shards of different datasets, models or normalisers, and timings
measured on different machines unless ``allow_cross_machine`` (then the merged run says so).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asrbench.bench.results import CORE_FIELDS, RunKey, UtteranceResult, summarise
from asrbench.core.errors import ConfigError
from asrbench.reporting.history import read_block
from asrbench.reporting.report import (
    READABLE_VERSIONS,
    REPORT_VERSION,
    build_report,
    write_json_atomic,
)
from asrbench.reporting.schema import validate

__all__ = ["load_report", "merge_reports", "save_merged"]

#: Identity fields every shard of one run must agree on.
_SAME = ("engine", "model", "model_hash", "options", "device", "dataset", "dataset_hash",
         "normaliser")


def load_report(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A report (or the ``asrbench`` block of a saved benchmark file) and any benchmark records."""
    data, block = read_block(path)
    if block.get("version") not in READABLE_VERSIONS:
        raise ConfigError(f"{path}: report version {block.get('version')!r}; this asrbench merges "
                          f"versions {', '.join(map(str, READABLE_VERSIONS))} (writes {REPORT_VERSION})")
    problems = validate(block)
    if problems:
        raise ConfigError(f"{path}: not a valid report ({'; '.join(problems[:3])})")
    benchmarks = data.get("benchmarks", []) if "asrbench" in data else []
    return block, list(benchmarks)


def _check_shards(paths: Sequence[Path], reports: Sequence[dict[str, Any]]) -> None:
    counts = set()
    seen: dict[int, Path] = {}
    for path, rep in zip(paths, reports, strict=True):
        shard = rep.get("shard")
        if not shard:
            raise ConfigError(f"{path}: not a shard report (run with --asr-shard I/N)")
        counts.add(int(shard["count"]))
        if int(shard["index"]) in seen:
            raise ConfigError(f"{path}: shard {shard['index']}/{shard['count']} given twice "
                              f"(also {seen[int(shard['index'])]})")
        seen[int(shard["index"])] = path
    if len(counts) != 1:
        raise ConfigError(f"shards of different splits: N = {sorted(counts)}")
    [count] = counts
    missing = [str(i) for i in range(1, count + 1) if i not in seen]
    if missing:
        raise ConfigError(f"missing shard {', '.join(f'{m}/{count}' for m in missing)}")


def _machines(paths: Sequence[Path], reports: Sequence[dict[str, Any]],
              allow_cross_machine: bool) -> dict[str, Any]:
    ids = {str(r.get("machine", {}).get("id")) for r in reports}
    if len(ids) == 1:
        machine: dict[str, Any] = dict(reports[0]["machine"])
        return machine
    if not allow_cross_machine:
        names = ", ".join(f"{p} ({r.get('machine', {}).get('node')})"
                          for p, r in zip(paths, reports, strict=True))
        raise ConfigError(f"shards were timed on different machines: {names}; their timings do "
                          "not add up like for like (pass --allow-cross-machine to merge anyway)")
    machines = [r["machine"] for r in reports]
    first = dict(machines[0])
    first["id"] = "mixed-" + hashlib.sha256("|".join(sorted(ids)).encode()).hexdigest()[:8]
    first["node"] = "+".join(sorted({str(m.get("node")) for m in machines}))
    first["mixed"] = machines
    return first


def merge_reports(paths: Sequence[Path], *, allow_cross_machine: bool = False) -> dict[str, Any]:
    """One report from the shard reports at ``paths`` (see the module docstring for the checks)."""
    if not paths:
        raise ConfigError("merge: no reports given")
    loaded = [load_report(Path(p)) for p in paths]
    reports = [rep for rep, _ in loaded]
    _check_shards(paths, reports)
    normalisers = {r["normaliser"] for r in reports}
    if len(normalisers) > 1:
        raise ConfigError(f"shards scored with different normalisers: {sorted(normalisers)}")
    machine = _machines(paths, reports, allow_cross_machine)
    datasets: dict[str, dict[str, Any]] = {}
    for path, rep in zip(paths, reports, strict=True):
        for ds in rep.get("datasets", []):
            known = datasets.setdefault(ds["name"], ds)
            if known.get("hash") != ds.get("hash"):
                raise ConfigError(f"{path}: dataset {ds['name']!r} differs from another shard's "
                                  f"(manifest hash {ds.get('hash')} vs {known.get('hash')})")
    results: dict[RunKey, dict[str, UtteranceResult]] = {}
    where: dict[tuple[RunKey, str], Path] = {}
    for path, rep in zip(paths, reports, strict=True):
        for record in rep["utterances"]:
            result = UtteranceResult.from_dict(record)
            known = results.setdefault(result.run_key, {})
            if result.id in known:
                raise ConfigError(f"utterance {result.dataset}/{result.id} of {result.model} on "
                                  f"{result.device} is in two shards: "
                                  f"{where[result.run_key, result.id]} and {path}")
            known[result.id] = result
            where[result.run_key, result.id] = path
    failures = [f for rep in reports for f in rep.get("failures", [])]
    runs_by_key: dict[RunKey, list[dict[str, Any]]] = {}
    for rep in reports:
        for run in rep["runs"]:
            runs_by_key.setdefault(RunKey(run["model"], run["device"], run["dataset"]), []).append(run)
    summaries = []
    for key, parts in runs_by_key.items():
        for part in parts[1:]:
            for name in _SAME:
                if part["identity"].get(name) != parts[0]["identity"].get(name):
                    raise ConfigError(f"{key}: shards disagree on {name} "
                                      f"({parts[0]['identity'].get(name)!r} vs "
                                      f"{part['identity'].get(name)!r})")
        rows = list(results.get(key, {}).values())
        expected = datasets.get(key.dataset, {}).get("ids")
        if expected is not None:
            have = {r.id for r in rows}
            missing = [uid for uid in expected if uid not in have]
            if missing:
                failed = {f["id"] for f in failures
                          if RunKey(f["model"], f["device"], f["dataset"]) == key}
                shown = ", ".join(uid + (" (failed)" if uid in failed else "") for uid in missing[:5])
                raise ConfigError(f"{key}: {len(missing)} utterance(s) in no shard: "
                                  f"{shown}{', …' if len(missing) > 5 else ''}")
        rows.sort(key=lambda r: expected.index(r.id) if expected else 0)
        facts = {k: v for k, v in parts[0].items() if k not in CORE_FIELDS}
        facts["engine_info"] = parts[0].get("engine_info", {})
        memory = [p["memory_bytes"] for p in parts if p.get("memory_bytes")]
        if memory:
            facts["memory_bytes"] = max(memory)
        identity = dict(parts[0]["identity"])
        identity["machine"] = machine["id"]
        summaries.append(summarise(rows, normaliser=parts[0]["normaliser"], info=facts,
                                   identity=identity))
    skipped = {(s["model"], s["device"]): s["reason"] for rep in reports for s in rep["skipped"]}
    merged = build_report(
        summaries, [r for key in sorted(results) for r in _in_order(results[key], datasets)],
        skipped=skipped, normaliser=reports[0]["normaliser"], software=reports[0]["software"],
        failures=[], complete=all(r.get("complete", False) for r in reports),
        datasets=list(datasets.values()), shard=None, machine=machine)
    merged["failures"] = failures
    merged["merged_from"] = [{"report": str(p), "shard": r["shard"], "machine": r["machine"]["id"],
                              "created": r["created"]} for p, r in zip(paths, reports, strict=True)]
    return merged


def _in_order(rows: dict[str, UtteranceResult],
              datasets: dict[str, dict[str, Any]]) -> list[UtteranceResult]:
    """One run's utterances in their dataset's order (ids it does not list last, by id)."""
    def position(uid: str) -> tuple[int, str]:
        ids = datasets.get(rows[uid].dataset, {}).get("ids") or []
        return (ids.index(uid) if uid in ids else len(ids), uid)

    return [rows[uid] for uid in sorted(rows, key=position)]


def save_merged(report: dict[str, Any], storage: Path,
                benchmarks: Sequence[dict[str, Any]] = ()) -> Path:
    """Write the merged run into pytest-benchmark's storage as the machine folder's next run."""
    folder = Path(storage) / str(report["machine"].get("folder") or "merged")
    numbers = [int(m.group(1)) for p in folder.glob("*.json")
               if (m := re.match(r"^(\d+)_", p.name))]
    number = max(numbers, default=0) + 1
    now = datetime.now(UTC)
    path = folder / f"{number:04d}_merged_{now.strftime('%Y%m%d_%H%M%S')}.json"
    write_json_atomic(path, {
        "machine_info": {"node": report["machine"].get("node")},
        "commit_info": {},
        "benchmarks": list(benchmarks),
        # when it was saved, to the microsecond as pytest-benchmark writes it: compare's "two most
        # recent" must put a merge after a run saved earlier in the same second
        "datetime": now.isoformat(),
        "version": "asrbench-merge",
        "asrbench": report,
    })
    return path
