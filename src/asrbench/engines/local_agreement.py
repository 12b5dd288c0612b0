"""LocalAgreement-n: streaming for engines that only transcribe whole buffers.

The algorithm of ufal/whisper_streaming (``HypothesisBuffer`` and ``OnlineASRProcessor`` in
``whisper_online.py``, carried on by whisperlivekit): keep the audio heard so far in a buffer,
re-transcribe the whole buffer once at least ``min_chunk_s`` of new audio has arrived, and commit
the longest common word prefix of the last ``n`` hypotheses (after the words already committed).
Between decodes :meth:`LocalAgreementSession.accept` returns the previous update: no work.

What differs from whisper_streaming, and why:

- It compares words, not timed tokens, so that it serves every engine, timestamps or not: each
  hypothesis is aligned to the committed words still inside the buffer (exactly when it repeats
  them, otherwise with :class:`difflib.SequenceMatcher`) and only what follows them can be committed.
  Words are compared case- and punctuation-blind; a committed word keeps the form it had.
- Trimming needs to know where committed words end in the audio. An engine with word timings
  (``Engine.word_timings``: faster-whisper, openai-whisper) is asked for them once the buffer is
  longer than ``buffer_trim_s``, and the buffer is cut at the end of a committed word, the last one
  that leaves ``buffer_trim_s / 2`` of audio (whisper_streaming cuts at a segment end inside the
  committed text, else at the last committed word; keeping committed words as context makes a cut
  at an imprecise word end harmless, and needs no segments). Other engines are
  never trimmed: they re-read the whole utterance (correct, slower on long audio), and
  :meth:`~LocalAgreementSession.describe` says so.
- The prompt is the committed text whose audio was trimmed away (its last 200 characters, as in
  whisper_streaming), passed through ``Engine.transcribe_prompted`` to engines that take one.

whisperlivekit's ``OnlineASRProcessor`` is not used directly: it needs timed tokens from its own
ASR wrappers and installs torch and a web server with it.
"""

from __future__ import annotations

import re
from collections import deque
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from asrbench.core.errors import EngineError
from asrbench.data.audio import SAMPLE_RATE
from asrbench.engines.streaming import StreamPolicy, StreamUpdate

if TYPE_CHECKING:
    from asrbench.engines.base import Engine

__all__ = ["LocalAgreementSession", "agreed_prefix", "tail_start"]

#: Characters of committed text given as the prompt, as in whisper_streaming.
PROMPT_CHARS = 200

_NOT_WORD = re.compile(r"[^\w']+")


def _norm(word: str) -> str:
    return _NOT_WORD.sub("", word.lower())


def agreed_prefix(hypotheses: list[list[str]]) -> int:
    """How many leading words all ``hypotheses`` share (compared normalised)."""
    if not hypotheses:
        return 0
    count = 0
    for column in zip(*hypotheses, strict=False):
        if any(word != column[0] for word in column[1:]):
            break
        count += 1
    return count


def tail_start(committed: list[str], hypothesis: list[str]) -> int:
    """Where the words after ``committed`` begin in ``hypothesis`` (both normalised).

    A hypothesis that repeats the committed words starts its tail right after them; one that does
    not is aligned to them, and its tail starts after its word aligned to the last committed one.
    Committed words replaced by other words stand for as many hypothesis words, no more: the
    words after those are new (a hypothesis that drops a committed word, "nine ten" for the
    committed "eight", would otherwise have all its words taken for that one, and lose them).
    """
    k = len(committed)
    if hypothesis[:k] == committed:
        return k
    start = 0
    matcher = SequenceMatcher(None, committed, hypothesis, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if i1 >= k:
            break
        start = j2 if tag != "replace" else min(j2, j1 + (min(i2, k) - i1))
    return start


class LocalAgreementSession:
    """One utterance streamed into ``engine`` through LocalAgreement-n (see the module)."""

    def __init__(self, engine: Engine, policy: StreamPolicy) -> None:
        self._engine = engine
        self._policy = policy
        self.compute_clock = engine.stream_clock()
        self._pieces: list[npt.NDArray[np.float32]] = []
        self._new = 0  # samples since the last decode
        self._committed: list[str] = []  # every committed word, as first shown
        self._in_buffer = 0  # how many of the last committed words are inside the buffer's audio
        self._tails: deque[list[str]] = deque(maxlen=policy.n)  # uncommitted words, per decode
        self._last = StreamUpdate("")
        self._decodes = 0
        self._trimmed_s = 0.0
        self._finished = False

    @property
    def decodes(self) -> int:
        """How many times the engine was called so far."""
        return self._decodes

    @property
    def trimmed_s(self) -> float:
        """Seconds of audio cut from the front of the buffer so far."""
        return self._trimmed_s

    def accept(self, chunk: npt.NDArray[np.float32]) -> StreamUpdate:
        if self._finished:
            raise EngineError(f"{self._engine.name}: accept() after finish() on a stream")
        samples = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if samples.size:
            self._pieces.append(samples)
            self._new += samples.size
        if self._new == 0 or self._new < self._policy.min_chunk_s * SAMPLE_RATE:
            return self._last
        return self._decode(final=False)

    def finish(self) -> StreamUpdate:
        if self._finished:
            return self._last
        self._finished = True
        if self._new or not self._decodes:
            return self._decode(final=True)
        return self._commit_all()

    def describe(self) -> dict[str, Any]:
        engine = self._engine
        return {
            **self._policy.describe(),
            "compute_clock": self.compute_clock,
            "prompt_used": self._policy.prompt and engine.takes_prompt,
            "trimming": ("at the end of a committed word leaving buffer_trim_s / 2 of audio (engine "
                         "word timings), once the buffer is longer than buffer_trim_s"
                         if engine.word_timings else
                         f"none: {engine.name} gives no word timings, the whole utterance is "
                         "re-read at each decode"),
        }

    def _audio(self) -> npt.NDArray[np.float32]:
        if len(self._pieces) > 1:
            self._pieces = [np.concatenate(self._pieces)]
        return self._pieces[0] if self._pieces else np.zeros(0, dtype=np.float32)

    def _prompt(self) -> str:
        if not (self._policy.prompt and self._engine.takes_prompt):
            return ""
        before = self._committed[:len(self._committed) - self._in_buffer]
        return " ".join(before)[-PROMPT_CHARS:].lstrip()

    def _decode(self, *, final: bool) -> StreamUpdate:
        audio = self._audio()
        prompt = self._prompt()
        engine = self._engine
        trim = (not final and engine.word_timings
                and audio.size > self._policy.buffer_trim_s * SAMPLE_RATE)
        ends: list[float] = []
        if trim:
            timed = engine.transcribe_timed(audio, prompt)
            words = [t.word for t in timed]
            ends = [t.end for t in timed]
        elif prompt:
            words = engine.transcribe_prompted(audio, prompt).split()
        else:
            words = engine.transcribe(audio).split()
        self._decodes += 1
        self._new = 0
        start = tail_start([_norm(w) for w in self._committed[len(self._committed) - self._in_buffer:]],
                           [_norm(w) for w in words])
        self._tails.append(words[start:])
        if final:
            return self._commit_all()
        agreed = 0
        if len(self._tails) == self._policy.n:
            agreed = agreed_prefix([[_norm(w) for w in tail] for tail in self._tails])
        self._committed += self._tails[-1][:agreed]
        self._in_buffer += agreed
        for index, tail in enumerate(self._tails):
            self._tails[index] = tail[agreed:]
        if trim:
            self._trim(ends[:start + agreed], audio.size / SAMPLE_RATE)
        return self._update()

    def _trim(self, committed_ends: list[float], buffer_s: float) -> None:
        """Cut at the end of the last committed word that leaves ``buffer_trim_s / 2`` of audio.

        The committed words after the cut stay in the buffer, as context for the next decode (a
        cut right after the newest word, whose timing is the least sure, loses the next word).
        """
        keep_from = buffer_s - self._policy.buffer_trim_s / 2
        last = max((i for i, end in enumerate(committed_ends) if end <= keep_from), default=None)
        if last is None:
            return
        audio = self._audio()
        cut = min(max(round(committed_ends[last] * SAMPLE_RATE), 0), audio.size)
        self._pieces = [audio[cut:]]
        self._trimmed_s += cut / SAMPLE_RATE
        self._in_buffer = len(committed_ends) - (last + 1)

    def _commit_all(self) -> StreamUpdate:
        tail = self._tails[-1] if self._tails else []
        self._committed += tail
        self._in_buffer += len(tail)
        self._tails.clear()
        return self._update()

    def _update(self) -> StreamUpdate:
        committed = " ".join(self._committed)
        tail = self._tails[-1] if self._tails else []
        self._last = StreamUpdate(" ".join([*self._committed, *tail]), committed)
        return self._last
