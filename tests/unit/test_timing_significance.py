"""The paired bootstrap for timing changes (ΔRTF, Δp50) on constructed runs, in scoring and compare."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from asrbench.cli import main
from asrbench.reporting import compare, compare_format
from asrbench.reporting.history import load_run
from asrbench.scoring.metrics import Counts
from asrbench.scoring.significance import NO_INTERVAL, paired_bootstrap, paired_timing

GOLDEN = Path(__file__).parents[1] / "golden" / "report.json"


def _latencies(n: int, *, seed: int = 0, scale: float = 1.0, noise: float = 0.05) -> dict[str, float]:
    """Per-utterance latencies from 0.2 to 2 s; ``scale`` slows every one, ``noise`` jitters each."""
    rng = random.Random(seed)
    base = random.Random(99)
    return {f"u{i:03d}": base.uniform(0.2, 2.0) * scale * (1 + rng.uniform(-noise, noise))
            for i in range(n)}


def test_identical_runs_have_no_significant_timing_change():
    base = _latencies(40)
    rtf, p50 = paired_timing(base, dict(base), resamples=2000) or pytest.fail("no test")
    for change in (rtf, p50):
        assert change.change == 0.0
        assert change.low == change.high == 0.0
        assert not change.significant
        assert change.p_value == 1.0
        assert "not significant" in str(change)


def test_a_uniform_twenty_percent_slowdown_with_noise_is_significant():
    base = _latencies(40, seed=1)
    slow = _latencies(40, seed=2, scale=1.2)
    rtf, p50 = paired_timing(base, slow, resamples=2000) or pytest.fail("no test")
    common = sorted(base)
    expected = sum(slow[u] for u in common) / sum(base[u] for u in common) - 1
    assert rtf.change == pytest.approx(expected)
    assert 0.15 < rtf.change < 0.25
    assert rtf.low is not None
    assert rtf.high is not None
    assert 0 < rtf.low < rtf.change < rtf.high
    assert rtf.significant
    assert p50.significant
    assert rtf.p_value is not None
    assert rtf.p_value < 0.001
    assert str(rtf).startswith(f"ΔRTF {100 * expected:+.1f}% [95% CI")
    back, _ = paired_timing(slow, base, resamples=2000) or pytest.fail("no test")
    assert back.high is not None
    assert back.high < 0
    assert back.significant


def test_noise_alone_is_not_significant():
    base = _latencies(30, seed=3, noise=0.1)
    again = _latencies(30, seed=4, noise=0.1)
    rtf, _ = paired_timing(base, again, resamples=2000) or pytest.fail("no test")
    assert rtf.low is not None
    assert rtf.high is not None
    assert rtf.low < 0 < rtf.high
    assert not rtf.significant


def test_one_utterance_has_no_interval_for_timing_and_for_wer():
    rtf, p50 = paired_timing({"a": 1.0}, {"a": 1.5}) or pytest.fail("no test")
    assert rtf.change == pytest.approx(0.5)
    assert (rtf.low, rtf.high, rtf.p_value) == (None, None, None)
    assert not rtf.significant
    assert str(rtf) == f"ΔRTF +50.0% ({NO_INTERVAL})"
    assert p50.low is None
    wer = paired_bootstrap({"a": Counts(substitutions=0, reference=10)},
                           {"a": Counts(substitutions=3, reference=10)})
    assert wer is not None
    assert (wer.low, wer.high, wer.p_value) == (None, None, None)
    assert not wer.significant
    assert str(wer) == f"ΔWER +30.00 pt ({NO_INTERVAL})"


def test_only_common_utterances_count_and_it_is_reproducible():
    base = _latencies(20)
    new = {u: v * 1.1 for u, v in base.items() if u != "u000"} | {"extra": 100.0}
    first = paired_timing(base, new, resamples=500)
    assert first is not None
    assert first[0].utterances == 19
    assert first == paired_timing(base, new, resamples=500)
    assert paired_timing(base, {"other": 1.0}) is None


# -- compare on saved report dicts ------------------------------------------------------------------

def _report(latencies: dict[str, float], *, node: str = "bench-host") -> dict[str, Any]:
    """The golden report with ``latencies`` as its utterances' (one id per latency)."""
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for record in golden["runs"] + golden["utterances"]:  # figures these tests do not need
        for key in [k for k, v in record.items() if v == "<volatile>"]:
            del record[key]
    template = golden["utterances"][0]
    report = copy.deepcopy(golden)
    report["machine"] = {"id": "0123abcd", "node": node, "folder": "Linux-CPython-3.12-64bit"}
    report["utterances"] = []
    for uid, latency in latencies.items():
        u = copy.deepcopy(template)
        u.update(id=uid, latency=latency, latencies=[latency], audio_seconds=2.0,
                 rtf=latency / 2.0)
        report["utterances"].append(u)
    spent, audio = sum(latencies.values()), 2.0 * len(latencies)
    ordered = sorted(latencies.values())
    run = report["runs"][0]
    run.update(utterances=len(latencies), audio_seconds=audio, rtf=spent / audio,
               rtfx=audio / spent, latency_p50=ordered[len(ordered) // 2], latency_p95=ordered[-1],
               latency_p90=ordered[-1], latency_mean=spent / len(ordered))
    return report


def _save(tmp_path: Path, name: str, report: dict[str, Any]) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def _rows(tmp_path: Path, base: dict[str, Any], new: dict[str, Any]) -> list[compare.Row]:
    runs = [load_run(_save(tmp_path, "base", base)), load_run(_save(tmp_path, "new", new))]
    return compare.compare_runs(runs, resamples=2000)


def test_compare_marks_identical_timings_not_significant_in_every_format(tmp_path):
    lat = _latencies(30)
    rows = _rows(tmp_path, _report(lat), _report(dict(lat)))
    table = compare_format.format_table(rows)
    assert "ΔRTF +0.0% [95% CI +0.0%, +0.0%]" in table
    assert "not significant" in table
    [_, record] = json.loads(compare_format.format_json(rows))
    assert record["delta_rtf_pct"] == 0.0
    assert record["rtf_significant"] is False
    assert record["latency_p50_significant"] is False
    assert record["timing_paired_utterances"] == 30
    assert "delta_rtf_ci_low_pct" in compare_format.format_csv(rows).splitlines()[0]
    assert "not significant" in compare_format.format_markdown(rows)


def test_compare_finds_a_twenty_percent_slowdown(tmp_path):
    base, slow = _latencies(30, seed=1), _latencies(30, seed=2, scale=1.2)
    rows = _rows(tmp_path, _report(base), _report(slow))
    [_, record] = json.loads(compare_format.format_json(rows))
    expected = 100 * (sum(slow.values()) / sum(base.values()) - 1)
    assert record["delta_rtf_pct"] == pytest.approx(expected)
    assert record["delta_rtf_ci_low_pct"] > 0
    assert record["rtf_significant"] is True
    assert record["latency_p50_significant"] is True
    assert "significant" in compare_format.format_table(rows).split("ΔRTF", 1)[1]


def test_compare_of_one_utterance_shows_no_interval(tmp_path):
    rows = _rows(tmp_path, _report({"one": 1.0}), _report({"one": 1.3}))
    table = compare_format.format_table(rows)
    assert NO_INTERVAL in table
    assert "15.2-15.2" not in table
    assert "[0.0%-0.0%]" not in table
    [_, record] = json.loads(compare_format.format_json(rows))
    assert record["delta_rtf_pct"] == pytest.approx(30.0)
    assert record["delta_rtf_ci_low_pct"] is None
    assert record["rtf_significant"] is False
    assert record["timing_note"] == NO_INTERVAL


def test_fail_on_rtf_significant_exit_codes(tmp_path, capsys):
    base = _save(tmp_path, "base", _report(_latencies(30, seed=1)))
    slow = _save(tmp_path, "slow", _report(_latencies(30, seed=2, scale=1.2)))
    same = _save(tmp_path, "same", _report(_latencies(30, seed=5, scale=1.0, noise=0.3)))
    lone_base = _save(tmp_path, "lone_base", _report({"one": 1.0}))
    lone_slow = _save(tmp_path, "lone_slow", _report({"one": 1.3}))
    gate = ["--fail-on", "rtf:+1%"]
    assert main(["compare", str(base), str(slow), *gate]) == 1
    assert main(["compare", str(base), str(slow), *gate, "--significant"]) == 1
    assert "ΔRTF" in capsys.readouterr().err
    # noise: the RTF rises by more than 1 % but not significantly
    runs = [load_run(base), load_run(same)]
    timing = compare.compare_runs(runs)[0].timing[runs[1].name]
    assert timing is not None
    change = timing[0]
    assert change.change > 0.01
    assert not change.significant
    assert main(["compare", str(base), str(same), *gate]) == 1
    assert main(["compare", str(base), str(same), *gate, "--significant"]) == 0
    # one utterance: no interval, so never significant
    assert main(["compare", str(lone_base), str(lone_slow), *gate]) == 1
    assert main(["compare", str(lone_base), str(lone_slow), *gate, "--significant"]) == 0
