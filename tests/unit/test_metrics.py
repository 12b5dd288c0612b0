"""Normalisation, WER/CER counts, corpus aggregation, RTF/RTFx, bootstrap interval."""

from __future__ import annotations

import math

import pytest

from asrbench.core.errors import ConfigError
from asrbench.scoring.metrics import (
    Counts,
    bootstrap_wer_interval,
    get_normaliser,
    percentile,
    rtf,
    rtfx,
    score,
    total,
)

EN = get_normaliser("whisper-english")


def test_whisper_normaliser_removes_case_punctuation_and_spelling_variants():
    s = score("and mister john dashwood", "And Mr. John Dashwood.", EN)
    assert s.reference == s.hypothesis == "and mister john dashwood"
    assert s.wer == 0.0


def test_without_normaliser_punctuation_counts_as_errors():
    s = score("and mister john dashwood", "And Mr. John Dashwood.", get_normaliser("none"))
    assert s.words == Counts(substitutions=4, reference=4)


def test_counts_substitutions_deletions_insertions():
    s = score("the cat sat on the mat", "the bat sat on mat", EN)
    assert s.words == Counts(substitutions=1, deletions=1, reference=6)
    assert score("the cat sat", "the cat sat down", EN).words == Counts(insertions=1, reference=3)
    assert s.wer == pytest.approx(2 / 6)
    assert s.cer > 0


def test_corpus_wer_is_total_errors_over_total_words_not_the_mean():
    short = score("yes", "no", EN)  # 100 %
    long = score("a b c d e f g h i", "a b c d e f g h i", EN)  # 0 %
    corpus = total([short.words, long.words])
    assert corpus.rate == pytest.approx(1 / 10)
    assert (short.wer + long.wer) / 2 == pytest.approx(0.5)


def test_empty_reference_counts_insertions_and_does_not_crash():
    assert score("", "", EN).wer == 0.0
    s = score("", "hello there", EN)
    assert s.words == Counts(insertions=2)
    assert s.wer == 2.0
    assert total([s.words, score("a b", "a b", EN).words]).rate == pytest.approx(2 / 2)


def test_counts_reject_impossible_values():
    with pytest.raises(ValueError, match="more substitutions"):
        Counts(substitutions=3, reference=2)


def test_unknown_normaliser_lists_valid_ones():
    with pytest.raises(ConfigError, match="valid: whisper-english, whisper-basic, none"):
        get_normaliser("fancy")


def test_normaliser_label_names_package_and_version():
    assert EN.label.startswith("whisper-english (whisper-normalizer 0.")


def test_rtf_and_rtfx():
    assert rtf(0.5, 10.0) == pytest.approx(0.05)
    assert rtfx([10.0, 5.0], [0.5, 1.0]) == pytest.approx(10.0)


def test_percentile_matches_linear_interpolation():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)


def test_bootstrap_interval_brackets_the_point_and_is_reproducible():
    counts = [Counts(substitutions=i % 3, reference=10) for i in range(20)]
    low, high = bootstrap_wer_interval(counts)
    point = total(counts).rate
    assert low <= point <= high
    assert low < high
    assert bootstrap_wer_interval(counts) == (low, high)
    assert all(math.isnan(x) for x in bootstrap_wer_interval(counts[:1]))  # no interval


@pytest.mark.parametrize(("reference", "hypothesis"), [
    ("ab cd", "abcd"),
    ("a b", "a b c"),
    ("the cat sat on the mat", "the bat sat on mat"),
    ("hello world", "hello  world"),
    ("abc", "xyz abc def"),
    ("one two three", ""),
])
def test_wer_and_cer_equal_jiwer_spaces_included(reference, hypothesis):
    import jiwer

    s = score(reference, hypothesis, get_normaliser("none"))
    ref, hyp = s.reference, s.hypothesis
    assert s.wer == pytest.approx(jiwer.wer(ref, hyp))
    assert s.cer == pytest.approx(jiwer.cer(ref, hyp))


def test_cer_of_the_issue_pairs():
    none = get_normaliser("none")
    assert score("ab cd", "abcd", none).cer == pytest.approx(0.2)
    assert score("a b", "a b c", none).cer == pytest.approx(2 / 3)
    assert score("ab cd", "abcd", none).chars == Counts(deletions=1, reference=5)
