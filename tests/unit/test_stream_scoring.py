"""Streaming figures of one trace, each checked against a value worked out by hand."""

from __future__ import annotations

import pytest

from asrbench.bench.stream_clock import StreamStep
from asrbench.data.words import WordTiming
from asrbench.scoring.streaming import (
    openbench_corrections,
    openbench_latency,
    prefix_matches,
    score_stream,
    word_times,
)

WORDS = (WordTiming("the", 0.0, 0.3), WordTiming("cat", 0.4, 0.8), WordTiming("sat", 0.9, 1.2),
         WordTiming("on", 1.3, 1.4), WordTiming("the", 1.5, 1.6), WordTiming("mat", 1.7, 2.0))


def lower(text: str) -> str:
    return text.lower()


def step(f: float, partial: str, committed: str = "", *, a: float | None = None,
         c: float = 0.0, final: bool = False) -> StreamStep:
    return StreamStep(f if a is None else a, c, f, partial, committed, final)


def test_a_partial_aligns_to_the_start_of_the_reference():
    ref = [w.word for w in WORDS]
    assert prefix_matches(ref, ["the"]) == [0]  # not the second "the"
    assert prefix_matches(ref, ["the", "cat", "sad"]) == [0, 1]
    assert prefix_matches(ref, ref, prefix=False) == list(range(6))


def test_word_latencies_erasure_and_end_of_utterance():
    trace = [step(0.5, "the"), step(1.0, "the cat", "the"), step(1.5, "the cat sad", "the cat"),
             step(2.0, "the cat sat on", "the cat"), step(2.5, "the cat sat on the mat",
                                                        "the cat sat on the mat", final=True)]
    got = score_stream(trace, WORDS, lower)
    # first appearance: the 0.5-0.3, cat 1.0-0.8, sat 2.0-1.2, on 2.0-1.4, the 2.5-1.6, mat 2.5-2.0
    assert got.first_latencies == pytest.approx((0.2, 0.2, 0.8, 0.6, 0.9, 0.5))
    assert got.commit_latencies == pytest.approx((0.7, 0.7, 1.3, 1.1, 0.9, 0.5))
    assert got.removed_words == 1  # "sad" taken back
    assert got.final_words == 6
    assert got.first_correct_word == 0.5
    assert got.end_of_utterance == pytest.approx(0.5)
    assert got.violations == ()


def test_a_changed_commit_is_a_violation_naming_its_update():
    trace = [step(0.5, "a b", "a b"), step(1.0, "a c", "a c"), step(1.5, "a c", "a c d")]
    got = score_stream(trace, None, lower)
    assert got.violations == (
        "update 2 at 1.000 s: committed 'a b' became 'a c'",
        "update 3 at 1.500 s: committed 'a c d' is not a prefix of partial 'a c'")
    assert got.first_latencies is None  # no timings: no latency
    assert got.openbench is None


def test_lag_slope_is_queue_growth_per_second_of_audio():
    trace = [step(0.1 + 0.2 * k, "x", a=0.1 * k, c=0.2) for k in range(1, 6)]
    assert score_stream(trace, None, lower).lag_slope == pytest.approx(1.0)


def test_openbench_latency_by_its_formula():
    ref = ["the", "cat", "sat"]
    starts, ends = [0.0, 0.4, 0.9], [0.3, 0.8, 1.2]
    # result 1 at cursor 1.0 shows "the cat": covers 0.0-0.8, min 1.0-0.8, max 1.0 (first)
    # result 2 at cursor 1.6 shows "the cat sat": new from "sat" (0.9-1.2), min 0.4, max 1.6-0.8
    got = openbench_latency(["the cat", "the cat sat"], [1.0, 1.6], ref, starts, ends)
    first = (0.2 + 1.0) / 2 * 0.8
    second = (0.4 + 0.8) / 2 * 0.3
    assert got == pytest.approx((first + second, 0.8 + 0.3))


def test_openbench_corrections_count_dropped_replaced_and_added_words():
    # "a b c" → "a x c": one substitution; "a x c" → "a c": one dropped word
    assert openbench_corrections(["a b c", "a x c", "a c"]) == (1, 1, 0)
    assert openbench_corrections(["a c", "a b c"]) == (0, 0, 1)


def test_a_final_update_repeating_the_last_partial_is_aligned_in_full():
    # "z a" aligned as a prefix matches the first "a"; in full it matches the last one, which
    # is then the correct word: it is timed, not a KeyError
    words = (WordTiming("a", 0.0, 0.2), WordTiming("x", 0.3, 0.5), WordTiming("a", 0.6, 0.8))
    trace = [step(0.5, "z a", "z"), step(1.0, "z a", "z a", final=True)]
    got = score_stream(trace, words, lower)
    assert got.first_latencies == pytest.approx((1.0 - 0.8,))
    assert got.commit_latencies == pytest.approx((1.0 - 0.8,))


def test_a_word_is_shown_no_later_than_it_is_committed():
    # the partial "b a x a a b" and its committed prefix "b a x a" align the repeated "a"s
    # differently; the second reference "a" is committed (so shown) at 0.7 s, not first at 1.0 s
    words = tuple(WordTiming(w, i * 0.5, i * 0.5 + 0.3) for i, w in enumerate("a a c a b".split()))
    trace = [step(0.1, "b a x", "b a x"), step(0.4, "b a x", "b a x"),
             step(0.7, "b a x a a-b", "b a x a"), step(1.0, "b a x a b a", "b a x a b a", final=True)]
    got = word_times(trace, words, lambda text: text.replace("-", " "))
    assert got == [(None, None), (0.7, 0.7), (None, None), (0.7, 1.0), (0.7, 1.0)]


def test_an_erasure_threshold_fails_a_stream_that_erases_everything():
    from types import SimpleNamespace

    from asrbench.plugin.streaming import StreamingRun

    settings = SimpleNamespace(max_latency_p90=None, max_erasure=0.5)
    run = StreamingRun(SimpleNamespace(settings=settings))  # type: ignore[arg-type]

    def result(*texts: str) -> SimpleNamespace:
        trace = [step(0.5 * (k + 1), t, final=k == len(texts) - 1) for k, t in enumerate(texts)]
        stream = SimpleNamespace(score=score_stream(trace, None, lower),
                                 errors=SimpleNamespace(rate=0.0))
        return SimpleNamespace(stream=stream, model="m", device="cpu", dataset="d", id="u")

    assert run.problems(result("a b", "a b"), max_wer=1.0) == []  # type: ignore[arg-type]
    [problem] = run.problems(result("a b", ""), max_wer=1.0)  # type: ignore[arg-type]
    assert "erasure unbounded > 0.5 --asr-max-erasure (2 words shown then removed" in problem
    [problem] = run.problems(result("a b", "a"), max_wer=1.0)  # type: ignore[arg-type]
    assert "erasure 1.000 > 0.5" in problem
