"""The bootstrap over utterances: the one seeded resampler behind every interval and test in scoring.

Each resample draws the run's n utterances with replacement and sums per-utterance columns (errors,
reference words, ...) over the draw; the caller turns those sums into its statistic: corpus WER for
:func:`asrbench.scoring.metrics.bootstrap_wer_interval`, ΔWER between two runs for
:func:`asrbench.scoring.significance.paired_bootstrap`. Draws come from numpy's default generator
seeded with ``seed``, in chunks of at most two million indices so memory stays bounded on large
sets; the chunking is part of the stream, so a seed always gives the same sample.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_DRAWS", "percentile_interval", "resample_medians", "resample_sums"]

#: Utterance indices drawn at once (resamples per chunk × utterances).
MAX_DRAWS = 2_000_000

Sample = npt.NDArray[np.float64]


def resample_sums(columns: Sequence[Sequence[float]], *, resamples: int, seed: int) -> Sample:
    """Each column summed over each resample of the utterances: shape ``(columns, resamples)``.

    Every column has one value per utterance, in the same utterance order; one resample draws the
    same utterances for all columns (the pairing the paired bootstrap needs).
    """
    data = np.asarray(columns, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] == 0:
        raise ValueError("resample_sums needs one or more columns of one or more utterances")
    return _resample(data, resamples=resamples, seed=seed, median=False)


def resample_medians(columns: Sequence[Sequence[float]], *, resamples: int, seed: int) -> Sample:
    """Like :func:`resample_sums`, with each column's median over each resample instead of its sum.

    The same seed draws the same utterances as :func:`resample_sums` does.
    """
    data = np.asarray(columns, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] == 0:
        raise ValueError("resample_medians needs one or more columns of one or more utterances")
    return _resample(data, resamples=resamples, seed=seed, median=True)


def _resample(data: Sample, *, resamples: int, seed: int, median: bool) -> Sample:
    n = data.shape[1]
    rng = np.random.default_rng(seed)
    out = np.empty((data.shape[0], resamples), dtype=np.float64)
    chunk = max(1, MAX_DRAWS // n)
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        picks = rng.integers(0, n, size=(size, n))
        drawn = data[:, picks]
        out[:, start:start + size] = np.median(drawn, axis=2) if median else drawn.sum(axis=2)
    return out


def percentile_interval(sample: Sample, level: float) -> tuple[float, float]:
    """The central ``level`` interval of ``sample`` (linear-interpolated percentiles)."""
    tail = (1 - level) / 2 * 100
    low, high = (float(x) for x in np.percentile(sample, [tail, 100 - tail]))
    return low, high
