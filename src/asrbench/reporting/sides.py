"""Compare two sides of runs, each run a replicate: ``asrbench compare A1 A2 A3 --vs B1 B2 B3``.

Timing figures are judged run by run (:mod:`asrbench.scoring.replicates`): each run's own RTF,
latency percentiles and CPU cost are the observations, the answer is the ratio of the sides'
geometric means with a 95 % interval that holds run-to-run spread, and a three-way verdict against
a margin. WER stays an exact paired comparison over utterances: each side's word errors are summed
per utterance over its runs (every run of a side counts; a deterministic decoder gives the same
counts each time; sides of unequal run counts weigh alike), then the paired bootstrap compares the
sides on the utterances both scored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from asrbench.bench import figures as figure_table
from asrbench.core.errors import ConfigError
from asrbench.reporting.compare import Gate, is_timing, utterance_counts
from asrbench.reporting.disclosure import conditions_differ
from asrbench.reporting.history import Key, SavedRun
from asrbench.scoring.metrics import Counts
from asrbench.scoring.replicates import RunLevelChange, replicate_change
from asrbench.scoring.significance import Difference, paired_bootstrap

__all__ = ["SideRow", "compare_sides", "parse_margin", "side_failures", "timing_figures"]

_MARGIN = re.compile(r"^\+?(\d+(?:\.\d+)?)%$")


def parse_margin(text: str) -> float:
    """``5%`` → 0.05: the practical margin a timing change must clear to count."""
    match = _MARGIN.match(text.strip())
    if match is None:
        raise ConfigError(f"--margin {text!r}: expected a percentage such as 5%")
    return float(match.group(1)) / 100


#: RTF and the latency figures: judged first, and labelled by name rather than by the table.
_CORE_TIMING = ("rtf", "latency_p50", "latency_p95", "latency_mean")


def timing_figures() -> list[str]:
    """The timing figures judged run by run: RTF, the latency figures and every timing figure of
    the table where lower is better (idle power is a condition of the machine, not judged)."""
    return [*_CORE_TIMING,
            *(f.name for f in figure_table.figures() if f.timing and f.lower_is_better
              and not f.name.endswith("idle_watts")  # a condition, not a cost
              and f.name not in _CORE_TIMING)]


def _label(name: str) -> str | None:
    """The figure's label from the table (``CPU s``), for the latency figures and RTF none."""
    if name in _CORE_TIMING:
        return None
    try:
        return figure_table.figure(name).label
    except KeyError:
        return None


@dataclass(frozen=True)
class SideRow:
    """One model × device × dataset: each side's runs, WER side against side, timing verdicts."""

    key: Key
    base: dict[str, dict[str, Any] | None]
    new: dict[str, dict[str, Any] | None]
    wer: Difference | None
    #: Why WER was not compared (normalisers differ, a side lacks the key), else None.
    wer_note: str | None
    timing: dict[str, RunLevelChange] = field(default_factory=dict)
    #: Why timings are not like for like (other machine, shared timings), else None.
    timing_note: str | None = None
    conditions: list[str] = field(default_factory=list)

    def side_wer(self, side: str) -> float | None:
        """The side's WER over its runs (errors and reference words summed over every run)."""
        values = [v for v in (self.base if side == "base" else self.new).values() if v]
        found = [float(v["wer"]) for v in values if isinstance(v.get("wer"), int | float)]
        return sum(found) / len(found) if found else None


def _pooled(runs: Sequence[SavedRun], key: Key, times: int = 1) -> dict[str, Counts]:
    """Word counts per utterance summed over the runs (utterances every run scored), each sum
    ``times`` over: the paired bootstrap divides both sides' errors by the base side's reference
    words, so sides of 3 and 5 runs are pooled 5 and 3 times over to weigh alike."""
    per_run = [utterance_counts(run.utterances, key) for run in runs]
    common = set.intersection(*(set(c) for c in per_run)) if per_run else set()
    out = {}
    for uid in common:
        parts = [c[uid] for c in per_run]
        out[uid] = Counts(times * sum(p.substitutions for p in parts),
                          times * sum(p.deletions for p in parts),
                          times * sum(p.insertions for p in parts),
                          times * sum(p.reference for p in parts))
    return out


def _timing_note(runs: Sequence[SavedRun], key: Key) -> str | None:
    figures = [run.runs.get(key) or {} for run in runs]
    if any(f.get("timings_shared") for f in figures):
        return "timings shared by xdist workers"
    hosts = {run.host for run in runs}
    if None in hosts or len(hosts) > 1:
        return "runs timed on different (or unknown) machines"
    return None


def compare_sides(base: Sequence[SavedRun], new: Sequence[SavedRun], *, paired: bool,
                  margin: float = 0.05, resamples: int = 10_000,
                  margins: dict[str, float] | None = None) -> list[SideRow]:
    """Rows per key measured by both sides; ``margins`` overrides ``margin`` per figure."""
    names = [r.name for r in (*base, *new)]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"run {name} is named twice")
    if paired and len(base) != len(new):
        raise ConfigError(f"--paired: the sides have {len(base)} and {len(new)} runs; pairs need "
                          "as many runs on each side")
    keys: list[Key] = []
    for run in (*base, *new):
        keys += [k for k in run.runs if k not in keys]
    rows = []
    for key in keys:
        old = {r.name: r.runs.get(key) for r in base}
        now = {r.name: r.runs.get(key) for r in new}
        if any(v is None for v in (*old.values(), *now.values())):
            missing = [n for n, v in (*old.items(), *now.items()) if v is None]
            rows.append(SideRow(key, old, now, None, f"not measured in {', '.join(missing)}",
                                timing_note=f"not measured in {', '.join(missing)}"))
            continue
        values = [*old.values(), *now.values()]
        normalisers = {v.get("normaliser") for v in values if v}
        wer, wer_note = None, None
        if len(normalisers) > 1:
            wer_note = "the runs' normalisers differ: WER not compared"
        else:
            wer = paired_bootstrap(_pooled(base, key, len(new)), _pooled(new, key, len(base)),
                                   resamples=resamples)
            wer_note = None if wer is not None else "no utterance scored by every run"
        timing: dict[str, RunLevelChange] = {}
        for fig in timing_figures():
            a = [v.get(fig) for v in old.values() if v]
            b = [v.get(fig) for v in now.values() if v]
            if all(isinstance(x, int | float) for x in (*a, *b)):
                timing[fig] = replicate_change(
                    [float(x or 0) for x in a], [float(x or 0) for x in b], figure=fig,
                    paired=paired, margin=(margins or {}).get(fig, margin), label=_label(fig))
        first_old, first_new = next(iter(old.values())), next(iter(now.values()))
        differ = conditions_differ((first_old or {}).get("disclosure"),
                                   (first_new or {}).get("disclosure"))
        rows.append(SideRow(key, old, now, wer, wer_note, timing,
                            _timing_note([*base, *new], key), differ))
    return rows


def side_failures(rows: list[SideRow], gates: list[Gate], *, significant_only: bool = False,
                  allow_cross_machine: bool = False,
                  notes: list[str] | None = None) -> tuple[list[str], list[str]]:
    """``(failures, undecided)`` of ``gates`` on side rows.

    A timing gate (relative: ``rtf:+5%``) judges by the verdict at its own margin: ``slower``
    fails, ``equivalent`` and ``faster`` pass, ``no decision`` is undecided (the caller exits 2).
    A WER or CER gate fails on a rise of more than its points (WER with ``significant_only``: a
    significant one). Timings from different machines are refused unless ``allow_cross_machine``.
    """
    failed: list[str] = []
    undecided: list[str] = []
    judged = dict.fromkeys(gates, 0)
    for row in rows:
        where = " / ".join(row.key)
        for gate in gates:
            if not is_timing(gate.metric):
                _gate_accuracy(row, gate, where, significant_only, failed, notes, judged)
                continue
            if not gate.relative:
                raise ConfigError(f"--fail-on {gate}: a timing gate over several runs per side "
                                  f"is relative: write {gate.metric}:+N%")
            change = row.timing.get(gate.metric)
            if change is None or (row.timing_note and "not measured" in row.timing_note):
                if notes is not None:
                    notes.append(f"{gate} not judged on {where}: "
                                 f"{row.timing_note or f'{gate.metric} missing in a run'}")
                continue
            if row.timing_note and "shared" in row.timing_note:
                if notes is not None:
                    notes.append(f"{gate} not judged on {where}: {row.timing_note}")
                judged[gate] += 1
                continue
            if row.timing_note and not allow_cross_machine:
                raise ConfigError(f"--fail-on {gate}: {where}: {row.timing_note}; timings are "
                                  "not like for like (pass --allow-cross-machine to gate anyway)")
            judged[gate] += 1
            at_gate = replicate_change(change.base, change.new, figure=change.figure,
                                       paired=change.paired, margin=gate.limit / 100,
                                       label=change.label)
            if at_gate.verdict == "slower":
                failed.append(f"{where}: {at_gate} breaks {gate}")
            elif at_gate.verdict == "no decision":
                undecided.append(f"{where}: {at_gate}; {gate} not decided")
    for gate, count in judged.items():
        if count == 0 and rows:
            raise ConfigError(f"--fail-on {gate}: no row can be judged on both sides")
    return failed, undecided


def _gate_accuracy(row: SideRow, gate: Gate, where: str, significant_only: bool,
                   failed: list[str], notes: list[str] | None, judged: dict[Gate, int]) -> None:
    """WER/CER (or another non-timing figure): the sides' mean against the gate's margin."""
    if row.wer_note and ("normalisers" in row.wer_note or "not measured" in row.wer_note):
        if notes is not None:
            notes.append(f"{gate} not judged on {where}: {row.wer_note}")
        return
    def mean(side: dict[str, dict[str, Any] | None]) -> float | None:
        found = [float(v[gate.metric]) for v in side.values()
                 if v and isinstance(v.get(gate.metric), int | float)]
        return sum(found) / len(found) if found else None
    old, now = mean(row.base), mean(row.new)
    if old is None or now is None:
        if notes is not None:
            notes.append(f"{gate} not judged on {where}: {gate.metric} missing in a run")
        return
    judged[gate] += 1
    if not gate.exceeded(old, now):
        return
    if significant_only and gate.metric == "wer" and (row.wer is None or not row.wer.significant):
        return
    from asrbench.reporting.compare import fmt_metric

    test = f" ({row.wer})" if gate.metric == "wer" and row.wer is not None else ""
    failed.append(f"{where}: {gate.metric} {fmt_metric(gate.metric, old)} → "
                  f"{fmt_metric(gate.metric, now)} breaks {gate}{test}")
