"""Compare saved runs: WER, CER and RTF per model × device × dataset, with changes and gates.

The first run is the baseline. A WER change is tested with the paired bootstrap over the utterances
both runs scored (:mod:`asrbench.scoring.significance`): ΔWER in points with its 95 % interval and p-value,
significant only when the interval excludes zero. Runs scored with different normalisers are not
compared (their WERs mean different things): the row says so instead of showing a delta.

Runs are named ``MACHINE/ID``. WER compares across machines freely; timings measured on different
hosts are not like for like: their deltas are marked so, and a timing gate refuses them unless
``--allow-cross-machine`` is given.

Timing changes are tested the same way (:func:`asrbench.scoring.significance.paired_timing`): ΔRTF
(the relative change of total latency over the utterances both runs timed) and Δlatency p50, each
with its 95 % interval, marked not significant when the interval holds zero; with one common
utterance there is no interval. Runs whose measuring conditions differ (the reports' ``disclosure``:
threads, batch, precision, versions, hardware, ...) are flagged ("conditions differ: threads 1 vs 2").

Gates (``--fail-on``): ``wer:+0.5`` fails when WER rises by more than 0.5 points (percentage
points, absolute); ``rtf:+10%`` when RTF rises by more than 10 % of the baseline's (relative). With
``--significant`` a WER or RTF gate fires only when the rise is also significant.
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

from asrbench.bench import figures as figure_table
from asrbench.core.errors import ConfigError
from asrbench.reporting.disclosure import conditions_differ
from asrbench.reporting.history import Key, SavedRun
from asrbench.scoring.metrics import Counts
from asrbench.scoring.significance import (
    NO_INTERVAL,
    Difference,
    TimingChange,
    paired_bootstrap,
    paired_timing,
)

__all__ = ["Gate", "Row", "compare_runs", "failures", "format_csv", "format_json",
           "format_markdown", "format_table", "identity_changes", "parse_gate", "utterance_counts",
           "utterance_latencies"]

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


def utterance_latencies(utterances: list[dict[str, Any]], key: Key) -> dict[str, float]:
    """Per-utterance measured latency (seconds) of one model × device × dataset, where timed."""
    out: dict[str, float] = {}
    for record in utterances:
        if (record.get("model"), record.get("device"), record.get("dataset")) != key:
            continue
        latency = record.get("latency")
        if isinstance(latency, int | float) and math.isfinite(latency):
            out[str(record["id"])] = float(latency)
    return out


Timing = tuple[TimingChange, TimingChange]


@dataclass(frozen=True)
class Row:
    """One model × device × dataset across runs: values per run name, None where absent."""

    key: Key
    values: dict[str, dict[str, Any] | None]
    hosts: dict[str, str | None] = field(default_factory=dict)
    tests: dict[str, Difference | None] = field(default_factory=dict)
    #: ΔRTF and Δlatency p50 of each later run against the baseline, where both timed utterances.
    timing: dict[str, Timing | None] = field(default_factory=dict)
    #: Each run's ``disclosure`` block (``None`` for reports older than it).
    conditions: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def conditions_differ(self, name: str) -> list[str]:
        """How run ``name``'s measuring conditions differ from the baseline's (empty: same or unknown)."""
        return conditions_differ(self.conditions.get(self.baseline), self.conditions.get(name))

    def comparable(self) -> bool:
        names = {v.get("normaliser") for v in self.values.values() if v is not None}
        return len(names) <= 1

    @property
    def baseline(self) -> str:
        return next(iter(self.values))

    def same_machine(self, name: str) -> bool:
        """Whether ``name`` was timed on the baseline's host (unknown hosts count as different),
        and neither run's timings were shared between xdist workers (``timings_shared``)."""
        base, other = self.hosts.get(self.baseline), self.hosts.get(name)
        shared = any((self.values.get(n) or {}).get("timings_shared") for n in (self.baseline, name))
        return base is not None and base == other and not shared


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
        timing: dict[str, Timing | None] = {}
        base = runs[0]
        if base.runs.get(key) is not None:
            base_counts = utterance_counts(base.utterances, key)
            base_latency = utterance_latencies(base.utterances, key)
            for run in runs[1:]:
                if run.runs.get(key) is not None:
                    tests[run.name] = paired_bootstrap(
                        base_counts, utterance_counts(run.utterances, key), resamples=resamples)
                    timing[run.name] = paired_timing(
                        base_latency, utterance_latencies(run.utterances, key), resamples=resamples)
        conditions = {run.name: run_conditions(run, key) for run in runs}
        rows.append(Row(key, values, {run.name: run.host for run in runs}, tests, timing,
                        conditions))
    return rows


def run_conditions(run: SavedRun, key: Key) -> dict[str, Any] | None:
    """One run's measuring conditions: its ``disclosure`` block (``None`` in older reports)."""
    figures = run.runs.get(key)
    found = figures.get("disclosure") if figures else None
    return found if isinstance(found, dict) else None


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
    ``allow_cross_machine``; with ``significant_only``, a WER or RTF gate fires only on a
    significant rise (paired bootstrap; one common utterance is never significant).
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
                if gate.metric in TIMING and (base.get("timings_shared") or new.get("timings_shared")):
                    continue  # timed while xdist workers shared the device: never gated
                if gate.metric in TIMING and not row.same_machine(run_id) and not allow_cross_machine:
                    raise ConfigError(
                        f"--fail-on {gate}: run {run_id} was timed on another machine than "
                        f"baseline {ids[0]}; timings are not like for like (pass "
                        "--allow-cross-machine to gate on them anyway)")
                if not gate.exceeded(float(b), float(n)):
                    continue
                test: Difference | TimingChange | None = row.tests.get(run_id)
                if gate.metric == "rtf":
                    timing = row.timing.get(run_id)
                    test = timing[0] if timing is not None else None
                elif gate.metric != "wer":
                    test = None
                if significant_only and gate.metric in ("wer", "rtf") and (
                        test is None or not test.significant):
                    continue
                note = f" ({test})" if test is not None else ""
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
            text = (f"  {run_id}  WER {_fmt('wer', value.get('wer')):>6} "
                    f"[{_ci_text(value)}]  CER {_fmt('cer', value.get('cer')):>6}"
                    f"  RTF {_fmt('rtf', value.get('rtf'))}  RTFx {value.get('rtfx') or 0:.1f}"
                    f"  p50 {value.get('latency_p50') or 0:.3f}s{figure_table.compact_text(value)}")
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
                other = "" if row.same_machine(run_id) else (
                    " (other machine or shared xdist workers: timing not like for like)")
                timing = row.timing.get(run_id)
                dr = _delta(base, value, "rtf")
                if timing is not None:
                    text += "".join(f"\n      {change}{other}" for change in timing)
                elif dr is not None and base.get("rtf"):
                    text += (f"\n      ΔRTF {100 * dr / base['rtf']:+.0f}% (no common timed "
                             f"utterances to test){other}")
                differ = row.conditions_differ(run_id)
                if differ:
                    text += f"\n      conditions differ: {'; '.join(differ)}"
            lines.append(text)
    return "\n".join(lines)


def _ci_text(value: Mapping[str, Any]) -> str:
    low, high = ([*list(value.get("wer_ci95") or []), None, None])[:2]
    if low is None or high is None:
        return NO_INTERVAL if value.get("utterances") == 1 else "no interval"
    return f"{_fmt('wer', low)}-{_fmt('wer', high)}"


def _pct_or_none(value: float | None) -> float | None:
    return None if value is None else 100 * value


def _timing_fields(row: Row, run_id: str, is_baseline: bool) -> dict[str, Any]:
    """The timing test's columns: changes and intervals in percent of the baseline."""
    timing = None if is_baseline else row.timing.get(run_id)
    out: dict[str, Any] = {}
    for index, name in enumerate(("rtf", "latency_p50")):
        change = timing[index] if timing is not None else None
        out[f"delta_{name}_pct"] = _pct_or_none(change.change if change else None)
        out[f"delta_{name}_ci_low_pct"] = _pct_or_none(change.low if change else None)
        out[f"delta_{name}_ci_high_pct"] = _pct_or_none(change.high if change else None)
        out[f"{name}_p_value"] = change.p_value if change else None
        out[f"{name}_significant"] = change.significant if change else None
    out["timing_paired_utterances"] = timing[0].utterances if timing else None
    out["timing_note"] = (NO_INTERVAL if timing is not None and timing[0].low is None else None)
    differ = [] if is_baseline else row.conditions_differ(run_id)
    out["conditions_differ"] = "; ".join(differ) if differ else None
    return out


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
            record.update(_timing_fields(row, run_id, run_id == ids[0] or base is None))
            record.update(figure_table.with_changes(base if run_id != ids[0] else None, value))
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
        if r["delta_rtf_pct"] is not None:
            drtf = f"{r['delta_rtf_pct']:+.1f}%"
            if r["timing_note"]:
                drtf += f" ({r['timing_note']})"
            else:
                drtf += (f" [{r['delta_rtf_ci_low_pct']:+.1f}, {r['delta_rtf_ci_high_pct']:+.1f}]"
                         f"{' (significant)' if r['rtf_significant'] else ' (not significant)'}")
        if r["timing_like_for_like"] is False and drtf != "–":
            drtf += " (other machine)"
        if r["identity_changes"]:
            delta += f" (changed: {r['identity_changes'].replace(';', ', ')})"
        if r["conditions_differ"]:
            drtf += f" (conditions differ: {r['conditions_differ']})"
        lines.append("| " + " | ".join([
            cell(f"{r['model']} / {r['device']} / {r['dataset']}"), cell(r["run"]), wer,
            _fmt("cer", r["cer"]).replace("%", ""), _fmt("rtf", r["rtf"]),
            "–" if r["rtfx"] is None else f"{r['rtfx']:.1f}",
            "–" if r["latency_p50"] is None else f"{r['latency_p50']:.3f}", cell(delta),
            cell(drtf)]) + " |")
    return "\n".join(lines) + "\n"
