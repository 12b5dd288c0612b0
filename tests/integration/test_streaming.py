"""Streaming mode end to end: a fake engine with a known schedule, through pytest and the report.

The engine (``tests/stream_engine.py``) shows each reference word once the audio received passes
its end + 0.5 s. Its compute clock is a fake one the test controls, so the figures are known:
first-appearance and commit latency 0.5 s within one chunk, no erasure, WER 0; a rewritten early
word gives erasure; a changed commit fails the test naming its update; an engine that burns twice
real time has a positive lag slope and latencies that grow. The figures are then recomputed from
the saved trace by code independent of :mod:`asrbench.scoring.streaming`.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from asrbench.bench import stream_clock
from asrbench.cli import main
from asrbench.reporting.schema import validate

SUITE = Path(__file__).parents[1] / "benchmarks" / "test_transcribe.py"
CHUNK = 0.1

#: Two clips: (amplitude, seconds, words with their reference start and end).
CLIPS = {
    "one": (0.1, 3.0, [["the", 0.20, 0.43], ["quick", 0.50, 0.87], ["brown", 0.95, 1.31],
                       ["fox", 1.40, 1.92]]),
    "two": (0.2, 2.5, [["she", 0.10, 0.34], ["sells", 0.41, 0.78], ["shells", 0.85, 1.46]]),
}


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch):
    from stream_engine import CLOCK  # type: ignore[import-not-found]

    CLOCK.now = 0.0
    monkeypatch.setitem(stream_clock.COMPUTE_CLOCKS, "thread_cpu", CLOCK)
    return CLOCK


@pytest.fixture
def streamed(pytester: pytest.Pytester, fake_clock) -> pytest.Pytester:
    """A project: two constant clips whose manifest carries word timings, the scripts file."""
    data = pytester.path / "data"
    data.mkdir()
    lines, scripts = [], {}
    for uid, (amplitude, seconds, words) in CLIPS.items():
        sf.write(data / f"{uid}.wav", np.full(int(seconds * 16000), amplitude, np.float32), 16000,
                 subtype="PCM_16")
        text = " ".join(w for w, _, _ in words)
        timings = [{"word": w, "start": s, "end": e} for w, s, e in words]
        lines.append(json.dumps({"id": uid, "audio": f"{uid}.wav", "text": text, "words": timings}))
        scripts[f"{amplitude:.2f}"] = words
    (data / "set.jsonl").write_text("\n".join(lines) + "\n")
    (pytester.path / "scripts.json").write_text(json.dumps(scripts))
    pytester.makeconftest("from stream_engine import ScheduleEngine\n"
                          "from asrbench.engines import register_engine\n"
                          "register_engine('schedule', ScheduleEngine)\n")
    pytester.makepyfile(test_suite=SUITE.read_text())
    return pytester


def _run(project: pytest.Pytester, mode: str, *extra: str) -> tuple[Any, dict[str, Any]]:
    result = project.runpytest_inprocess(
        "--asr-model", f"schedule:scripts.json,mode={mode}", "--asr-dataset", "data/set.jsonl",
        "--asr-device", "cpu", "--asr-fast", "--asr-stream", "--asr-report", "r.json",
        "--benchmark-disable", "-p", "no:cacheprovider", *extra)
    return result, json.loads((project.path / "r.json").read_text())


def _words(utterance: dict[str, Any]) -> list[str]:
    return [w["word"] for w in utterance["stream"]["words"]]


def _first_times(trace: list[dict[str, Any]], words: list[str], field: str) -> list[float]:
    """Independently: the first emission whose text shows reference word i at position i."""
    found = []
    for index, word in enumerate(words):
        found.append(next(row["f"] for row in trace
                          if len(row[field].split()) > index and row[field].split()[index] == word))
    return found


def test_known_schedule_gives_half_a_second_no_erasure_and_no_errors(streamed):
    result, report = _run(streamed, "exact", "-m", "streaming and cpu")
    result.assert_outcomes(passed=2, deselected=4)
    assert validate(report) == []
    [run] = report["runs"]
    for which in ("first", "commit"):
        for stat in ("p50", "p90", "mean"):
            assert 0.5 <= run[f"stream_{which}_latency_{stat}"] < 0.5 + CHUNK
    assert run["stream_erasure"] == 0
    assert run["stream_wer"] == 0
    assert run["commit_violations"] == 0
    assert run["stream_clock"] == "virtual"
    assert run["stream_chunk_ms"] == 100
    assert run["timing_source"] == "manifest"
    assert run["stream_wer_gap_reason"].startswith("offline WER not measured")
    assert run["lag_slope"] == pytest.approx(0.0, abs=1e-9)
    # recomputed from the saved trace, independently of the scoring module
    latencies = []
    for utterance in report["utterances"]:
        stream = utterance["stream"]
        ends = [w["end"] for w in stream["words"]]
        shown = _first_times(stream["trace"], _words(utterance), "partial")
        latencies += [t - e for t, e in zip(shown, ends, strict=True)]
        assert utterance["offline"] is False
    assert run["stream_first_latency_p50"] == pytest.approx(float(np.percentile(latencies, 50)))
    assert run["stream_first_latency_p90"] == pytest.approx(float(np.percentile(latencies, 90)))
    assert run["stream_first_latency_mean"] == pytest.approx(float(np.mean(latencies)))
    # the disclosure block carries the streaming conditions
    assert run["disclosure"]["stream_chunk_ms"] == 100
    assert run["disclosure"]["stream_policy"]["policy"] == "native"


def test_a_rewritten_early_word_is_erasure_and_breaks_an_erasure_threshold(streamed):
    result, report = _run(streamed, "rewrite", "-m", "streaming", "--asr-max-erasure", "0.01")
    result.assert_outcomes(failed=2, deselected=4)
    result.stdout.fnmatch_lines(["*erasure * > 0.01 --asr-max-erasure*"])
    assert "commit violation" not in result.stdout.str()
    [run] = report["runs"]
    assert run["stream_erasure"] > 0
    assert run["commit_violations"] == 0
    assert run["stream_wer"] == 0
    # independently: words dropped from the partial's end between updates, over final words
    removed = finals = 0
    for utterance in report["utterances"]:
        trace = utterance["stream"]["trace"]
        for before, after in itertools.pairwise(trace):
            old, new = before["partial"].split(), after["partial"].split()
            keep = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
                        min(len(old), len(new)))
            removed += len(old) - keep
        finals += len(trace[-1]["partial"].split())
    assert run["stream_erasure"] == pytest.approx(removed / finals)


def test_a_changed_commit_fails_naming_the_update(streamed):
    result, report = _run(streamed, "violate")  # offline tests too: the WER gap is measured
    result.assert_outcomes(passed=3, failed=2, deselected=1)
    result.stdout.fnmatch_lines(["*commit violation: update * at * s: committed 'wrongly' became*"])
    [run] = report["runs"]
    assert run["commit_violations"] == 2
    assert run["stream_wer_gap"] == 0
    assert run["wer"] == 0
    assert all(u.get("offline", True) and "stream" in u for u in report["utterances"])

    # the saved utterances read back give the same run figures (what merge recomputes from)
    from asrbench.bench.results import UtteranceResult, summarise

    rows = [UtteranceResult.from_dict(u) for u in report["utterances"]]
    again = summarise(rows, normaliser=run["normaliser"]).as_dict()
    for name in ("stream_first_latency_p90", "stream_erasure", "commit_violations",
                 "openbench_streaming_latency", "stream_wer_gap", "lag_slope"):
        assert again[name] == pytest.approx(run[name]), name


def test_an_engine_at_twice_real_time_falls_behind_and_breaks_a_latency_threshold(streamed):
    # the streams run first, then the corpus test measures the offline figures it lacks
    result, report = _run(streamed, "slow", "-k", "stream or corpus", "--asr-max-latency-p90", "0.8")
    result.assert_outcomes(failed=2, passed=1, deselected=3)
    result.stdout.fnmatch_lines(["*first-appearance latency p90 * s > 0.8 s*"])
    [run] = report["runs"]
    assert all(u.get("offline", True) and "stream" in u for u in report["utterances"])
    assert run["stream_wer_gap"] == 0
    assert run["lag_slope"] == pytest.approx(1.0)
    assert run["stream_rtf"] == pytest.approx(2.0, rel=0.05)
    for utterance in report["utterances"]:
        stream = utterance["stream"]
        trace = [row for row in stream["trace"] if not row.get("final")]
        lag = [row["f"] - row["a"] for row in trace]
        assert np.polyfit([row["a"] for row in trace], lag, 1)[0] == pytest.approx(1.0)
        ends = [w["end"] for w in stream["words"]]
        shown = _first_times(stream["trace"], _words(utterance), "partial")
        late = [t - e for t, e in zip(shown, ends, strict=True)]
        assert all(b > a for a, b in itertools.pairwise(late)), late


def test_unaware_clock_ignores_compute_and_compare_refuses_other_chunks(streamed, capsys):
    streamed.runpytest_inprocess(
        "--asr-model", "schedule:scripts.json,mode=slow", "--asr-dataset", "data/set.jsonl",
        "--asr-device", "cpu", "--asr-fast", "--asr-stream", "--asr-report", "a.json",
        "--asr-stream-clock", "unaware", "--benchmark-disable", "-p", "no:cacheprovider",
        "-m", "streaming").assert_outcomes(passed=2, deselected=4)
    a = json.loads((streamed.path / "a.json").read_text())
    assert a["runs"][0]["lag_slope"] == 0
    # compute is not counted: no clock was read, whatever the session names
    assert a["runs"][0]["stream_compute_clock"] == "none"
    assert a["utterances"][0]["stream"]["compute_clock"] == "none"
    assert 0.5 <= a["runs"][0]["stream_first_latency_p90"] < 0.5 + CHUNK
    streamed.runpytest_inprocess(
        "--asr-model", "schedule:scripts.json,mode=slow", "--asr-dataset", "data/set.jsonl",
        "--asr-device", "cpu", "--asr-fast", "--asr-stream", "--asr-report", "b.json",
        "--asr-stream-clock", "unaware", "--asr-chunk-ms", "500", "--benchmark-disable",
        "-p", "no:cacheprovider", "-m", "streaming").assert_outcomes(passed=2, deselected=4)
    capsys.readouterr()
    assert main(["compare", str(streamed.path / "a.json"), str(streamed.path / "b.json"),
                 "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records[1]["timing_like_for_like"] is False
    assert "stream chunk ms 100" in records[1]["conditions_differ"]
    assert records[1]["timing_not_like_for_like"] == "stream chunk ms 100.0 vs 500.0"
    # a timing gate between them is refused, naming why
    assert main(["compare", str(streamed.path / "a.json"), str(streamed.path / "b.json"),
                 "--fail-on", "stream_first_latency_p90:+10%"]) == 2
    assert "streamed unlike baseline" in capsys.readouterr().err
