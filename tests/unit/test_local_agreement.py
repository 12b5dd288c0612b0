"""LocalAgreement-n over scripted engines whose hypotheses the tests control."""

from __future__ import annotations

import itertools
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asrbench.core.errors import EngineError
from asrbench.data.words import WordTiming
from asrbench.engines.base import Engine
from asrbench.engines.local_agreement import LocalAgreementSession, agreed_prefix, tail_start
from asrbench.engines.streaming import StreamPolicy, StreamSession, StreamUpdate
from asrbench.hardware.devices import Device

RATE = 16_000


class Scripted(Engine):
    """Answers its ``script`` in order, one hypothesis per call; remembers what it was given."""

    name = "scripted"
    devices = frozenset({"cpu"})
    default_model = "script"

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)
        self.device = Device("cpu")
        self.seen: list[int] = []

    @classmethod
    def load(cls, spec, device):  # pragma: no cover - never loaded through a spec
        raise NotImplementedError

    def transcribe(self, audio):
        self.seen.append(len(audio))
        return self.script[min(len(self.seen), len(self.script)) - 1]


class Speaker(Engine):
    """A perfect recogniser of a known utterance: the audio's samples hold their own time in
    seconds, so it hears exactly the words that end inside the buffer, timed from its start."""

    name = "speaker"
    devices = frozenset({"cpu"})
    default_model = "speaker"
    takes_prompt = True
    word_timings = True
    WORDS: ClassVar[list[tuple[str, float, float]]] = [
        ("one", 0.2, 0.6), ("two", 0.8, 1.2), ("three", 1.4, 1.9), ("four", 2.1, 2.5),
        ("five", 2.7, 3.1), ("six", 3.3, 3.8), ("seven", 4.0, 4.4), ("eight", 4.6, 5.0),
        ("nine", 5.2, 5.6), ("ten", 5.8, 6.2), ("eleven", 6.4, 6.9), ("twelve", 7.1, 7.6),
    ]
    TEXT = " ".join(w for w, _, _ in WORDS)

    def __init__(self) -> None:
        self.device = Device("cpu")
        self.calls: list[tuple[float, float, str, str]] = []  # buffer start, end, how, prompt

    @classmethod
    def load(cls, spec, device):  # pragma: no cover
        raise NotImplementedError

    def _heard(self, audio, how, prompt):
        start, end = float(audio[0]), float(audio[-1]) + 1 / RATE
        self.calls.append((start, end, how, prompt))
        return [WordTiming(w, s - start, e - start) for w, s, e in self.WORDS
                if s >= start - 1e-3 and e <= end]

    def transcribe(self, audio):
        return " ".join(w.word for w in self._heard(audio, "plain", ""))

    def transcribe_prompted(self, audio, prompt):
        return " ".join(w.word for w in self._heard(audio, "prompted", prompt))

    def transcribe_timed(self, audio, prompt=""):
        return tuple(self._heard(audio, "timed", prompt))


def clock_audio(seconds: float) -> np.ndarray:
    return (np.arange(round(seconds * RATE)) / RATE).astype(np.float32)


def feed(session, audio, chunk_s):
    step = round(chunk_s * RATE)
    return [session.accept(audio[i:i + step]) for i in range(0, len(audio), step)]


def one_second_chunks(engine, n=2, count=None, **policy):
    session = LocalAgreementSession(engine, StreamPolicy(n=n, min_chunk_s=1.0, **policy))
    count = count if count is not None else len(engine.script)
    return session, [session.accept(np.zeros(RATE, np.float32)) for _ in range(count)]


def test_commits_the_prefix_the_last_two_hypotheses_share():
    engine = Scripted(["the", "the cat", "the cat sat", "the cat sat on"])
    session, updates = one_second_chunks(engine)
    assert [(u.partial, u.committed) for u in updates] == [
        ("the", ""), ("the cat", "the"), ("the cat sat", "the cat"), ("the cat sat on", "the cat sat"),
    ]
    assert session.finish() == StreamUpdate("the cat sat on", "the cat sat on")
    assert isinstance(session, StreamSession)


def test_local_agreement_3_waits_for_three_hypotheses():
    engine = Scripted(["the", "the cat", "the cat sat", "the cat sat on"])
    _, updates = one_second_chunks(engine, n=3)
    assert [u.committed for u in updates] == ["", "", "the", "the cat"]


def test_a_word_that_changes_is_not_committed_until_two_hypotheses_agree():
    engine = Scripted(["a cap", "a cat sad", "a cat sat down", "a cat sat down"])
    _, updates = one_second_chunks(engine)
    assert [u.committed for u in updates] == ["", "a", "a cat", "a cat sat down"]


def test_agreement_ignores_case_and_punctuation_and_keeps_the_committed_form():
    engine = Scripted(["Hello, world", "hello world.", "HELLO world again"])
    _, updates = one_second_chunks(engine)
    assert updates[1].committed == "hello world."
    assert updates[2] == StreamUpdate("hello world. again", "hello world.")


def test_a_hypothesis_that_rewrites_committed_words_does_not_uncommit_them():
    engine = Scripted(["the cat", "the cat sat", "a cat sat on", "a cat sat on the mat"])
    _, updates = one_second_chunks(engine)
    assert updates[1].committed == "the cat"
    assert updates[2] == StreamUpdate("the cat sat on", "the cat sat")
    assert updates[3] == StreamUpdate("the cat sat on the mat", "the cat sat on")


def test_tail_start_aligns_a_hypothesis_to_the_committed_words():
    assert tail_start(["the", "cat"], ["the", "cat", "sat"]) == 2
    assert tail_start(["the", "cat"], ["a", "cat", "sat"]) == 2
    assert tail_start(["the", "cat"], ["cat", "sat"]) == 1
    assert tail_start([], ["cat"]) == 0
    # a committed word replaced stands for one hypothesis word: the rest are new
    assert tail_start(["eight"], ["nine", "ten", "eleven"]) == 1
    assert tail_start(["the", "cat"], ["the", "cats", "at", "on"]) == 2
    assert agreed_prefix([["a", "b", "c"], ["a", "b"], ["a", "x"]]) == 1


def test_decodes_only_after_min_chunk_s_and_returns_the_previous_update_between():
    engine = Scripted(["one", "one two", "one two three"])
    session = LocalAgreementSession(engine, StreamPolicy(min_chunk_s=1.0))
    updates = [session.accept(np.zeros(RATE // 4, np.float32)) for _ in range(8)]
    assert engine.seen == [RATE, 2 * RATE]  # every fourth quarter-second chunk
    assert updates[0] == StreamUpdate("")
    assert updates[4] is updates[3] is updates[5]
    assert session.accept(np.zeros(0, np.float32)) is updates[-1]  # nothing new: no work
    assert session.decodes == 2


def test_finish_decodes_what_is_left_and_commits_everything():
    engine = Scripted(["one", "one two", "one two three four"])
    session, _ = one_second_chunks(engine, count=2)
    session.accept(np.zeros(RATE // 2, np.float32))  # under min_chunk_s: no decode
    assert session.decodes == 2
    assert session.finish() == StreamUpdate("one two three four", "one two three four")
    assert engine.seen[-1] == 2 * RATE + RATE // 2
    assert session.finish().committed == "one two three four"  # finishing twice changes nothing
    with pytest.raises(EngineError, match="accept\\(\\) after finish\\(\\)"):
        session.accept(np.zeros(RATE, np.float32))


def test_finish_without_new_audio_commits_the_last_hypothesis_without_decoding():
    engine = Scripted(["one", "one two", "one two three"])
    session, _ = one_second_chunks(engine, count=3)
    assert session.finish() == StreamUpdate("one two three", "one two three")
    assert session.decodes == 3


def test_finish_on_a_stream_too_short_to_decode_still_transcribes_it():
    engine = Scripted(["hi"])
    session = LocalAgreementSession(engine, StreamPolicy(min_chunk_s=1.0))
    assert session.accept(np.zeros(800, np.float32)) == StreamUpdate("")
    assert session.finish() == StreamUpdate("hi", "hi")


@settings(max_examples=60, deadline=None)
@given(script=st.lists(st.lists(st.sampled_from(["a", "b", "C", "d."]), max_size=6),
                       min_size=1, max_size=8),
       n=st.integers(1, 3))
def test_committed_text_never_changes_and_stays_a_prefix_of_partial(script, n):
    engine = Scripted([" ".join(words) for words in script])
    session, updates = one_second_chunks(engine, n=n)
    final = session.finish()
    committed: list[str] = []
    for update in [*updates, final]:
        words = update.committed.split()
        assert words[:len(committed)] == committed, "committed text changed"
        assert update.partial.split()[:len(words)] == words
        committed = words
    assert final.partial == final.committed


def test_trims_at_the_last_committed_word_and_prompts_with_the_trimmed_text():
    engine = Speaker()
    session = LocalAgreementSession(engine, StreamPolicy(min_chunk_s=1.0, buffer_trim_s=3.0))
    updates = feed(session, clock_audio(7.8), 0.1)
    final = session.finish()
    assert final == StreamUpdate(Speaker.TEXT, Speaker.TEXT)  # kept committed words not repeated
    assert all(u.committed == " ".join(u.partial.split()[:len(u.committed.split())])
               for u in updates)
    timed = [c for c in engine.calls if c[2] == "timed"]
    assert session.decodes == len(engine.calls) == 8
    assert timed, "a buffer past buffer_trim_s is decoded with word timings"
    assert session.trimmed_s > 0
    # the cut lands at the end of a committed word, and later buffers start there
    starts = sorted({round(c[0], 3) for c in engine.calls})
    assert starts[0] == 0.0
    assert all(s in {0.6, 1.2, 1.9, 2.5, 3.1, 3.8, 4.4} for s in starts[1:])
    prompted = [c for c in engine.calls if c[2] == "prompted"]
    assert prompted
    assert all(c[3] for c in prompted)
    assert all(Speaker.TEXT.startswith(c[3]) for c in prompted)
    assert session.describe()["trimming"].startswith("at the end of a committed word")
    # every cut left at least buffer_trim_s / 2 of audio after it
    for (start, end, *_), (next_start, *_) in itertools.pairwise(engine.calls):
        assert next_start == start or end - next_start >= 1.5 - 1e-3


def test_a_trimmed_buffer_whose_first_committed_word_is_not_heard_loses_no_more_words():
    class Deaf(Speaker):
        """Drops the first word of any buffer but the first (the committed context word)."""

        def _heard(self, audio, how, prompt):
            words = super()._heard(audio, how, prompt)
            return words[1:] if float(audio[0]) > 0 else words

    session = LocalAgreementSession(Deaf(), StreamPolicy(min_chunk_s=1.0, buffer_trim_s=3.0))
    feed(session, clock_audio(7.8), 0.1)
    # "five" and "nine" start the trimmed buffers (never heard, or taken for "eight"); the words
    # after them are committed, not taken for the unheard committed word
    assert session.finish().committed == "one two three four six seven eight ten eleven twelve"


def test_an_engine_without_word_timings_is_never_trimmed_nor_prompted():
    class Plain(Speaker):
        takes_prompt = False
        word_timings = False

    engine = Plain()
    session = LocalAgreementSession(engine, StreamPolicy(min_chunk_s=1.0, buffer_trim_s=2.0))
    feed(session, clock_audio(7.8), 0.5)
    assert session.finish().committed == Speaker.TEXT
    assert {c[0] for c in engine.calls} == {0.0}
    assert {c[2] for c in engine.calls} == {"plain"}
    described = session.describe()
    assert described["trimming"].startswith("none: speaker gives no word timings")
    assert described["prompt_used"] is False
    assert described["n"] == 2


def test_the_session_times_calls_on_the_engines_clock(monkeypatch):
    class InThread(Scripted):
        compute_clock = "thread_cpu"

    class Service(Scripted):
        compute_clock = "wall"  # the default: the work happens outside this process

    class InProcess(Scripted):
        compute_clock = "process_cpu"

    def clock(engine):
        return LocalAgreementSession(engine, StreamPolicy()).compute_clock

    assert Scripted.compute_clock == "wall"
    assert clock(Service(["x"])) == "wall"
    assert InProcess.runtime == "torch"  # a torch engine on more than one thread: the process's CPU
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert clock(InProcess(["x"])) == "process_cpu"
        torch.set_num_threads(1)  # torch computes in the calling thread
        assert clock(InProcess(["x"])) == "thread_cpu"
        assert clock(Service(["x"])) == "wall"  # a service stays on the wall clock
    finally:
        torch.set_num_threads(before)
    monkeypatch.setattr(InProcess, "runtime", "ctranslate2")
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    # CTranslate2 computes in its own worker thread, whatever its thread count
    assert clock(InProcess(["x"])) == "process_cpu"
    assert clock(InThread(["x"])) == "thread_cpu"
    on_gpu = InProcess(["x"])
    on_gpu.device = Device("cuda", 0)  # the GPU's work: no CPU clock sees it
    assert clock(on_gpu) == "wall"
    assert Scripted(["x"]).start_stream().describe()["policy"] == "local-agreement"


def test_timed_words_are_the_texts_words_with_ordered_times():
    from asrbench.data.words import timed_words

    pieces = [(" He", 0.0, 0.2), (" old", 0.3, 0.5), ("-sposed", 0.5, 0.9), (" man.", 0.85, 1.2),
              (" ", 1.2, 1.3), (" end", -0.1, -0.2)]
    words = timed_words(pieces)
    assert [w.word for w in words] == "He old-sposed man. end".split()
    assert (words[1].start, words[1].end) == (0.3, 0.9)
    assert words[2].start == 0.9  # an overlap with the word before is clipped
    assert (words[3].start, words[3].end) == (1.2, 1.2)
