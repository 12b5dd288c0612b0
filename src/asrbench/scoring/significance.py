"""Is a WER change real? The paired bootstrap over utterances (Bisani & Ney, 2004).

Two runs scored on the same utterances are compared on those utterances only. Each resample
(:mod:`asrbench.scoring.bootstrap`, one draw for both runs) takes utterances with replacement and
computes ΔWER = WER(new) − WER(base) on the draw, both corpus WERs (errors summed over summed
reference words). The 95 % interval is the 2.5th and 97.5th percentile
of the resampled differences; the two-sided p-value is twice the smaller tail share of resamples on
either side of zero. A change is significant only when its interval excludes zero.

ΔWER is in absolute percentage points throughout (``+0.5`` is half a point worse).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from asrbench.scoring.bootstrap import percentile_interval, resample_sums
from asrbench.scoring.metrics import Counts, total

__all__ = ["Difference", "paired_bootstrap"]


@dataclass(frozen=True)
class Difference:
    """ΔWER of ``new`` against ``base`` on their common utterances, in points, with its test."""

    utterances: int
    delta: float
    low: float
    high: float
    p_value: float
    resamples: int

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        verdict = "significant" if self.significant else "not significant"
        return (f"ΔWER {self.delta:+.2f} pt [95% CI {self.low:+.2f}, {self.high:+.2f}], "
                f"p={self.p_value:.3g}, {verdict} ({self.utterances} paired utterances)")

    def as_dict(self) -> dict[str, float | int | bool]:
        return {"delta_wer_points": self.delta, "ci95_low": self.low, "ci95_high": self.high,
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
    base_err, new_err, words = resample_sums(
        [[base[u].errors for u in common], [new[u].errors for u in common],
         [base[u].reference for u in common]], resamples=resamples, seed=seed)
    delta = _points(total(new[u] for u in common).rate - total(base[u] for u in common).rate)
    sample = 100 * (new_err - base_err) / np.where(words > 0, words, 1.0)
    low, high = percentile_interval(sample, level)
    at_most = int(np.count_nonzero(sample <= 0))
    at_least = int(np.count_nonzero(sample >= 0))
    p_value = min(1.0, 2 * (min(at_most, at_least) + 1) / (resamples + 1))
    return Difference(len(common), delta, low, high, p_value, resamples)


def _points(rate: float) -> float:
    return 100 * rate if math.isfinite(rate) else math.nan
