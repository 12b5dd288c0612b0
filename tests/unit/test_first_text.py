"""Time to first text with engines that produce text on a schedule of a fake clock: the first mark
is the figure, latency shares its origin, whole-transcript engines say why they have none."""

from __future__ import annotations

import threading

import pytest

from asrbench.engines.first_text import (
    NO_TEXT,
    WHOLE_TRANSCRIPT,
    FirstText,
    first_text_marker,
    mark_first_text,
    median_first_text,
    recording,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ScheduledEngine:
    """Decodes one segment per entry of ``schedule`` (seconds each), marking the first; eager."""

    incremental = True

    def __init__(self, clock: FakeClock, schedule: list[float]) -> None:
        self.clock = clock
        self.schedule = schedule

    def transcribe(self, audio: object) -> str:
        words = []
        for i, seconds in enumerate(self.schedule):
            self.clock.advance(seconds)
            words.append(f"w{i}")
            mark_first_text()
        self.clock.advance(0.05)  # joining the segments
        return " ".join(words)


def timed(engine: ScheduledEngine, clock: FakeClock) -> tuple[str, float, FirstText]:
    """What the protocol's timed region will do: one recording, one clock, one origin."""
    with recording(clock) as recorder:
        text = engine.transcribe(None)
        latency = clock() - recorder.started
    return text, latency, recorder.result(incremental=engine.incremental)


def test_first_text_is_the_first_segment_and_the_call_still_completes():
    clock = FakeClock()
    text, latency, first = timed(ScheduledEngine(clock, [0.3, 0.2, 0.4]), clock)
    assert text == "w0 w1 w2"
    assert first == FirstText(pytest.approx(0.3))
    assert latency == pytest.approx(0.95)


def test_an_engine_with_no_text_and_a_whole_transcript_engine_say_why():
    clock = FakeClock()
    _, latency, first = timed(ScheduledEngine(clock, []), clock)
    assert first == FirstText(None, NO_TEXT)
    assert latency == pytest.approx(0.05)

    with recording(clock) as recorder:
        clock.advance(1.0)  # openai-whisper: the whole transcript at once, no mark
    assert recorder.result(incremental=False) == FirstText(None, WHOLE_TRANSCRIPT)


def test_marks_outside_a_recording_or_after_it_do_nothing():
    clock = FakeClock()
    mark_first_text()  # no recording: a no-op
    with recording(clock) as recorder:
        marker = first_text_marker()
    clock.advance(1.0)
    marker()  # a straggler after the call ended
    assert recorder.first is None
    first_text_marker()()  # outside any recording: a no-op too


def test_a_worker_thread_marks_through_the_marker_and_recordings_do_not_leak():
    clock = FakeClock()
    with recording(clock) as outer:
        clock.advance(0.1)
        with recording(clock) as inner:  # a nested call has its own recorder
            clock.advance(0.2)
            marker = first_text_marker()
            seen: list[bool] = []

            def worker() -> None:
                mark_first_text()  # a new thread does not inherit the recording
                seen.append(inner.first is None)
                marker()

            thread = threading.Thread(target=worker)
            thread.start()
            thread.join()
        clock.advance(0.3)
        mark_first_text()
    assert seen == [True]
    assert inner.result(incremental=True).seconds == pytest.approx(0.2)
    assert outer.result(incremental=True).seconds == pytest.approx(0.6)


def test_the_run_median_and_its_reason():
    clock = FakeClock()
    firsts = [timed(ScheduledEngine(clock, schedule), clock)[2]
              for schedule in ([0.3, 0.1], [0.5], [0.2, 0.2, 0.2], [])]
    assert [f.seconds for f in firsts] == [pytest.approx(0.3), pytest.approx(0.5),
                                            pytest.approx(0.2), None]
    assert median_first_text(firsts).value == pytest.approx(0.3)  # median of 0.2, 0.3, 0.5
    whole = median_first_text([FirstText(None, WHOLE_TRANSCRIPT)] * 3)
    assert whole.value is None
    assert whole.reason == WHOLE_TRANSCRIPT
    assert median_first_text([]).reason == "no utterance measured"
    with pytest.raises(ValueError, match="not both"):
        FirstText(0.1, "why")
