"""``asrbench compare A1 A2 A3 --vs B1 B2 B3`` on constructed runs: machine drift that moves whole
runs is not a change; a slowdown of every run is; gates follow the three-way verdict."""

from __future__ import annotations

import copy
import json
import math
import random
import zlib
from pathlib import Path
from typing import Any

import pytest

from asrbench.cli import main
from asrbench.reporting import sides
from asrbench.reporting.history import load_run
from asrbench.scoring.significance import paired_timing

GOLDEN = Path(__file__).parents[1] / "golden" / "report.json"
#: Each utterance's latency at the machine's usual speed (utterance order is the same in every run).
BASE = {f"u{i:02d}": random.Random(7).uniform(0.2, 2.0) * (1 + i / 40) for i in range(30)}


def _report(scale: float, *, seed: int, noise: float = 0.01, errors: int = 0) -> dict[str, Any]:
    """The golden report with one utterance per ``BASE`` latency, every latency times ``scale``
    (a whole-run shift) and a small per-utterance jitter."""
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for record in golden["runs"] + golden["utterances"]:
        for key in [k for k, v in record.items() if v == "<volatile>"]:
            del record[key]
    rng = random.Random(seed)
    template = golden["utterances"][0]
    report = copy.deepcopy(golden)
    report["machine"] = {"id": "0123abcd", "node": "bench-host", "folder": "Linux-CPython-3.12-64bit"}
    report["utterances"] = []
    latencies = {}
    for uid, latency in BASE.items():
        latencies[uid] = latency * scale * (1 + rng.uniform(-noise, noise))
        u = copy.deepcopy(template)
        u.update(id=uid, latency=latencies[uid], audio_seconds=2.0, rtf=latencies[uid] / 2)
        if uid == "u00":
            u["word_errors"] = {"substitutions": errors, "deletions": 0, "insertions": 0,
                                "reference_tokens": 9}
        report["utterances"].append(u)
    spent, ordered = sum(latencies.values()), sorted(latencies.values())
    report["runs"][0].update(utterances=len(latencies), audio_seconds=60.0, rtf=spent / 60.0,
                             rtfx=60.0 / spent, latency_p50=ordered[15], latency_p95=ordered[-2],
                             latency_mean=spent / 30, wer=errors / 270)
    return report


def _files(tmp_path: Path, side: str, scales: list[float], **kwargs: Any) -> list[str]:
    out = []
    for index, scale in enumerate(scales, start=1):
        path = tmp_path / f"{side}-{index:02d}.json"
        path.write_text(json.dumps(_report(scale, seed=zlib.crc32(f"{side}-{index}".encode()),
                                            **kwargs)))
        out.append(str(path))
    return out


#: Machine drift: each run's speed, run by run (both sides of equal expected speed).
DRIFT_A = [1.00, 1.08, 0.95]
DRIFT_B = [1.06, 0.97, 1.03]


@pytest.mark.parametrize("paired", [True, False])
def test_machine_drift_that_moves_whole_runs_is_not_a_change(tmp_path, paired):
    a = [load_run(Path(p)) for p in _files(tmp_path, "a", DRIFT_A)]
    b = [load_run(Path(p)) for p in _files(tmp_path, "b", DRIFT_B)]
    # the within-run bootstrap calls the shift of one run against another "significant"
    within = [paired_timing(*(
        {u["id"]: u["latency"] for u in run.utterances} for run in pair), resamples=1000)
        for pair in zip(a, b, strict=True)]
    assert sum(bool(t and t[0].significant) for t in within) >= 2
    [row] = sides.compare_sides(a, b, paired=paired, resamples=1000)
    for name in ("rtf", "latency_p50", "latency_mean"):
        change = row.timing[name]
        assert change.verdict in ("equivalent", "no decision"), str(change)
        assert change.low is not None
        assert change.high is not None
        assert change.low < 1 < change.high
    rtf = row.timing["rtf"]
    geo = math.prod(DRIFT_B) ** (1 / 3) / math.prod(DRIFT_A) ** (1 / 3)
    assert rtf.ratio == pytest.approx(geo, rel=0.01)
    assert rtf.cv_base is not None
    assert rtf.cv_base > 0.03  # the run-to-run spread is seen and reported


@pytest.mark.parametrize("paired", [True, False])
def test_a_twenty_percent_slowdown_of_every_run_is_slower(tmp_path, paired):
    drift = [1.00, 1.03, 0.98]
    a = [load_run(Path(p)) for p in _files(tmp_path, "a", drift)]
    b = [load_run(Path(p)) for p in _files(tmp_path, "b", [1.2 * d for d in drift])]
    [row] = sides.compare_sides(a, b, paired=paired, resamples=1000)
    rtf = row.timing["rtf"]
    assert rtf.verdict == "slower", str(rtf)
    assert rtf.ratio == pytest.approx(1.2, rel=0.01)
    [back] = sides.compare_sides(b, a, paired=paired, resamples=1000)
    assert back.timing["rtf"].verdict == "faster"


def test_compare_json_carries_each_timing_figures_verdict(tmp_path, capsys):
    a = _files(tmp_path, "a", [1.0, 1.01, 0.99])
    b = _files(tmp_path, "b", [1.2, 1.21, 1.19])
    assert main(["compare", *a, "--vs", *b, "--paired", "--json"]) == 0
    [record] = json.loads(capsys.readouterr().out)
    rtf = record["timing"]["rtf"]
    assert rtf["verdict"] == "slower"
    assert rtf["ratio"] == pytest.approx(1.2, rel=0.01)
    assert rtf["ci95_low"] < rtf["ratio"] < rtf["ci95_high"]
    assert (rtf["runs_base"], rtf["runs_new"]) == (3, 3)
    assert 0 < rtf["cv_base"] < 0.05
    assert rtf["paired"] is True
    assert set(record["timing"]) >= {"rtf", "latency_p50", "latency_p95"}
    assert record["wer_test"]["delta_wer_points"] == 0.0


def test_timing_gate_fails_on_slower_only_and_exits_2_without_a_decision(tmp_path, capsys):
    a = _files(tmp_path, "a", [1.0, 1.01, 0.99])
    slow = _files(tmp_path, "slow", [1.2, 1.21, 1.19])
    same = _files(tmp_path, "same", [1.0, 1.005, 0.995])
    fast = _files(tmp_path, "fast", [0.8, 0.81, 0.79])
    drift = _files(tmp_path, "drift", [1.06, 0.93, 1.05])
    gate = ["--fail-on", "rtf:+5%", "--paired"]
    assert main(["compare", *a, "--vs", *slow, *gate]) == 1
    err = capsys.readouterr().err
    assert "FAIL " in err
    assert "SLOWER (margin 5%)" in err
    assert "breaks rtf:+5%" in err
    assert main(["compare", *a, "--vs", *same, *gate]) == 0
    out = capsys.readouterr().out
    assert "EQUIVALENT (margin 5%)" in out
    assert main(["compare", *a, "--vs", *fast, *gate]) == 0
    assert main(["compare", *a, "--vs", *drift, *gate]) == 2
    assert "NO DECISION" in capsys.readouterr().err
    # a wider gate decides what 5 % could not: its margin is the gate's own
    assert main(["compare", *a, "--vs", *slow, "--fail-on", "rtf:+30%", "--paired"]) == 0
    # two runs per side: no verdict, whatever the interval says
    assert main(["compare", *a[:2], "--vs", *slow[:2], *gate]) == 2
    assert "fewer than 3 runs per side (2 and 2)" in capsys.readouterr().err


def test_sides_take_globs_and_the_wer_test_pools_every_run(tmp_path, capsys):
    _files(tmp_path, "a", [1.0, 1.01, 0.99])
    _files(tmp_path, "b", [1.0, 1.01, 0.99], errors=3)
    code = main(["compare", str(tmp_path / "a-*.json"), "--vs", str(tmp_path / "b-*.json"),
                 "--json", "--fail-on", "wer:+0.5"])
    [record] = json.loads(capsys.readouterr().out)
    assert record["runs_a"] == [f"Linux-CPython-3.12-64bit/a-0{i}" for i in (1, 2, 3)]
    # three errors in one utterance of every run: 9 errors over 3 x 9 words of u00 pooled
    assert record["wer_test"]["delta_wer_points"] == pytest.approx(100 * 9 / (3 * 270))
    assert record["wer_b"] == pytest.approx(3 / 270)
    assert code == 1
    with pytest.raises(SystemExit):
        main(["compare", "--vs"])
    assert main(["compare", "--vs", str(tmp_path / "b-01.json")]) == 2
    assert "--vs: name side A's runs before it" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "zzz-*.json"), "--vs", "x"]) == 2
    assert "matches no file" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "a-*.json"), "--vs", str(tmp_path / "b-0[12].json"),
                 "--paired"]) == 2
    assert "--paired: the sides have 3 and 2 runs" in capsys.readouterr().err
    assert main(["compare", *sorted(str(p) for p in tmp_path.glob("a-*.json")), "--margin",
                 "five"]) == 2


def test_two_run_form_says_one_run_cannot_separate_spread_from_change(tmp_path, capsys):
    a = _files(tmp_path, "a", [1.0])
    b = _files(tmp_path, "b", [1.3])
    assert main(["compare", *a, *b, "--fail-on", "rtf:+5%"]) == 1
    err = capsys.readouterr().err
    assert "one run against one run cannot separate run-to-run spread from a change" in err
    assert "asrbench ab" in err
    # the within-run intervals are labelled for what they are, and no verdict is given
    assert main(["compare", *a, *b]) == 0
    table = capsys.readouterr().out
    assert "      precision of one run: ΔRTF +" in table
    assert "      timing verdict: no decision (one run against one run cannot separate" in table
    assert main(["compare", *a, *b, "--json"]) == 0
    base, new = json.loads(capsys.readouterr().out)
    assert (base["timing_verdict"], base["timing_verdict_reason"]) == (None, None)
    assert new["timing_verdict"] == "no decision"
    assert new["timing_verdict_reason"].startswith("one run against one run cannot separate")
    assert new["rtf_significant"] is True  # what the precision of one run alone would say


def test_the_wer_test_weighs_sides_of_unequal_run_counts_alike(tmp_path):
    # the paired bootstrap divides both sides' errors by side A's words: 3 runs against 4 must
    # not read as a third more errors on B
    a = [load_run(Path(p)) for p in _files(tmp_path, "a", [1.0, 1.01, 0.99], errors=2)]
    b = [load_run(Path(p)) for p in _files(tmp_path, "b", [1.0, 1.01, 0.99, 1.0], errors=2)]
    [row] = sides.compare_sides(a, b, paired=False, resamples=1000)
    assert row.wer is not None
    assert (row.wer.delta, row.wer.low, row.wer.high) == (0.0, 0.0, 0.0)
    assert not row.wer.significant
    worse = [load_run(Path(p)) for p in _files(tmp_path, "w", [1.0] * 5, errors=3)]
    [row] = sides.compare_sides(a, worse, paired=False, resamples=1000)
    assert row.wer is not None
    assert row.wer.delta == pytest.approx(100 * (3 - 2) / 270)
    assert row.wer.low is not None
    assert row.wer.high is not None
    assert row.wer.low <= row.wer.delta <= row.wer.high
