"""Reports: the JSON results file (written atomically) and the terminal summary table.

A report is never half-written: it is written beside its path and renamed over it, with the
permissions any new file gets (the umask's), and it says whether the run finished (``complete``)
and which utterances produced no result (``failures``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asrbench.bench.results import FailedUtterance, RunSummary, UtteranceResult
from asrbench.core.files import write_atomic
from asrbench.core.identity import machine_fingerprint
from asrbench.core.jsonsafe import clean_json

__all__ = ["READABLE_VERSIONS", "REPORT_VERSION", "build_report", "format_summary", "write_json_atomic"]

#: The report schema's version (``asrbench/report.schema.json``); raised on incompatible changes.
REPORT_VERSION = 3
#: Report versions compare and merge read (2: before the figures table's cost figures).
READABLE_VERSIONS = (2, 3)


def build_report(
    runs: Sequence[RunSummary],
    utterances: Iterable[UtteranceResult],
    *,
    skipped: dict[tuple[str, str], str],
    normaliser: str,
    software: dict[str, Any],
    failures: Iterable[FailedUtterance] = (),
    complete: bool = True,
    datasets: Sequence[dict[str, Any]] = (),
    shard: dict[str, int] | None = None,
    machine: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON report (schema ``report.schema.json``, version :data:`REPORT_VERSION`).

    ``complete`` is false when the session was interrupted or crashed; ``shard`` is set when the run
    covered one shard of each dataset (``asrbench merge`` puts the shards back together).
    """
    cleaned: dict[str, Any] = clean_json({
        "version": REPORT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "complete": complete,
        "machine": machine or machine_fingerprint(),
        "software": software,
        "normaliser": normaliser,
        "shard": shard,
        "datasets": list(datasets),
        "runs": [run.as_dict() for run in runs],
        "utterances": [u.as_dict() for u in utterances],
        "failures": [f.as_dict() for f in failures],
        "skipped": [{"model": m, "device": d, "reason": r} for (m, d), r in skipped.items()],
    })
    return cleaned


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON, atomically (see :func:`asrbench.core.files.write_atomic`)."""
    write_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def _pct(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{100 * value:.1f}"


def _num(value: float | None, digits: int = 2) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    text = f"{value:.{digits}f}"
    return text if len(text) <= 7 else f"{value:.1e}"


def _compact(run: RunSummary) -> str:
    """The compact figures of the table (:mod:`asrbench.bench.figures`) measured on ``run``."""
    from asrbench.bench.figures import figures

    parts = []
    for fig in figures():
        value = run.figures.get(fig.name)
        if fig.compact and value is not None and value.value is not None:
            parts.append(f"{fig.label} {fig.format(value.value)}")
    return "  ".join(parts)


def format_summary(runs: Sequence[RunSummary], skipped: dict[tuple[str, str], str],
                   *, width: int = 80) -> list[str]:
    """Lines for the terminal: one row per run, then the skipped combinations with reasons.

    Two rows per run keep it inside 80 columns: accuracy on the first, speed on the second.
    """
    lines: list[str] = []
    if runs:
        head1 = (f"{'model / device / dataset':<38} {'utts':>4} {'audio s':>7} {'WER%':>6} "
                 f"{'95% CI':>11} {'CER%':>5}")
        head2 = (f"{'':<4}{'RTF':>7} {'RTFx':>7} {'p50 s':>7} {'p95 s':>7} {'1st s':>7} "
                 f"{'load s':>7}  precision / memory")
        lines += [head1, head2, "-" * min(width, max(len(head1), len(head2)))]
        for run in runs:
            name = f"{run.model} / {run.device} / {run.dataset}"
            if len(name) > 38:
                name = name[:37] + "…"
            low, high = run.wer_ci
            ci = (f"{_pct(low)}-{_pct(high)}" if math.isfinite(low) and math.isfinite(high)
                  else "no interval")  # one utterance: never a zero-width interval
            lines.append(f"{name:<38} {run.utterances:>4} {run.audio_seconds:>7.1f} "
                         f"{_pct(run.wer):>6} {ci:>11} {_pct(run.cer):>5}")
            precision = run.engine_info.get("precision")
            parts = [str(precision)] if precision else []
            memory = run.info.get("memory_bytes")
            if memory:
                kind = str(run.info.get("memory_kind", "")).split(" (")[0]
                parts.append(f"{kind} {memory / 2**20:.0f} MiB")
                growth = run.info.get("memory_growth_bytes")
                if growth is not None:
                    parts[-1] += f" (+{growth / 2**20:.0f} over pre-load)"
            extra = ", ".join(parts)
            lines.append(f"{'':<4}{_num(run.rtf, 3):>7} {_num(run.rtfx, 1):>7} "
                         f"{_num(run.latency_p50, 3):>7} {_num(run.latency_p95, 3):>7} "
                         f"{_num(run.info.get('first_call_latency'), 3):>7} "
                         f"{_num(run.load_seconds):>7}  {extra}")
            compact = _compact(run)
            if compact:
                lines.append(f"{'':<4}{compact}")
            if run.info.get("mps_fallback"):
                lines.append(f"{'':<4}MPS with CPU fallback: PYTORCH_ENABLE_MPS_FALLBACK was set, so "
                             "ops MPS lacks ran on the CPU")
    for protocol in dict.fromkeys(str(run.info["protocol"]) for run in runs
                                  if run.info.get("protocol")):
        lines.append(f"latency: {protocol}")
    if runs:
        lines.append("p50/p95: percentiles over each run's utterances (utts); with few utterances "
                     "p95 is an interpolation, not a tail estimate")
    if skipped:
        lines.append("skipped:")
        for (model, device), reason in skipped.items():
            reason = reason.removeprefix(f"{device}: ")
            lines.append(f"  {model} / {device}: {reason}")
    return lines
