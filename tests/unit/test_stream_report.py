"""A streamed run in the HTML report (an inline SVG timeline, no script) and in Markdown."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pytest

from asrbench.bench.results import UtteranceResult, summarise
from asrbench.bench.stream_clock import feed
from asrbench.bench.stream_record import StreamRecord, rescore
from asrbench.engines.streaming import StreamUpdate, WordTiming
from asrbench.reporting.html import render_html
from asrbench.reporting.html_media import AudioFiles
from asrbench.reporting.markdown import render_markdown
from asrbench.reporting.timeline import timeline_svg
from asrbench.scoring.metrics import get_normaliser, score
from asrbench.scoring.streaming import score_stream

WORDS = (WordTiming("good", 0.1, 0.4), WordTiming("<morning>", 0.5, 0.9),
         WordTiming("all", 1.0, 1.2))


class Lagging:
    """Shows each word one second after its end; 'all' never right."""

    compute_clock = "thread_cpu"

    def __init__(self) -> None:
        self.heard = 0.0

    def accept(self, chunk):
        self.heard += len(chunk) / 16000
        return self.update(final=False)

    def finish(self):
        return self.update(final=True)

    def update(self, *, final):
        words = ["good", "<morning>", "tall"]
        shown = [w for w, t in zip(words, WORDS, strict=True) if final or t.end + 1 <= self.heard]
        return StreamUpdate(" ".join(shown), " ".join(shown))

    def describe(self):
        return {"policy": "native"}


@pytest.fixture
def report():
    normaliser = get_normaliser("whisper-basic")
    steps, _ = feed(Lagging(), np.zeros(48000, np.float32), chunk_s=0.25, mode="unaware")
    scored = score("good <morning> all", steps[-1].partial, normaliser)
    record = StreamRecord(250, "unaware", "thread_cpu", {"policy": "native"}, steps, WORDS,
                          "manifest", None, scored.words, score_stream(steps, WORDS, normaliser.apply))
    row = UtteranceResult(id="u1", model="m", device="cpu", dataset="d",
                          reference="good <morning> all", hypothesis=steps[-1].partial,
                          score=scored, audio_seconds=3.0, latencies=(0.1,), offline=False,
                          stream=record)
    run = summarise([row], normaliser=normaliser.label).as_dict()
    return {"runs": [run], "utterances": [row.as_dict()], "normaliser": normaliser.label}


def test_the_report_keeps_a_trace_that_rescoring_reproduces(report):
    saved = StreamRecord.from_dict(report["utterances"][0]["stream"])
    assert rescore(saved, get_normaliser("whisper-basic").apply) == saved.score
    # "good", shown one second after its end in 0.25 s chunks; "<morning>" normalises to nothing
    # under whisper-basic (not timed); "all" is never right
    assert list(saved.score.first_latencies) == pytest.approx([1.1])
    assert len(rescore(saved, str.lower).first_latencies) == 2


def test_the_html_report_draws_the_timeline_as_inline_svg_without_script(report):
    page = render_html(report, audio=AudioFiles())
    assert "<h2>Streaming</h2>" in page
    assert "<td>m / cpu / d</td><td>250</td><td>unaware</td><td>manifest</td><td>1.100</td>" in page
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert "<script" not in svg
    assert "style=" not in svg
    assert "&lt;morning&gt;" in svg
    assert "<morning>" not in svg
    assert svg.count("<circle") == 2  # two words shown right; "all" never
    HTMLParser().feed(page)  # well-formed enough to parse


def test_the_timeline_marks_each_word_where_it_appeared(report):
    svg = timeline_svg(report["utterances"][0]["stream"])
    shown = re.findall(r"shown at ([0-9.]+) s", svg)
    assert shown == ["1.50", "2.00"]


def test_markdown_has_a_streaming_table(report):
    text = render_markdown(report)
    assert "**Streaming**" in text
    [row] = [line for line in text.splitlines() if line.startswith("| m | cpu | d | 250 |")]
    assert "| unaware | manifest |" in row
    assert "1.100" in row  # first-appearance latency p50
    [head] = [line for line in text.splitlines() if line.startswith("| model | device | dataset | chunk")]
    assert "| 1st lat p50 s |" in head  # a unit said once
    assert "| erasure (words/word) |" in head
    virtual = {**report, "runs": [{**report["runs"][0], "stream_clock": "virtual",
                                   "stream_compute_clock": "process_cpu"}]}
    assert "| virtual (process_cpu) | manifest |" in render_markdown(virtual)


def test_compare_calls_streams_on_different_compute_clocks_unlike():
    """A run timed on the wall clock and one on the process's CPU clock are not like for like."""
    from asrbench.reporting.compare import Row

    base = {"stream_clock": "virtual", "stream_chunk_ms": 100.0, "stream_compute_clock": "wall"}
    row = Row(key=("m", "cpu", "smoke"),
              values={"a": base, "b": {**base, "stream_compute_clock": "process_cpu"},
                      "c": dict(base), "d": {"stream_clock": None}})
    assert row.stream_differs("b") == "stream compute clock wall vs process_cpu"
    assert row.stream_differs("c") is None
    assert row.stream_differs("d") is None  # not streamed
