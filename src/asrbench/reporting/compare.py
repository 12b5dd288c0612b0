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

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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

__all__ = ["Gate", "Row", "compare_runs", "delta", "failures", "fmt_metric", "identity_changes", "parse_gate",
           "utterance_counts", "utterance_latencies"]

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


def delta(base: Mapping[str, Any] | None, new: Mapping[str, Any] | None,
           metric: str) -> float | None:
    """``new - base`` for ``metric``, or None when either run lacks it."""
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
                out.append(f"{' / '.join(row.key)}: {gate.metric} {fmt_metric(gate.metric, b)} → "
                           f"{fmt_metric(gate.metric, n)} in run {run_id} (baseline {ids[0]}) "
                           f"breaks {gate}{note}")
    return out


def fmt_metric(metric: str, value: Any) -> str:
    """A figure as compare prints it: WER/CER in %, others to three decimals, ``-`` when absent."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{100 * value:.1f}%" if metric in ("wer", "cer") else f"{value:.3f}"
