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
points, absolute); ``rtf:+10%`` when RTF rises by more than 10 % of the baseline's (relative). Any
figure of the table where lower is better gates the same way (``core_hours_per_audio_hour:+10%``,
``joules_per_audio_hour:+500``, absolute in its own unit without ``%``); a timing figure between
machines is refused like RTF. With ``--significant`` a WER, RTF or core-hours gate fires only when
the rise is also significant (core-hours: the paired bootstrap over each utterance's CPU seconds);
other figures have no paired test and fire on the margin alone, saying so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from asrbench.bench import figures as figure_table
from asrbench.core.errors import ConfigError
from asrbench.reporting.disclosure import conditions_differ
from asrbench.reporting.history import Key, SavedRun
from asrbench.scoring.metrics import Counts
from asrbench.scoring.significance import (
    Difference,
    TimingChange,
    paired_bootstrap,
    paired_timing,
)

__all__ = ["Gate", "Row", "compare_runs", "delta", "failures", "fmt_metric", "gateable",
           "identity_changes", "is_timing", "parse_gate", "utterance_counts", "utterance_values"]

_GATE = re.compile(r"^([A-Za-z0-9_]+):\+?(\d+(?:\.\d+)?)(%?)$")
TIMING = ("rtf", "rtfx", "latency_p50", "latency_p90", "latency_p95", "latency_mean")
#: Figures with a paired test: WER (word counts), RTF (latencies), core-hours (CPU seconds).
TESTED = ("wer", "rtf", "core_hours_per_audio_hour")


def is_timing(metric: str) -> bool:
    """Whether ``metric`` was measured by a clock or counter (like for like on one machine only)."""
    if metric in TIMING:
        return True
    try:
        return figure_table.figure(metric).timing
    except KeyError:
        return False


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


def gateable() -> list[str]:
    """What ``--fail-on`` can gate: WER, CER, RTF, the latency percentiles and every figure of
    the table where lower is better (idle power is a condition, not a cost)."""
    return ["wer", "cer", "rtf", "latency_p50", "latency_p95", "latency_mean",
            *(f.name for f in figure_table.figures()
              if f.lower_is_better and not f.name.endswith("idle_watts"))]


def parse_gate(text: str) -> Gate:
    match = _GATE.match(text.strip())
    gated = gateable()
    name = match.group(1) if match else ""
    metric = name.lower() if name.lower() in ("wer", "cer", "rtf") else name
    if match is None or metric not in gated:
        raise ConfigError(f"--fail-on {text!r}: expected METRIC:+N (points for wer and cer, "
                          "the figure's unit otherwise) or METRIC:+N% (relative), METRIC one of "
                          f"{', '.join(gated)}")
    return Gate(metric, float(match.group(2)), bool(match.group(3)))


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


def utterance_values(utterances: list[dict[str, Any]], key: Key, field: str) -> dict[str, float]:
    """One measured per-utterance figure (``latency``, ``cpu_seconds``) of one model × device ×
    dataset, by utterance id, where it was measured."""
    out: dict[str, float] = {}
    for record in utterances:
        if (record.get("model"), record.get("device"), record.get("dataset")) != key:
            continue
        value = record.get(field)
        if isinstance(value, int | float) and math.isfinite(value):
            out[str(record["id"])] = float(value)
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
    #: Δcore-hours per audio hour against the baseline (paired over each utterance's CPU seconds).
    cpu: dict[str, TimingChange | None] = field(default_factory=dict)

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
        neither run's timings were shared between xdist workers (``timings_shared``), and both
        streamed (if they did) with one chunk size and clock (:meth:`stream_differs`)."""
        base, other = self.hosts.get(self.baseline), self.hosts.get(name)
        shared = any((self.values.get(n) or {}).get("timings_shared") for n in (self.baseline, name))
        return base is not None and base == other and not shared and not self.stream_differs(name)

    def stream_differs(self, name: str) -> str | None:
        """How two streamed runs' chunk size, clock or compute clock differ (``None``: same, or not
        both streamed)."""
        base, other = self.values.get(self.baseline) or {}, self.values.get(name) or {}
        if base.get("stream_clock") is None or other.get("stream_clock") is None:
            return None
        differ = [f"{label} {base.get(key)} vs {other.get(key)}" for key, label in (
            ("stream_chunk_ms", "stream chunk ms"), ("stream_clock", "stream clock"),
            ("stream_compute_clock", "stream compute clock"))
            if base.get(key) != other.get(key)]
        return "; ".join(differ) or None


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
        cpu: dict[str, TimingChange | None] = {}
        base = runs[0]
        if base.runs.get(key) is not None:
            base_counts = utterance_counts(base.utterances, key)
            base_latency = utterance_values(base.utterances, key, "latency")
            base_cpu = utterance_values(base.utterances, key, "cpu_seconds")
            for run in runs[1:]:
                if run.runs.get(key) is not None:
                    tests[run.name] = paired_bootstrap(
                        base_counts, utterance_counts(run.utterances, key), resamples=resamples)
                    timing[run.name] = paired_timing(
                        base_latency, utterance_values(run.utterances, key, "latency"), resamples=resamples)
                    found = paired_timing(
                        base_cpu, utterance_values(run.utterances, key, "cpu_seconds"),
                        resamples=resamples)
                    cpu[run.name] = (replace(found[0], figure="core_hours_per_audio_hour")
                                     if found is not None else None)
        conditions = {run.name: run_conditions(run, key) for run in runs}
        rows.append(Row(key, values, {run.name: run.host for run in runs}, tests, timing,
                        conditions, cpu))
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


def delta(base: Mapping[str, Any] | None, new: Mapping[str, Any] | None,
           metric: str) -> float | None:
    """``new - base`` for ``metric``, or None when either run lacks it."""
    if base is None or new is None or base.get(metric) is None or new.get(metric) is None:
        return None
    return float(new[metric]) - float(base[metric])


def failures(rows: list[Row], gates: list[Gate], *, significant_only: bool = False,
             allow_cross_machine: bool = False, notes: list[str] | None = None) -> list[str]:
    """Messages for every later run that breaks a gate against the first (baseline) run.

    A timing gate between runs from different machines raises :class:`ConfigError` unless
    ``allow_cross_machine``; with ``significant_only``, a WER, RTF or core-hours gate fires only
    on a significant rise (paired bootstrap; one common utterance is never significant). What a
    gate could not judge (a figure missing, timings shared, normalisers that differ, no paired
    test) is said in ``notes``, once per gate, run and reason; a gate that judged no pair at all
    while there were runs to compare raises :class:`ConfigError`, never passes.
    """
    out: list[str] = []
    judged: dict[Gate, int] = dict.fromkeys(gates, 0)
    unjudged: dict[tuple[Gate, str, str], list[str]] = {}
    new_rows: dict[Gate, str] = {}  # rows only later runs measured: nothing to compare, no note

    def skip(gate: Gate, run_id: str, row: Row, why: str) -> None:
        unjudged.setdefault((gate, run_id, why), []).append(" / ".join(row.key))

    for row in rows:
        ids = list(row.values)
        base = row.values[ids[0]]
        for run_id in ids[1:]:
            new = row.values[run_id]
            for gate in gates:
                if base is None:
                    new_rows.setdefault(gate, f"baseline run {ids[0]} did not measure "
                                              f"{' / '.join(row.key)}")
                    continue
                if new is None:
                    skip(gate, run_id, row, f"not measured in run {run_id}")
                    continue
                if not row.comparable():
                    skip(gate, run_id, row, "the runs' normalisers differ")
                    continue
                b, n = base.get(gate.metric), new.get(gate.metric)
                if b is None or n is None:
                    lacking, values = (ids[0], base) if b is None else (run_id, new)
                    why = values.get(f"{gate.metric}_reason") or (
                        "null" if gate.metric in values else "not in this report")
                    skip(gate, run_id, row, f"{gate.metric} missing in run {lacking} ({why})")
                    continue
                timed = is_timing(gate.metric)
                if timed and (base.get("timings_shared") or new.get("timings_shared")):
                    judged[gate] += 1  # a decision: shared timings are never gated
                    skip(gate, run_id, row, "timed while xdist workers shared the device")
                    continue
                if timed and (streamed := row.stream_differs(run_id)):
                    raise ConfigError(f"--fail-on {gate}: run {run_id} streamed unlike baseline "
                                      f"{ids[0]} ({streamed}); its timings are not like for like")
                if timed and not row.same_machine(run_id) and not allow_cross_machine:
                    raise ConfigError(
                        f"--fail-on {gate}: run {run_id} was timed on another machine than "
                        f"baseline {ids[0]}; timings are not like for like (pass "
                        "--allow-cross-machine to gate on them anyway)")
                judged[gate] += 1
                if not gate.exceeded(float(b), float(n)):
                    continue
                test = _test(row, run_id, gate.metric)
                if significant_only and gate.metric in TESTED and (
                        test is None or not test.significant):
                    if test is None:
                        skip(gate, run_id, row, f"no paired test (no per-utterance "
                                                f"{gate.metric} in both runs)")
                    continue
                note = f" ({test})" if test is not None else ""
                if significant_only and gate.metric not in TESTED:
                    note = f" (no paired test for {gate.metric}: gated on the margin alone)"
                out.append(f"{' / '.join(row.key)}: {gate.metric} {fmt_metric(gate.metric, b)} → "
                           f"{fmt_metric(gate.metric, n)} in run {run_id} (baseline {ids[0]}) "
                           f"breaks {gate}{note}")
    said = [f"{gate} not judged for run {run_id} on "
            f"{where[0] if len(where) == 1 else f'{len(where)} rows ({where[0]}, ...)'}: {why}"
            for (gate, run_id, why), where in unjudged.items()]
    if notes is not None:
        notes.extend(said)
    for gate, count in judged.items():
        reasons = [why for (g, _, why) in unjudged if g == gate] + (
            [new_rows[gate]] if gate in new_rows else [])
        if count == 0 and reasons:
            raise ConfigError(f"--fail-on {gate}: no run pair can be judged: {reasons[0]}")
    return out


def _test(row: Row, run_id: str, metric: str) -> Difference | TimingChange | None:
    """The paired test of ``metric`` for run ``run_id`` against the baseline, where there is one."""
    if metric == "wer":
        return row.tests.get(run_id)
    if metric == "rtf":
        timing = row.timing.get(run_id)
        return timing[0] if timing is not None else None
    if metric == "core_hours_per_audio_hour":
        return row.cpu.get(run_id)
    return None


def fmt_metric(metric: str, value: Any) -> str:
    """A figure as compare prints it: WER/CER in %, others to three decimals, ``-`` when absent."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if metric in ("wer", "cer"):
        return f"{100 * value:.1f}%"
    try:
        return figure_table.figure(metric).format(float(value))
    except KeyError:
        return f"{value:.3f}"
