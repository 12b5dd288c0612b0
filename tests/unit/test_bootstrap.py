"""The one resampler behind the WER interval and the paired bootstrap, checked against its own draw."""

from __future__ import annotations

import numpy as np
import pytest

from asrbench.scoring.bootstrap import percentile_interval, resample_sums
from asrbench.scoring.metrics import Counts, bootstrap_wer_interval, percentile


def test_sums_are_the_columns_summed_over_numpys_seeded_draw():
    errors, words = [0, 3, 1, 2], [5, 9, 0, 4]
    sums = resample_sums([errors, words], resamples=50, seed=7)
    picks = np.random.default_rng(7).integers(0, 4, size=(50, 4))
    assert sums.shape == (2, 50)
    assert sums[0].tolist() == [sum(errors[i] for i in row) for row in picks.tolist()]
    assert sums[1].tolist() == [sum(words[i] for i in row) for row in picks.tolist()]


def test_one_draw_serves_every_column():
    sums = resample_sums([[1, 2, 3], [1, 2, 3], [1, 1, 1]], resamples=200, seed=0)
    assert (sums[0] == sums[1]).all()  # paired: the same utterances for each column
    assert (sums[2] == 3).all()  # n utterances drawn per resample


def test_large_sets_draw_in_chunks_of_the_same_stream(monkeypatch):
    from asrbench.scoring import bootstrap

    monkeypatch.setattr(bootstrap, "MAX_DRAWS", 10)  # two resamples of four utterances per chunk
    column = [1.0, 10.0, 100.0, 1000.0]
    rng = np.random.default_rng(1)
    picks = [rng.integers(0, 4, size=(size, 4)) for size in (2, 2, 1)]
    expected = [sum(column[i] for i in row) for chunk in picks for row in chunk.tolist()]
    assert resample_sums([column], resamples=5, seed=1)[0].tolist() == expected


def test_no_utterances_is_refused():
    with pytest.raises(ValueError, match="one or more utterances"):
        resample_sums([[]], resamples=10, seed=0)


def test_wer_interval_is_the_percentiles_of_the_resampled_corpus_wers():
    counts = [Counts(substitutions=s, reference=r) for s, r in [(0, 8), (2, 9), (1, 5), (0, 0)]]
    counts.append(Counts(insertions=2, reference=0))  # an empty reference: its rate is its errors
    picks = np.random.default_rng(3).integers(0, len(counts), size=(400, len(counts))).tolist()
    rates = []
    for row in picks:
        errors = sum(counts[i].errors for i in row)
        words = sum(counts[i].reference for i in row)
        rates.append(errors / words if words else float(errors))
    expected = (percentile(rates, 5), percentile(rates, 95))
    assert bootstrap_wer_interval(counts, level=0.9, resamples=400, seed=3) == pytest.approx(
        expected, rel=1e-12)
    assert percentile_interval(np.array(rates), 0.9) == pytest.approx(expected, rel=1e-12)
