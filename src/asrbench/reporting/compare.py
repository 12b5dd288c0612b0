"""Compare saved runs: WER, CER and RTF per model × device × dataset, with changes and gates.

The first run is the baseline. A WER change is tested with the paired bootstrap over the utterances
both runs scored (:mod:`asrbench.scoring.significance`): ΔWER in points with its 95 % interval and p-value,
significant only when the interval excludes zero. Runs scored with different normalisers are not
compared (their WERs mean different things): the row says so instead of showing a delta.

Runs are named ``MACHINE/ID``. WER compares across machines freely; timings measured on different
hosts are not like for like: their deltas are marked so, and a timing gate refuses them unless
``--allow-cross-machine`` is given.

Gates (``--fail-on``): ``wer:+0.5`` fails when WER rises by more than 0.5 points (percentage
points, absolute), with ``--significant`` only when the rise is also significant; ``rtf:+10%`` when
RTF rises by more than 10 % of the baseline's (relative).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from asrbench.core.errors import ConfigError
from asrbench.reporting.history import Key, SavedRun
from asrbench.scoring.metrics import Counts
from asrbench.scoring.significance import Difference, paired_bootstrap

__all__ = ["Gate", "Row", "compare_runs", "failures", "format_csv", "format_json",
           "format_markdown", "format_table", "identity_changes", "parse_gate", "utterance_counts"]

_GATE = re.compile(r"^(wer|cer|rtf):\+?(\d+(?:\.\d+)?)(%?)$")
TIMING = ("rtf", "rtfx", "latency_p50", "latency_p95")


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


def utterance_counts(utterances: list[dict[str, Any]], key: Key) -> dict[str, Counts]:
    """Per-utterance word counts of one model × device × dataset, from a report's utterances."""
    out: dict[str, Counts] = {}
    for record in utterances:
        if (record.get("model"), record.get("device"), record.get("dataset")) != key:
            continue
        errors = record.get("word_errors") or {}
        out[str(record["id"])] = Counts(int(errors.get("substitutions", 0)),
                                        int(errors.get("deletions", 0)),
                                        int(errors.get("insertions", 0)),
                                        int(errors.get("reference_tokens", 0)))
    return out


@dataclass(frozen=True)
class Row:
    """One model × device × dataset across runs: values per run name, None where absent."""

    key: Key
    values: dict[str, dict[str, Any] | None]
    hosts: dict[str, str | None] = field(default_factory=dict)
    tests: dict[str, Difference | None] = field(default_factory=dict)

    def comparable(self) -> bool:
        names = {v.get("normaliser") for v in self.values.values() if v is not None}
        return len(names) <= 1

    @property
    def baseline(self) -> str:
        return next(iter(self.values))

    def same_machine(self, name: str) -> bool:
        """Whether ``name`` was timed on the baseline's host (unknown hosts count as different)."""
        base, other = self.hosts.get(self.baseline), self.hosts.get(name)
        return base is not None and base == other


def compare_runs(runs: list[SavedRun], *, resamples: int = 10_000) -> list[Row]:
    """Rows per key; each later run is tested against the first with the paired bootstrap."""
    names = [r.name for r in runs]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"run {name} is named twice")
    keys: list[Key] = []
    for run in runs:
        keys += [k for k in run.runs if k not in keys]
    rows = []
    for key in keys:
        values = {run.name: run.runs.get(key) for run in runs}
        tests: dict[str, Difference | None] = {}
        base = runs[0]
        if base.runs.get(key) is not None:
            base_counts = utterance_counts(base.utterances, key)
            for run in runs[1:]:
                if run.runs.get(key) is not None:
                    tests[run.name] = paired_bootstrap(
                        base_counts, utterance_counts(run.utterances, key), resamples=resamples)
        rows.append(Row(key, values, {run.name: run.host for run in runs}, tests))
    return rows


#: Identity fields whose change means two runs did not measure the same thing.
IDENTITY = ("model_hash", "options", "dataset_hash", "engine")


def identity_changes(base: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    """Which identity fields differ between two runs' figures (empty when unknown or equal)."""
    if base is None or new is None:
        return []
    old, now = base.get("identity") or {}, new.get("identity") or {}
    return [k for k in IDENTITY if k in old and k in now and old[k] != now[k]]


def _delta(base: Mapping[str, Any] | None, new: Mapping[str, Any] | None,
           metric: str) -> float | None:
    if base is None or new is None or base.get(metric) is None or new.get(metric) is None:
        return None
    return float(new[metric]) - float(base[metric])


def failures(rows: list[Row], gates: list[Gate], *, significant_only: bool = False,
             allow_cross_machine: bool = False) -> list[str]:
    """Messages for every later run that breaks a gate against the first (baseline) run.

    A timing gate between runs from different machines raises :class:`ConfigError` unless
    ``allow_cross_machine``; with ``significant_only``, a WER gate fires only on a significant rise.
    """
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
                if b is None or n is None:
                    continue
                if gate.metric in TIMING and not row.same_machine(run_id) and not allow_cross_machine:
                    raise ConfigError(
                        f"--fail-on {gate}: run {run_id} was timed on another machine than "
                        f"baseline {ids[0]}; timings are not like for like (pass "
                        "--allow-cross-machine to gate on them anyway)")
                if not gate.exceeded(float(b), float(n)):
                    continue
                test = row.tests.get(run_id)
                if gate.metric == "wer" and significant_only and (test is None or
                                                                  not test.significant):
                    continue
                note = f" ({test})" if gate.metric == "wer" and test is not None else ""
                out.append(f"{' / '.join(row.key)}: {gate.metric} {_fmt(gate.metric, b)} → "
                           f"{_fmt(gate.metric, n)} in run {run_id} (baseline {ids[0]}) "
                           f"breaks {gate}{note}")
    return out


def _fmt(metric: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{100 * value:.1f}%" if metric in ("wer", "cer") else f"{value:.3f}"


def format_table(rows: list[Row], runs: list[SavedRun] | None = None) -> str:
    """Per key: one line per run with WER (95 % CI), CER, RTF, RTFx, p50 and the changes."""
    lines = []
    if runs:
        width = max(len(r.name) for r in runs)
        for run in runs:
            lines.append(f"{run.name:<{width}}  {run.created or '-'}  host {run.host_name or '?'} "
                         f"({run.host or 'unknown'})")
        lines.append("")
    for row in rows:
        lines.append(" / ".join(row.key))
        ids = list(row.values)
        base = row.values[ids[0]]
        for run_id, value in row.values.items():
            if value is None:
                lines.append(f"  {run_id} (not in this run)")
                continue
            ci = value.get("wer_ci95") or [None, None]
            text = (f"  {run_id}  WER {_fmt('wer', value.get('wer')):>6} "
                    f"[{_fmt('wer', ci[0])}-{_fmt('wer', ci[1])}]  CER {_fmt('cer', value.get('cer')):>6}"
                    f"  RTF {_fmt('rtf', value.get('rtf'))}  RTFx {value.get('rtfx') or 0:.1f}"
                    f"  p50 {value.get('latency_p50') or 0:.3f}s")
            if run_id != ids[0] and base is not None:
                changed = identity_changes(base, value)
                if changed:
                    text += f"  (changed since the baseline: {', '.join(changed)})"
                if not row.comparable():
                    text += "  (normaliser differs: WER not compared)"
                else:
                    test = row.tests.get(run_id)
                    dw = _delta(base, value, "wer")
                    if test is not None:
                        text += f"\n      {test}"
                    elif dw is not None:
                        text += f"\n      ΔWER {100 * dw:+.2f} pt (no common utterances to test)"
                    dr = _delta(base, value, "rtf")
                    if dr is not None and base.get("rtf"):
                        text += f"  ΔRTF {100 * dr / base['rtf']:+.0f}%"
                        if not row.same_machine(run_id):
                            text += " (other machine: timing not like for like)"
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
            machine, _, number = run_id.rpartition("/")
            record: dict[str, Any] = {"model": row.key[0], "device": row.key[1],
                                      "dataset": row.key[2], "run": run_id, "id": number,
                                      "machine": machine, "host": row.hosts.get(run_id)}
            for metric in ("wer", "cer", "rtf", "rtfx", "latency_p50", "latency_p95"):
                record[metric] = value.get(metric)
            ci = value.get("wer_ci95") or [None, None]
            record["wer_ci_low"], record["wer_ci_high"] = ci
            record["normaliser"] = value.get("normaliser")
            comparable = run_id != ids[0] and base is not None and row.comparable()
            test = row.tests.get(run_id) if comparable else None
            dw = _delta(base, value, "wer") if comparable else None
            record["delta_wer_pt"] = test.delta if test else (100 * dw if dw is not None else None)
            record["delta_wer_ci_low_pt"] = test.low if test else None
            record["delta_wer_ci_high_pt"] = test.high if test else None
            record["p_value"] = test.p_value if test else None
            record["significant"] = test.significant if test else None
            record["paired_utterances"] = test.utterances if test else None
            dr = _delta(base, value, "rtf") if comparable else None
            record["delta_rtf"] = dr
            record["timing_like_for_like"] = row.same_machine(run_id) if comparable else None
            record["identity_changes"] = (";".join(identity_changes(base, value))
                                          if run_id != ids[0] else None)
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


def format_markdown(rows: list[Row]) -> str:
    """One Markdown table row per run per key; changes against the baseline, pipes escaped."""
    from asrbench.reporting.markdown import cell

    def pt(value: Any) -> str:
        return "–" if value is None else f"{value:+.2f}"

    lines = ["| model / device / dataset | run | WER % [95% CI] | CER % | RTF | RTFx | p50 s "
             "| ΔWER pt [95% CI], p | ΔRTF |", "|:--|:--|--:|--:|--:|--:|--:|:--|--:|"]
    for r in _flat(rows):
        wer = (f"{_fmt('wer', r['wer'])} [{_fmt('wer', r['wer_ci_low'])}–"
               f"{_fmt('wer', r['wer_ci_high'])}]").replace("%", "")
        delta = "baseline" if r["identity_changes"] is None else pt(r["delta_wer_pt"])
        if r["p_value"] is not None:
            delta += (f" [{pt(r['delta_wer_ci_low_pt'])}, {pt(r['delta_wer_ci_high_pt'])}], "
                      f"p={r['p_value']:.3f}{' (significant)' if r['significant'] else ''}")
        base_rtf = r["rtf"] - r["delta_rtf"] if r["delta_rtf"] is not None else None
        drtf = (f"{100 * r['delta_rtf'] / base_rtf:+.0f}%" if base_rtf else "–")
        if r["timing_like_for_like"] is False and drtf != "–":
            drtf += " (other machine)"
        if r["identity_changes"]:
            delta += f" (changed: {r['identity_changes'].replace(';', ', ')})"
        lines.append("| " + " | ".join([
            cell(f"{r['model']} / {r['device']} / {r['dataset']}"), cell(r["run"]), wer,
            _fmt("cer", r["cer"]).replace("%", ""), _fmt("rtf", r["rtf"]),
            "–" if r["rtfx"] is None else f"{r['rtfx']:.1f}",
            "–" if r["latency_p50"] is None else f"{r['latency_p50']:.3f}", cell(delta),
            cell(drtf)]) + " |")
    return "\n".join(lines) + "\n"
