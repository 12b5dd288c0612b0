"""Regression gates: a saved run's corpus WER (and RTF) that the current run must not exceed.

``--asr-baseline RUN`` names a run saved by pytest-benchmark (its id or a JSON file); each corpus
test then gets the :class:`Baseline` for its model × device × dataset and fails when its corpus
WER is above the baseline's plus ``--asr-baseline-margin`` (absolute percentage points). The paired
bootstrap over the utterances both runs scored is shown with the failure; with
``--asr-baseline-significant`` the gate fails only when that test finds the rise significant.

``--asr-baseline-rtf-margin PERCENT`` gates RTF the same way: the corpus test fails when its RTF
is more than PERCENT % above the baseline's, shown with ΔRTF's paired bootstrap over the
utterances both runs timed (:func:`asrbench.scoring.significance.paired_timing`), and with
``--asr-baseline-significant`` only when that change is significant. Timings compare only on one
machine: a baseline timed on another host, or a run whose timings xdist workers share, is refused
(:func:`check_timing_gate`), and a baseline whose own timings were shared fails the test saying so.
One run against one run cannot separate run-to-run spread from a change, and every RTF failure
says so and points to ``asrbench ab``, which judges replicate runs of both versions.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asrbench.core.errors import ConfigError
from asrbench.reporting.history import SavedRun, find_runs
from asrbench.scoring.metrics import Counts

if TYPE_CHECKING:
    from asrbench.bench.results import RunKey, RunSummary

__all__ = ["ONE_AGAINST_ONE", "Baseline", "baseline_for", "check_timing_gate", "load_baseline"]

#: Said with every RTF failure of this gate: what one baseline run cannot tell.
ONE_AGAINST_ONE = ("note: one run against one run cannot separate run-to-run spread from a "
                   "change (the interval is the precision of one run); for a verdict run both "
                   "versions interleaved with 'asrbench ab --pairs 5'")


@dataclass(frozen=True)
class Baseline:
    """A saved run's corpus WER (and RTF) for one model × device × dataset, and the allowed margins.

    ``margin`` is in absolute percentage points, ``rtf_margin`` in percent of the baseline's RTF
    (``None``: RTF not gated). ``counts`` and ``latencies`` are the baseline's per-utterance word
    counts and latencies; this run's are the checked summary's own
    (``RunSummary.utterance_words`` and ``utterance_latencies``), so a corpus test that transcribed
    its utterances itself is tested on them too.
    """

    run: str
    wer: float
    margin: float
    normaliser: str
    counts: dict[str, Counts] = field(default_factory=dict)
    significant_only: bool = False
    rtf: float | None = None
    rtf_margin: float | None = None
    latencies: dict[str, float] = field(default_factory=dict)
    #: Why the baseline's timings are not its own (xdist workers shared its device), else None.
    timings_shared: str | None = None
    #: The baseline's ``disclosure`` block (measuring conditions), ``None`` in older reports.
    conditions: dict[str, Any] | None = None

    def check(self, summary: RunSummary) -> str | None:
        """Failure messages (one per line) when ``summary`` regresses beyond a margin, else ``None``."""
        found = [m for m in (self._wer(summary), self._rtf(summary)) if m is not None]
        return "\n".join(found) or None

    def _wer(self, summary: RunSummary) -> str | None:
        from asrbench.scoring.significance import paired_bootstrap

        if summary.normaliser != self.normaliser:
            return (f"baseline run {self.run} was scored with {self.normaliser}, this run with "
                    f"{summary.normaliser}: their WERs are not comparable")
        delta = 100 * (summary.wer - self.wer)
        if delta <= self.margin:
            return None
        current = summary.utterance_words
        test = paired_bootstrap(self.counts, current) if self.counts and current else None
        if self.significant_only and test is not None and not test.significant:
            return None
        detail = (f"; {test}" if test is not None else
                  "; the baseline has no per-utterance results to test significance on")
        return (f"corpus WER {summary.wer:.1%} regressed from {self.wer:.1%} in baseline run "
                f"{self.run} by {delta:+.2f} pt (margin {self.margin:g} pt){detail}")

    def _rtf(self, summary: RunSummary) -> str | None:
        from asrbench.scoring.significance import paired_timing

        if self.rtf_margin is None:
            return None
        if self.timings_shared:
            return (f"baseline run {self.run} cannot gate RTF: its timings were shared "
                    f"({self.timings_shared})")
        if self.rtf is None or not math.isfinite(self.rtf) or self.rtf <= 0:
            return f"baseline run {self.run} has no RTF for this model × device × dataset to gate on"
        if summary.rtf <= self.rtf * (1 + self.rtf_margin / 100):
            return None
        current = summary.utterance_latencies
        found = paired_timing(self.latencies, current) if self.latencies and current else None
        test = found[0] if found is not None else None
        if self.significant_only and test is not None and not test.significant:
            return None
        if test is not None:
            detail = f"; {test}"
        elif not self.latencies:
            detail = "; the baseline has no per-utterance latencies to test significance on"
        else:
            detail = "; no utterance was timed in both runs to test significance on"
        detail += f"; {ONE_AGAINST_ONE}"
        differ = self._conditions_differ(summary)
        if differ:
            detail += f"; conditions differ: {'; '.join(differ)}"
        return (f"RTF {summary.rtf:.3f} regressed from {self.rtf:.3f} in baseline run {self.run} "
                f"by {100 * (summary.rtf / self.rtf - 1):+.1f}% (margin {self.rtf_margin:g}%)"
                f"{detail}")

    def _conditions_differ(self, summary: RunSummary) -> list[str]:
        """The measuring conditions this run's own figures show (threads, rounds, warm-up, fast,
        precision, engine versions) that differ from the baseline's disclosure."""
        from asrbench.core.jsonsafe import clean_json
        from asrbench.reporting.disclosure import conditions_differ, run_disclosure

        block = run_disclosure(summary.as_dict(), machine={}, software={}, batch_size=None)
        # as the saved block was: through the report's JSON (tuples become lists, NaN null)
        saved = json.loads(json.dumps(clean_json(block)))
        # what this run cannot say yet (machine facts, a throughput batch) is not compared
        now = {k: v for k, v in saved.items() if v is not None and k != "throughput_batch_size"}
        return conditions_differ(self.conditions, now)


def check_timing_gate(run: SavedRun | None, margin: float | None, *, host: str | None = None,
                      distributed: bool = False, shard: bool = False) -> None:
    """Refuse an RTF gate that cannot be like for like: no baseline, a baseline timed on another
    machine (``host``: this machine's fingerprint id, read when not given) or by a report without
    a machine fingerprint, a run split across xdist workers, or a shard (its corpus is partial)."""
    if margin is None:
        return
    if shard:
        raise ConfigError("--asr-baseline-rtf-margin: a shard measures part of each corpus; gate "
                          "the merged report with 'asrbench compare --fail-on rtf:+N%'")
    if host is None:
        from asrbench.core.identity import machine_fingerprint

        host = str(machine_fingerprint()["id"])
    if run is None:
        raise ConfigError("--asr-baseline-rtf-margin: needs --asr-baseline RUN to compare with")
    if distributed:
        raise ConfigError("--asr-baseline-rtf-margin: xdist workers share this machine, so their "
                          "timings are not the baseline's conditions; run without -n, or gate "
                          "the combined report with 'asrbench compare --fail-on rtf:+N%'")
    if run.host is None or run.host == run.host_name:  # reports before the fingerprint id
        raise ConfigError(f"--asr-baseline-rtf-margin: baseline run {run.name} has no machine "
                          "fingerprint (a report older than schema 2), so its timings cannot be "
                          "shown to come from this machine")
    if run.host != host:
        where = run.host_name or run.host
        raise ConfigError(f"--asr-baseline-rtf-margin: baseline run {run.name} was timed on "
                          f"another machine ({where}); timings are not like for like")


def load_baseline(selector: str, storage: Path) -> SavedRun:
    """The one saved run ``selector`` names in the pytest-benchmark ``storage`` folder."""
    try:
        [run] = find_runs(storage, [selector])
    except ConfigError as exc:
        raise ConfigError(f"--asr-baseline: {exc}") from None
    return run


def baseline_for(run: SavedRun | None, key: RunKey, margin: float, *,
                 significant_only: bool = False,
                 rtf_margin: float | None = None) -> Baseline | None:
    """The gate for ``key`` (model, device, dataset), or ``None`` when the run did not measure it."""
    from asrbench.reporting.compare import utterance_counts, utterance_values

    if run is None:
        return None
    figures = run.runs.get(key.as_tuple())
    if figures is None or figures.get("wer") is None:
        return None
    rtf = figures.get("rtf")
    shared = figures.get("timings_shared_reason") or (
        "xdist workers shared its device" if figures.get("timings_shared") else None)
    conditions = figures.get("disclosure")
    return Baseline(run.name, float(figures["wer"]), margin, str(figures.get("normaliser")),
                    utterance_counts(run.utterances, key.as_tuple()), significant_only,
                    rtf=float(rtf) if isinstance(rtf, int | float) else None,
                    rtf_margin=rtf_margin,
                    latencies=utterance_values(run.utterances, key.as_tuple(), "latency"),
                    timings_shared=str(shared) if shared else None,
                    conditions=conditions if isinstance(conditions, dict) else None)
