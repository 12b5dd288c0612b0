"""Compare saved runs: WER, CER and RTF per model × device × dataset, with changes and gates.

The first run is the baseline. A WER change counts as beyond noise when the later run's WER lies
outside the baseline's bootstrap 95 % interval. Runs scored with different normalisers are not
compared (their WERs mean different things): the row says so instead of showing a delta.

Gates (``--fail-on``): ``wer:+0.5`` fails when WER rises by more than 0.5 points (percentage
points, absolute); ``rtf:+10%`` when RTF rises by more than 10 % of the baseline's (relative).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from asrbench.errors import ConfigError
from asrbench.history import Key, SavedRun

__all__ = ["Gate", "Row", "compare_runs", "format_csv", "format_json", "format_table", "parse_gate"]

_GATE = re.compile(r"^(wer|cer|rtf):\+?(\d+(?:\.\d+)?)(%?)$")


@dataclass(frozen=True)
class Gate:
    metric: str
    limit: float
    relative: bool

    def exceeded(self, base: float, new: float) -> bool:
        if self.relative:
            return new > base * (1 + self.limit / 100)
        scale = 100 if self.metric in ("wer", "cer") else 1  # WER limits are in points
        return (new - base) * scale > self.limit

    def __str__(self) -> str:
        return f"{self.metric}:+{self.limit:g}{'%' if self.relative else ''}"


def parse_gate(text: str) -> Gate:
    match = _GATE.match(text.strip().lower())
    if match is None:
        raise ConfigError(f"--fail-on {text!r}: expected METRIC:+N (points) or METRIC:+N% "
                          "(relative), METRIC one of wer, cer, rtf")
    metric, number, percent = match.groups()
    return Gate(metric, float(number), bool(percent))


@dataclass(frozen=True)
class Row:
    """One model × device × dataset across runs: values per run id, None where absent."""

    key: Key
    values: dict[str, dict[str, Any] | None]

    def comparable(self) -> bool:
        names = {v.get("normaliser") for v in self.values.values() if v is not None}
        return len(names) <= 1


def compare_runs(runs: list[SavedRun]) -> list[Row]:
    keys: list[Key] = []
    for run in runs:
        keys += [k for k in run.runs if k not in keys]
    return [Row(k, {run.id: run.runs.get(k) for run in runs}) for k in keys]


def _delta(base: dict[str, Any] | None, new: dict[str, Any] | None, metric: str) -> float | None:
    if base is None or new is None or base.get(metric) is None or new.get(metric) is None:
        return None
    return float(new[metric]) - float(base[metric])


def beyond_noise(base: dict[str, Any], new: dict[str, Any]) -> bool | None:
    interval = base.get("wer_ci95")
    if not interval or None in interval or new.get("wer") is None:
        return None
    return not (interval[0] <= new["wer"] <= interval[1])


def failures(rows: list[Row], gates: list[Gate]) -> list[str]:
    """Messages for every later run that breaks a gate against the first (baseline) run."""
    out = []
    for row in rows:
        ids = list(row.values)
        base = row.values[ids[0]]
        if base is None or not row.comparable():
            continue
        for run_id in ids[1:]:
            new = row.values[run_id]
            if new is None:
                continue
            for gate in gates:
                b, n = base.get(gate.metric), new.get(gate.metric)
                if b is not None and n is not None and gate.exceeded(float(b), float(n)):
                    out.append(f"{' / '.join(row.key)}: {gate.metric} {_fmt(gate.metric, b)} → "
                               f"{_fmt(gate.metric, n)} in run {run_id} (baseline {ids[0]}) "
                               f"breaks {gate}")
    return out


def _fmt(metric: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{100 * value:.1f}%" if metric in ("wer", "cer") else f"{value:.3f}"


def format_table(rows: list[Row]) -> str:
    """Per key: one line per run with WER (95 % CI), CER, RTF, RTFx, p50 and the change."""
    lines = []
    for row in rows:
        lines.append(" / ".join(row.key))
        ids = list(row.values)
        base = row.values[ids[0]]
        for run_id, value in row.values.items():
            if value is None:
                lines.append(f"  run {run_id:<6} (not in this run)")
                continue
            ci = value.get("wer_ci95") or [None, None]
            text = (f"  run {run_id:<6} WER {_fmt('wer', value.get('wer')):>6} "
                    f"[{_fmt('wer', ci[0])}-{_fmt('wer', ci[1])}]  CER {_fmt('cer', value.get('cer')):>6}"
                    f"  RTF {_fmt('rtf', value.get('rtf'))}  RTFx {value.get('rtfx') or 0:.1f}"
                    f"  p50 {value.get('latency_p50') or 0:.3f}s")
            if run_id != ids[0] and base is not None:
                if not row.comparable():
                    text += "  (normaliser differs: WER not compared)"
                else:
                    dw, dr = _delta(base, value, "wer"), _delta(base, value, "rtf")
                    if dw is not None:
                        text += f"  ΔWER {100 * dw:+.1f} pt"
                        noise = beyond_noise(base, value)
                        text += " (beyond noise)" if noise else " (within noise)" if noise is not None else ""
                    if dr is not None and base.get("rtf"):
                        text += f"  ΔRTF {100 * dr / base['rtf']:+.0f}%"
            lines.append(text)
    return "\n".join(lines)


def _flat(rows: list[Row]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        ids = list(row.values)
        base = row.values[ids[0]]
        for run_id, value in row.values.items():
            if value is None:
                continue
            record: dict[str, Any] = {"model": row.key[0], "device": row.key[1],
                                      "dataset": row.key[2], "run": run_id}
            for metric in ("wer", "cer", "rtf", "rtfx", "latency_p50", "latency_p95"):
                record[metric] = value.get(metric)
            ci = value.get("wer_ci95") or [None, None]
            record["wer_ci_low"], record["wer_ci_high"] = ci
            record["normaliser"] = value.get("normaliser")
            comparable = run_id != ids[0] and base is not None and row.comparable()
            record["delta_wer"] = _delta(base, value, "wer") if comparable else None
            record["delta_rtf"] = _delta(base, value, "rtf") if comparable else None
            record["beyond_noise"] = beyond_noise(base, value) if comparable and base else None
            out.append(record)
    return out


def format_csv(rows: list[Row]) -> str:
    records = _flat(rows)
    buffer = io.StringIO()
    if records:
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return buffer.getvalue()


def format_json(rows: list[Row]) -> str:
    return json.dumps(_flat(rows), indent=2)
