"""The paired bootstrap on synthetic runs where the answer is known."""

from __future__ import annotations

import random

import pytest

from asrbench.scoring.metrics import Counts
from asrbench.scoring.significance import paired_bootstrap


def _run(n: int, errors: int, seed: int = 0) -> dict[str, Counts]:
    rng = random.Random(seed)
    out = {}
    for i in range(n):
        words = rng.randint(5, 30)
        sub = min(words, rng.randint(0, 2) + errors)
        out[f"u{i:03d}"] = Counts(substitutions=sub, reference=words)
    return out


def test_identical_runs_are_not_significant():
    base = _run(50, 0)
    test = paired_bootstrap(base, dict(base), resamples=2000)
    assert test is not None
    assert (test.delta, test.low, test.high) == (0.0, 0.0, 0.0)
    assert test.p_value == 1.0
    assert not test.significant


def test_one_more_error_on_every_utterance_is_significant():
    base = _run(50, 0)
    worse = {u: Counts(c.substitutions + 1 if c.substitutions < c.reference else c.substitutions,
                       c.deletions, c.insertions + (c.substitutions >= c.reference), c.reference)
             for u, c in base.items()}
    test = paired_bootstrap(base, worse, resamples=2000)
    assert test is not None
    words = sum(c.reference for c in base.values())
    assert test.delta == pytest.approx(100 * 50 / words)  # 50 more errors, in points
    assert test.low > 0
    assert test.significant
    assert test.p_value < 0.001
    reverse = paired_bootstrap(worse, base, resamples=2000)
    assert reverse is not None
    assert reverse.high < 0
    assert reverse.significant


def test_only_common_utterances_count_and_results_are_reproducible():
    base = _run(40, 0)
    new = {u: c for u, c in _run(40, 0, seed=1).items() if u != "u000"}
    new["extra"] = Counts(substitutions=5, reference=5)
    first = paired_bootstrap(base, new, resamples=1000)
    assert first is not None
    assert first.utterances == 39
    assert first == paired_bootstrap(base, new, resamples=1000)
    assert paired_bootstrap(base, {"other": Counts(reference=1)}) is None


def test_a_single_noisy_utterance_is_not_significant():
    base = _run(30, 0)
    new = dict(base)
    new["u005"] = Counts(substitutions=base["u005"].reference, reference=base["u005"].reference)
    test = paired_bootstrap(base, new, resamples=2000)
    assert test is not None
    assert test.delta > 0
    assert test.low <= 0 <= test.high
    assert not test.significant
    assert "not significant" in str(test)
