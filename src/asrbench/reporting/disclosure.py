"""Disclosure: what it takes to reproduce a run's timings, recorded with every run and compared.

Each run in a report carries a ``disclosure`` block: batch size, precision (compute type), attention
implementation where the engine has one, decoding options, warm-up and measured rounds, what the
clock covers, a streaming run's chunk size, clock mode and policy with its parameters, threads,
the versions of the engine stack, the CPU (model, cores), memory, the GPUs (name, memory) and
driver, and the machine's load average before the run (read when the settings
were built) and after it (read when the report is written), so a shared machine shows. A fact
that cannot be read is ``None`` with a ``<name>_reason`` beside it (from
:mod:`asrbench.hardware.machine`).

:func:`conditions_differ` names what differs between two runs' blocks ("threads 1 vs 2"); reports
older than the block have none and are never flagged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["CLOCK", "COMPARED", "LOAD_MARGIN", "STREAM_FACTS", "attach", "before_run", "conditions_differ",
           "run_disclosure"]

#: What every latency's clock covers (see :mod:`asrbench.bench.protocol`).
CLOCK = ("engine.transcribe (transcribe_batch in throughput mode) and a device synchronise; "
         "audio decoding and resampling happen before, outside the clock")

#: The facts two runs must share for their timings to be like for like, with their labels.
COMPARED: tuple[tuple[str, str], ...] = (
    ("batch_size", "batch"), ("throughput_batch_size", "throughput batch"),
    ("precision", "precision"), ("compute_type", "compute type"),
    ("attn_implementation", "attention"), ("decoding", "decoding"), ("options", "model options"),
    ("warmup_rounds", "warm-up rounds"), ("measured_rounds", "measured rounds"), ("fast", "fast"),
    ("clock", "clock"), ("threads", "threads"), ("engine_threads", "engine threads"),
    ("device_name", "device"), ("cpu_model", "CPU"), ("cpu_logical_cores", "logical cores"),
    ("cpu_allowed_cores", "allowed cores"), ("memory_bytes", "memory"), ("gpus", "GPUs"),
    ("gpu_driver", "GPU driver"), ("stream_chunk_ms", "stream chunk ms"),
    ("stream_clock", "stream clock"), ("stream_policy", "stream policy"),
)

#: A streaming run's conditions, in its disclosure block only when it streamed.
STREAM_FACTS = ("stream_chunk_ms", "stream_clock", "stream_compute_clock", "stream_policy")

#: Load averages (1 minute) that differ by at least this much (one busy core) are flagged.
LOAD_MARGIN = 1.0


def before_run() -> dict[str, Any]:
    """The machine's facts and its load average, read once when the run's settings are built."""
    from asrbench.hardware.machine import load_average, machine_facts

    load = load_average()
    facts = machine_facts()
    facts["load_average_before"] = load["load_average"]
    if "load_average_reason" in load:
        facts["load_average_reason"] = load["load_average_reason"]
    return facts


def run_disclosure(run: Mapping[str, Any], *, machine: Mapping[str, Any],
                   software: Mapping[str, Any], batch_size: int | None) -> dict[str, Any]:
    """One run's block from its report figures (``run``), the machine facts (``before_run`` plus
    ``load_average_after``), the report's package versions and the throughput batch size."""
    info = run.get("engine_info") or {}
    identity = run.get("identity") or {}
    versions = {str(k): v for k, v in software.items()}
    versions.update({k.removesuffix("_version"): v for k, v in info.items()
                     if k.endswith("_version") and k != "engine_version"})
    if info.get("engine_version") is not None and identity.get("engine"):
        versions.setdefault(str(identity["engine"]), info["engine_version"])
    block: dict[str, Any] = {
        "batch_size": 1,  # latency and RTF: one utterance per call
        "throughput_batch_size": batch_size,
        "precision": info.get("precision"),
        "compute_type": info.get("compute_type"),
        "attn_implementation": info.get("attn_implementation"),
        "decoding": info.get("decoding"),
        "options": identity.get("options"),
        "warmup_rounds": run.get("warmup_rounds"),
        "measured_rounds": run.get("measured_rounds"),
        "fast": run.get("fast"),
        "clock": CLOCK,
        "threads": run.get("threads"),
        "threads_source": run.get("threads_source"),
        "threads_applied_to": run.get("threads_applied_to"),
        "engine_threads": info.get("cpu_threads"),
        "device_name": run.get("device_name"),
        "versions": versions,
    }
    block.update({key: run[key] for key in STREAM_FACTS if run.get(key) is not None})
    block.update(machine)
    return block


def attach(report: dict[str, Any], before: Mapping[str, Any], *,
           batch_size: int | None) -> dict[str, Any]:
    """Add every run's ``disclosure`` to ``report`` (in place), reading the load average now."""
    from asrbench.hardware.machine import load_average

    machine = dict(before) if before else before_run()
    machine["load_average_after"] = load_average()["load_average"]
    software = report.get("software")
    for run in report.get("runs", []):
        run["disclosure"] = run_disclosure(
            run, machine=machine, software=software if isinstance(software, dict) else {},
            batch_size=batch_size)
    return report


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        if value and all(isinstance(g, dict) and "name" in g for g in value):
            return ", ".join(f"{g['name']}" for g in value)  # GPUs: by name
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return "-" if value is None else str(value)


def _load(block: Mapping[str, Any]) -> float | None:
    values = [v for key in ("load_average_before", "load_average_after")
              for v in [block.get(key)] if isinstance(v, Sequence) and v]
    return max(float(v[0]) for v in values) if values else None


def conditions_differ(base: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    """What differs between two runs' disclosure blocks, each as ``label old vs new``.

    Facts unknown to either run (older reports) are not compared; package versions are compared
    one by one; the load average only when the busier run's exceeds the other's by
    :data:`LOAD_MARGIN` (one busy core), since it is never exactly the same.
    """
    if not base or not new:
        return []
    out = []
    for key, label in COMPARED:
        if key in base and key in new and base[key] != new[key]:
            out.append(f"{label} {_text(base[key])} vs {_text(new[key])}")
    old_v, new_v = base.get("versions") or {}, new.get("versions") or {}
    for name in sorted(set(old_v) & set(new_v)):
        if old_v[name] != new_v[name]:
            out.append(f"{name} {_text(old_v[name])} vs {_text(new_v[name])}")
    old_load, new_load = _load(base), _load(new)
    if old_load is not None and new_load is not None and abs(old_load - new_load) >= LOAD_MARGIN:
        out.append(f"load average {old_load:g} vs {new_load:g}")
    return out
