"""Is a WER change real? The paired bootstrap over utterances (Bisani & Ney, 2004).

Two runs scored on the same utterances are compared on those utterances only. Each resample
(:mod:`asrbench.scoring.bootstrap`, one draw for both runs) takes utterances with replacement and
computes ΔWER = WER(new) − WER(base) on the draw, both corpus WERs (errors summed over summed
reference words). The 95 % interval is the 2.5th and 97.5th percentile
of the resampled differences; the two-sided p-value is twice the smaller tail share of resamples on
either side of zero. A change is significant only when its interval excludes zero.

ΔWER is in absolute percentage points throughout (``+0.5`` is half a point worse).

Timing changes (:func:`paired_timing`) are tested the same way on the utterances both runs timed,
each utterance's measured latency paired with its own: ΔRTF is the relative change of the total
latency over those utterances (their audio is the same, so it is the relative change of RTF), and
Δlatency p50 the relative change of the median latency. Both are recomputed on every resample; the
interval, p-value and "significant" follow the WER test.

With one common utterance every resample is the same draw: there is no interval (``low`` and
``high`` are ``None``, never a zero-width interval) and the change is never significant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from asrbench.scoring.bootstrap import percentile_interval, resample_medians, resample_sums
from asrbench.scoring.metrics import Counts, total

__all__ = ["NO_INTERVAL", "Difference", "TimingChange", "paired_bootstrap", "paired_timing"]

#: What stands in for an interval when the runs share one utterance.
NO_INTERVAL = "1 utterance: no interval"


@dataclass(frozen=True)
class Difference:
    """ΔWER of ``new`` against ``base`` on their common utterances, in points, with its test.

    ``low``, ``high`` and ``p_value`` are ``None`` when there is a single common utterance.
    """

    utterances: int
    delta: float
    low: float | None
    high: float | None
    p_value: float | None
    resamples: int

    @property
    def significant(self) -> bool:
        return _excludes_zero(self.low, self.high)

    def __str__(self) -> str:
        if self.low is None or self.high is None or self.p_value is None:
            return f"ΔWER {self.delta:+.2f} pt ({NO_INTERVAL})"
        verdict = "significant" if self.significant else "not significant"
        return (f"ΔWER {self.delta:+.2f} pt [95% CI {self.low:+.2f}, {self.high:+.2f}], "
                f"p={self.p_value:.3g}, {verdict} ({self.utterances} paired utterances)")

    def as_dict(self) -> dict[str, float | int | bool | None]:
        return {"delta_wer_points": self.delta, "ci95_low": self.low, "ci95_high": self.high,
                "p_value": self.p_value, "significant": self.significant,
                "paired_utterances": self.utterances, "resamples": self.resamples}


@dataclass(frozen=True)
class TimingChange:
    """The relative change of one timing figure (``rtf`` or ``latency_p50``) of ``new`` against
    ``base`` on their common utterances: ``+0.2`` is 20 % slower. ``base`` and ``new`` are the
    figure's ratio ingredients on those utterances (total latency for RTF, the median for p50)."""

    figure: str
    utterances: int
    base: float
    new: float
    change: float
    low: float | None
    high: float | None
    p_value: float | None
    resamples: int

    @property
    def significant(self) -> bool:
        return _excludes_zero(self.low, self.high)

    @property
    def label(self) -> str:
        return {"rtf": "ΔRTF", "latency_p50": "Δp50",
                "core_hours_per_audio_hour": "Δcore-h/audio-h"}.get(self.figure, f"Δ{self.figure}")

    def __str__(self) -> str:
        if self.low is None or self.high is None or self.p_value is None:
            return f"{self.label} {100 * self.change:+.1f}% ({NO_INTERVAL})"
        verdict = "significant" if self.significant else "not significant"
        return (f"{self.label} {100 * self.change:+.1f}% [95% CI {100 * self.low:+.1f}%, "
                f"{100 * self.high:+.1f}%], p={self.p_value:.3g}, {verdict} "
                f"({self.utterances} paired utterances)")

    def as_dict(self) -> dict[str, float | int | bool | None]:
        return {"change": self.change, "ci95_low": self.low, "ci95_high": self.high,
                "p_value": self.p_value, "significant": self.significant,
                "paired_utterances": self.utterances, "resamples": self.resamples}


def paired_bootstrap(base: Mapping[str, Counts], new: Mapping[str, Counts], *,
                     resamples: int = 10_000, seed: int = 0,
                     level: float = 0.95) -> Difference | None:
    """The paired bootstrap over the utterance ids both runs scored; ``None`` when they share none.

    Seeded, so the same pair of runs always gives the same interval and p-value.
    """
    common = sorted(set(base) & set(new))
    if not common:
        return None
    delta = _points(total(new[u] for u in common).rate - total(base[u] for u in common).rate)
    if len(common) < 2:
        return Difference(1, delta, None, None, None, 0)
    base_err, new_err, words = resample_sums(
        [[base[u].errors for u in common], [new[u].errors for u in common],
         [base[u].reference for u in common]], resamples=resamples, seed=seed)
    sample = 100 * (new_err - base_err) / np.where(words > 0, words, 1.0)
    low, high = percentile_interval(sample, level)
    return Difference(len(common), delta, low, high, _p_value(sample), resamples)


def paired_timing(base: Mapping[str, float], new: Mapping[str, float], *,
                  resamples: int = 10_000, seed: int = 0,
                  level: float = 0.95) -> tuple[TimingChange, TimingChange] | None:
    """ΔRTF and Δlatency p50 over the utterance ids both runs timed (latencies in seconds).

    ``None`` when they share no utterance or the baseline's latencies are all zero (no ratio).
    Seeded like :func:`paired_bootstrap`; both figures are computed on the same draws.
    """
    common = sorted(u for u in set(base) & set(new)
                    if math.isfinite(base[u]) and math.isfinite(new[u]))
    if not common:
        return None
    old = np.asarray([base[u] for u in common], dtype=np.float64)
    now = np.asarray([new[u] for u in common], dtype=np.float64)
    points = {"rtf": (float(old.sum()), float(now.sum())),
              "latency_p50": (float(np.median(old)), float(np.median(now)))}
    if points["rtf"][0] <= 0:
        return None
    if len(common) < 2 or points["latency_p50"][0] <= 0:
        # a zero median (coarse CPU clocks) has no ratio: p50 says so, the total is still tested
        b, n = points["latency_p50"]
        p50 = TimingChange("latency_p50", len(common), b, n, n / b - 1 if b > 0 else math.nan,
                           None, None, None, 0)
        if len(common) < 2:
            b, n = points["rtf"]
            return TimingChange("rtf", 1, b, n, n / b - 1, None, None, None, 0), p50
        return _tested("rtf", old, now, points["rtf"], resamples, seed, level), p50
    return (_tested("rtf", old, now, points["rtf"], resamples, seed, level),
            _tested("latency_p50", old, now, points["latency_p50"], resamples, seed, level))


def _tested(figure: str, old: np.ndarray, now: np.ndarray, point: tuple[float, float],
            resamples: int, seed: int, level: float) -> TimingChange:
    """One figure's change with its bootstrap: the ratio of sums (``rtf``) or of medians."""
    columns = [old.tolist(), now.tolist()]
    draw = resample_sums if figure == "rtf" else resample_medians
    drawn = draw(columns, resamples=resamples, seed=seed)
    sample = drawn[1] / np.where(drawn[0] > 0, drawn[0], np.nan) - 1
    sample = sample[np.isfinite(sample)]
    b, n = point
    low, high = percentile_interval(sample, level)
    return TimingChange(figure, len(old), b, n, n / b - 1, low, high, _p_value(sample), resamples)


def _excludes_zero(low: float | None, high: float | None) -> bool:
    return low is not None and high is not None and (low > 0 or high < 0)


def _p_value(sample: np.ndarray) -> float:
    """Two-sided: twice the smaller share of resamples on either side of zero."""
    at_most = int(np.count_nonzero(sample <= 0))
    at_least = int(np.count_nonzero(sample >= 0))
    return min(1.0, 2 * (min(at_most, at_least) + 1) / (len(sample) + 1))


def _points(rate: float) -> float:
    return 100 * rate if math.isfinite(rate) else math.nan
