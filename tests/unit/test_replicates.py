"""Runs as replicates: Student's t, the run-level ratio and its interval, the three-way verdict."""

from __future__ import annotations

import math
import statistics

import pytest

from asrbench.scoring.replicates import MIN_RUNS, judge, replicate_change, runs_to_decide
from asrbench.scoring.student import t_cdf, t_quantile

#: 97.5 % quantiles of Student's t from printed tables (Fisher & Yates; NIST handbook 1.3.6.7.2).
TABLE = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 10: 2.228, 30: 2.042, 120: 1.980}


@pytest.mark.parametrize(("df", "expected"), sorted(TABLE.items()))
def test_t_quantile_matches_the_printed_table(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=5e-4)
    assert t_quantile(0.025, df) == pytest.approx(-expected, abs=5e-4)
    assert t_cdf(expected, df) == pytest.approx(0.975, abs=1e-4)


def test_t_cdf_is_a_distribution():
    assert t_cdf(0.0, 3) == pytest.approx(0.5)
    assert t_cdf(1e6, 2) == pytest.approx(1.0)
    assert t_cdf(-1e6, 2) == pytest.approx(0.0, abs=1e-9)
    # one degree of freedom is the Cauchy distribution: 1/2 + atan(t)/pi
    for t in (-3.0, -0.5, 0.7, 5.0):
        assert t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-12)
    with pytest.raises(ValueError, match="degrees of freedom"):
        t_cdf(1.0, 0)


def test_paired_ratio_and_interval_are_the_t_interval_of_log_ratios():
    a = [0.100, 0.110, 0.095, 0.105]
    b = [0.121, 0.130, 0.116, 0.124]
    change = replicate_change(a, b, figure="rtf", paired=True)
    logs = [math.log(y / x) for x, y in zip(a, b, strict=True)]
    half = 3.182446 * statistics.stdev(logs) / math.sqrt(4)  # t(0.975, 3), from the table
    geomean = statistics.geometric_mean
    assert change.ratio == pytest.approx(geomean(b) / geomean(a))
    assert change.low == pytest.approx(math.exp(statistics.fmean(logs) - half), rel=1e-6)
    assert change.high == pytest.approx(math.exp(statistics.fmean(logs) + half), rel=1e-6)
    assert change.verdict == "slower"
    assert change.cv_base == pytest.approx(statistics.stdev(a) / statistics.fmean(a))
    assert change.cv_new == pytest.approx(statistics.stdev(b) / statistics.fmean(b))
    assert str(change).startswith(f"RTF +{100 * (change.ratio - 1):.1f}% [95% CI ")
    assert "SLOWER (margin 5%)" in str(change)
    record = change.as_dict()
    assert record["verdict"] == "slower"
    assert (record["runs_base"], record["runs_new"]) == (4, 4)


def test_unpaired_sides_use_welch():
    # equal spreads on the log scale and 3 runs a side: Welch's degrees of freedom are 2n - 2 = 4
    a = [math.exp(v) for v in (0.0, 0.1, 0.2)]
    b = [math.exp(v) for v in (0.3, 0.4, 0.5)]
    change = replicate_change(a, b, figure="rtf", paired=False)
    se = math.sqrt(2 * 0.01 / 3)  # each side's variance of logs is 0.01
    assert change.ratio == pytest.approx(math.exp(0.3))
    assert change.low == pytest.approx(math.exp(0.3 - 2.776445 * se), rel=1e-6)
    assert change.high == pytest.approx(math.exp(0.3 + 2.776445 * se), rel=1e-6)
    with pytest.raises(ValueError, match="equal sides"):
        replicate_change(a, b[:2], figure="rtf", paired=True)


@pytest.mark.parametrize(("low", "high", "verdict"), [
    (1.06, 1.30, "slower"), (0.80, 0.94, "faster"), (0.97, 1.04, "equivalent"),
    (1.0 / 1.05, 1.05, "equivalent"), (0.99, 1.08, "no decision"), (0.90, 1.10, "no decision"),
    (1.04, 1.20, "no decision")])
def test_the_three_way_verdict(low, high, verdict):
    assert judge(low, high, 0.05) == verdict


def test_fewer_than_three_runs_per_side_never_give_a_verdict():
    slow = replicate_change([1.0, 1.01], [2.0, 2.02], figure="rtf", paired=True)
    assert slow.low is not None
    assert slow.low > 1.05  # the interval alone would say "slower"
    assert slow.verdict == "no decision"
    assert f"fewer than {MIN_RUNS} runs per side (2 and 2)" in (slow.reason or "")
    one = replicate_change([1.0], [2.0], figure="rtf", paired=False)
    assert one.verdict == "no decision"
    assert (one.low, one.high, one.cv_base) == (None, None, None)
    assert one.ratio == pytest.approx(2.0)
    assert "1 run on a side" in str(one)
    bad = replicate_change([1.0, 0.0, 1.0], [1.0, 1.0, 1.0], figure="rtf", paired=True)
    assert bad.verdict == "no decision"
    assert bad.ratio is None


def test_runs_needed_is_the_first_count_whose_interval_decides():
    a = [0.100, 0.112, 0.093]
    b = [0.104, 0.108, 0.104]
    change = replicate_change(a, b, figure="rtf", paired=True)
    assert change.verdict == "no decision"
    needed = change.runs_needed
    assert needed is not None
    assert needed > 3
    assert f"about {needed} runs per side would decide it" in str(change)
    logs = [math.log(y / x) for x, y in zip(a, b, strict=True)]
    mean, sd = statistics.fmean(logs), statistics.stdev(logs)
    room = min(abs(mean - math.log(1.05)), abs(mean + math.log(1.05)))
    assert t_quantile(0.975, needed - 1) * sd / math.sqrt(needed) < room
    assert t_quantile(0.975, needed - 2) * sd / math.sqrt(needed - 1) >= room
    assert runs_to_decide(0.0, 0.0, 0.05, paired=True) is None  # no spread: nothing to go by
    assert runs_to_decide(math.log(1.05), 0.1, 0.05, paired=True) is None  # on the margin


@pytest.mark.parametrize(("base", "new"), [([1.0], [1.0, 1.1]), ([1.0, 1.1, 0.9], [1.2])])
def test_one_run_against_several_is_no_decision_not_a_crash(base, new):
    # Welch's degrees of freedom divide by each side's n - 1: one run on a side has no spread
    change = replicate_change(base, new, figure="rtf", paired=False)
    assert change.verdict == "no decision"
    assert "1 run on a side" in (change.reason or "")
    assert change.ratio == pytest.approx(statistics.geometric_mean(new)
                                         / statistics.geometric_mean(base))
    assert (change.low, change.high) == (None, None)
