"""The baseline gate on RTF (``--asr-baseline-rtf-margin``), on constructed runs: the margin is in
percent of the baseline's RTF, the paired timing test decides with ``--asr-baseline-significant``,
and timings from another machine or shared xdist workers are refused."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from asrbench.bench.results import RunSummary, UtteranceResult, summarise
from asrbench.core.errors import ConfigError
from asrbench.reporting.disclosure import CLOCK
from asrbench.reporting.gates import Baseline, check_timing_gate
from asrbench.reporting.history import SavedRun
from asrbench.scoring.metrics import get_normaliser, score

TEXT = "the quick brown fox jumps over the lazy dog"


def _run(n: int, *, seed: int = 0, scale: float = 1.0, noise: float = 0.05,
         hypothesis: str = TEXT, factors: tuple[float, ...] = ()) -> RunSummary:
    """``n`` 2 s utterances; latencies 0.2-1.0 s, times ``scale`` (and utterance i's ``factors[i]``),
    jittered by ``noise``."""
    rng, base = random.Random(seed), random.Random(99)
    normalise = get_normaliser("whisper-english")
    results = [UtteranceResult(
        id=f"u{i:02d}", model="m", device="cpu", dataset="d", reference=TEXT, hypothesis=hypothesis,
        score=score(TEXT, hypothesis, normalise), audio_seconds=2.0,
        latencies=(base.uniform(0.2, 1.0) * scale * (factors[i] if factors else 1.0)
                   * (1 + rng.uniform(-noise, noise)),))
        for i in range(n)]
    return summarise(results, normaliser="whisper-english")


def _gate(base: RunSummary, margin: float | None, *, significant: bool = False,
          shared: str | None = None) -> Baseline:
    return Baseline("0001", base.wer, 0.0, base.normaliser, dict(base.utterance_words),
                    significant, rtf=base.rtf, rtf_margin=margin,
                    latencies=dict(base.utterance_latencies), timings_shared=shared)


def test_summary_keeps_each_utterance_latency_for_the_gate():
    run = _run(5)
    assert run.rtf == pytest.approx(sum(run.utterance_latencies.values()) / 10.0)
    assert sorted(run.utterance_latencies) == [f"u{i:02d}" for i in range(5)]


def test_no_rtf_margin_never_gates_timing():
    assert _gate(_run(20), None).check(_run(20, scale=3.0)) is None


def test_identical_runs_pass():
    base = _run(20)
    assert _gate(base, 0.0).check(_run(20)) is None
    assert _gate(base, 0.0, significant=True).check(_run(20)) is None


def test_a_uniform_twenty_percent_slowdown_fails_a_ten_percent_margin():
    base, slow = _run(30, seed=1), _run(30, seed=2, scale=1.2)
    rise = 100 * (slow.rtf / base.rtf - 1)
    assert 15 < rise < 25
    message = _gate(base, 10.0).check(slow)
    assert message is not None
    assert message.startswith(f"RTF {slow.rtf:.3f} regressed from {base.rtf:.3f} in baseline "
                              f"run 0001 by {rise:+.1f}% (margin 10%); ΔRTF {rise:+.1f}% [95% CI")
    assert ", significant (30 paired utterances)" in message
    assert ("one run against one run cannot separate run-to-run spread from a change (the "
            "interval is the precision of one run)") in message
    assert "'asrbench ab --pairs 5'" in message
    # significant, so --asr-baseline-significant keeps the failure; a 30 % margin lets it pass
    assert _gate(base, 10.0, significant=True).check(slow) == message
    assert _gate(base, 30.0).check(slow) is None


def test_a_noisy_rise_past_the_margin_fails_only_without_significant():
    base = _run(6, noise=0.0)
    noisy = _run(6, noise=0.0, factors=(0.7, 1.6, 0.7, 1.6, 0.7, 1.6))  # half faster, half slower
    assert noisy.rtf > base.rtf * 1.05, "the constructed run must rise past a 5 % margin"
    message = _gate(base, 5.0).check(noisy)
    assert message is not None
    assert "not significant" in message
    assert _gate(base, 5.0, significant=True).check(noisy) is None


def test_one_utterance_shows_no_interval_and_is_never_significant():
    base, slow = _run(1), _run(1, scale=2.0)
    message = _gate(base, 10.0).check(slow)
    assert message is not None
    assert "(1 utterance: no interval)" in message
    assert "CI" not in message
    assert _gate(base, 10.0, significant=True).check(slow) is None


def test_wer_and_rtf_failures_are_both_reported():
    base = _run(10)
    worse = _run(10, scale=2.0, hypothesis="the quick brown fox jumps over the dog")
    message = _gate(base, 10.0).check(worse)
    assert message is not None
    lines = message.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("corpus WER 11.1% regressed from 0.0% in baseline run 0001")
    assert lines[1].startswith(f"RTF {worse.rtf:.3f} regressed from {base.rtf:.3f}")


def test_a_failure_names_the_conditions_that_differ_from_the_baseline():
    base, slow = _run(10), _run(10, scale=2.0)
    info = {"threads": 1, "measured_rounds": 3, "warmup_rounds": 1, "fast": False}
    slow = summarise_again(slow, info)
    gate = _gate(base, 10.0)
    same = Baseline(**{**gate.__dict__, "conditions": {**info, "clock": CLOCK, "cpu_model": "A"}})
    other = Baseline(**{**gate.__dict__, "conditions": {**info, "threads": 2, "measured_rounds": 5}})
    assert "conditions differ" not in (same.check(slow) or "")
    message = other.check(slow) or ""
    assert message.endswith("; conditions differ: measured rounds 5 vs 3; threads 2 vs 1")


def summarise_again(run: RunSummary, info: dict[str, object]) -> RunSummary:
    """``run`` as if measured with ``info`` facts (threads, rounds) recorded."""
    from dataclasses import replace

    return replace(run, info={**run.info, **info})


def test_conditions_compare_as_saved_so_a_json_round_trip_is_no_difference():
    base, slow = _run(10), _run(10, scale=2.0)
    decoding = {"temperature": (0.0, 0.2), "suppress": [1, 2]}  # a tuple, saved as a list
    slow = summarise_again(slow, {"threads": 1, "engine_info": {"decoding": decoding}})
    saved = {"threads": 1, "decoding": {"temperature": [0.0, 0.2], "suppress": [1, 2]}}
    gate = Baseline(**{**_gate(base, 10.0).__dict__, "conditions": saved})
    assert "conditions differ" not in (gate.check(slow) or "")


def test_a_baseline_with_shared_timings_fails_saying_why():
    message = _gate(_run(5), 10.0, shared="2 xdist workers measured on cuda").check(_run(5))
    assert message == ("baseline run 0001 cannot gate RTF: its timings were shared "
                       "(2 xdist workers measured on cuda)")


def _saved(host: str | None) -> SavedRun:
    return SavedRun("0001", Path("0001.json"), "", {}, [], machine="Linux", host=host,
                    host_name="box-a" if host else None)


def test_timing_gate_needs_a_baseline_on_this_machine_and_no_xdist():
    check_timing_gate(None, None, host="h", distributed=True)  # no margin: nothing to refuse
    check_timing_gate(_saved("h"), 5.0, host="h", distributed=False)
    with pytest.raises(ConfigError, match=r"^--asr-baseline-rtf-margin: needs --asr-baseline"):
        check_timing_gate(None, 5.0, host="h", distributed=False)
    with pytest.raises(ConfigError, match=r"baseline run Linux/0001 was timed on another "
                                          r"machine \(box-a\); timings are not like for like"):
        check_timing_gate(_saved("other"), 5.0, host="h", distributed=False)
    with pytest.raises(ConfigError, match=r"has no machine fingerprint \(a report older than"):
        check_timing_gate(_saved(None), 5.0, host="h", distributed=False)
    legacy = SavedRun("0001", Path("0001.json"), "", {}, [], host="box-a", host_name="box-a")
    with pytest.raises(ConfigError, match=r"has no machine fingerprint"):
        check_timing_gate(legacy, 5.0, host="box-a")
    with pytest.raises(ConfigError, match=r"a shard measures part of each corpus"):
        check_timing_gate(_saved("h"), 5.0, host="h", shard=True)
    with pytest.raises(ConfigError, match=r"xdist workers share this machine"):
        check_timing_gate(_saved("h"), 5.0, host="h", distributed=True)
