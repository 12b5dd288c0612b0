"""Regression gates: a saved run's corpus WER that the current run must not exceed.

``--asr-baseline RUN`` names a run saved by pytest-benchmark (its id or a JSON file); each corpus
test then gets the :class:`Baseline` for its model × device × dataset and fails when its corpus
WER is above the baseline's plus ``--asr-baseline-margin``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from asrbench.errors import ConfigError
from asrbench.history import SavedRun, find_runs

if TYPE_CHECKING:
    from asrbench.results import RunSummary

__all__ = ["Baseline", "baseline_for", "load_baseline"]


@dataclass(frozen=True)
class Baseline:
    """A saved run's corpus WER for one model × device × dataset, and the allowed margin."""

    run: str
    wer: float
    margin: float
    normaliser: str

    def check(self, summary: RunSummary) -> str | None:
        """A failure message when ``summary`` regresses beyond the margin, else ``None``."""
        if summary.normaliser != self.normaliser:
            return (f"baseline run {self.run} was scored with {self.normaliser}, this run with "
                    f"{summary.normaliser}: their WERs are not comparable")
        if summary.wer > self.wer + self.margin:
            return (f"corpus WER {summary.wer:.1%} regressed from {self.wer:.1%} in baseline run "
                    f"{self.run} (margin {self.margin:.1%})")
        return None


def load_baseline(selector: str, storage: Path) -> SavedRun:
    """The one saved run ``selector`` names in the pytest-benchmark ``storage`` folder."""
    try:
        [run] = find_runs(storage, [selector])
    except ConfigError as exc:
        raise ConfigError(f"--asr-baseline: {exc}") from None
    return run


def baseline_for(run: SavedRun | None, key: tuple[str, str, str], margin: float) -> Baseline | None:
    """The gate for ``key`` (model, device, dataset), or ``None`` when the run did not measure it."""
    if run is None:
        return None
    figures = run.runs.get(key)
    if figures is None or figures.get("wer") is None:
        return None
    return Baseline(run.id, float(figures["wer"]), margin, str(figures.get("normaliser")))
