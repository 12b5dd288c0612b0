"""Regression gates: a saved run's corpus WER that the current run must not exceed.

``--asr-baseline RUN`` names a run saved by pytest-benchmark (its id or a JSON file); each corpus
test then gets the :class:`Baseline` for its model × device × dataset and fails when its corpus
WER is above the baseline's plus ``--asr-baseline-margin`` (absolute percentage points). The paired
bootstrap over the utterances both runs scored is shown with the failure; with
``--asr-baseline-significant`` the gate fails only when that test finds the rise significant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from asrbench.core.errors import ConfigError
from asrbench.reporting.history import SavedRun, find_runs
from asrbench.scoring.metrics import Counts

if TYPE_CHECKING:
    from asrbench.bench.results import RunKey, RunSummary

__all__ = ["Baseline", "baseline_for", "load_baseline"]


@dataclass(frozen=True)
class Baseline:
    """A saved run's corpus WER for one model × device × dataset, and the allowed margin.

    ``margin`` is in absolute percentage points. ``counts`` are the baseline's per-utterance word
    counts; this run's are the checked summary's own (``RunSummary.utterance_words``), so a corpus
    test that transcribed its utterances itself is tested on them too.
    """

    run: str
    wer: float
    margin: float
    normaliser: str
    counts: dict[str, Counts] = field(default_factory=dict)
    significant_only: bool = False

    def check(self, summary: RunSummary) -> str | None:
        """A failure message when ``summary`` regresses beyond the margin, else ``None``."""
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


def load_baseline(selector: str, storage: Path) -> SavedRun:
    """The one saved run ``selector`` names in the pytest-benchmark ``storage`` folder."""
    try:
        [run] = find_runs(storage, [selector])
    except ConfigError as exc:
        raise ConfigError(f"--asr-baseline: {exc}") from None
    return run


def baseline_for(run: SavedRun | None, key: RunKey, margin: float, *,
                 significant_only: bool = False) -> Baseline | None:
    """The gate for ``key`` (model, device, dataset), or ``None`` when the run did not measure it."""
    from asrbench.reporting.compare import utterance_counts

    if run is None:
        return None
    figures = run.runs.get(key.as_tuple())
    if figures is None or figures.get("wer") is None:
        return None
    return Baseline(run.name, float(figures["wer"]), margin, str(figures.get("normaliser")),
                    utterance_counts(run.utterances, key.as_tuple()), significant_only)
