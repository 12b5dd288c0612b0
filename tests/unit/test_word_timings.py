"""Reference word timings: a manifest line's ``words``, CTM files beside LibriSpeech, and where
a stream's timings come from when a dataset has none."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from asrbench.bench.streaming import reference_timings
from asrbench.core.errors import ConfigError
from asrbench.data.datasets import Utterance, load_dataset
from asrbench.data.words import WordTiming


def _manifest(tmp_path, words) -> str:
    sf.write(tmp_path / "x.wav", np.zeros(16000, np.int16), 16000)
    line = {"audio": "x.wav", "text": "ten to", "words": words}
    (tmp_path / "m.jsonl").write_text(json.dumps(line) + "\n")
    return str(tmp_path / "m.jsonl")


def test_manifest_words_reach_the_utterance(tmp_path):
    data = load_dataset(_manifest(tmp_path, [{"word": "ten", "start": 0.31, "end": 0.52},
                                             {"word": "to", "start": 0.6, "end": 0.7}]))
    utterance = data.load(data.items[0])
    assert utterance.words == (WordTiming("ten", 0.31, 0.52), WordTiming("to", 0.6, 0.7))


@pytest.mark.parametrize(("words", "cause"), [
    ("ten", "'words' must be a list"),
    ([{"word": "ten", "start": 0.3}], "'words' entry 1: expected an object with 'word', 'start'"),
    ([{"word": "", "start": 0.3, "end": 0.5}], "'words' entry 1: 'word' must be a non-empty"),
    ([{"word": "ten", "start": "a", "end": 0.5}], "'words' entry 1: 'start' and 'end' must be"),
    ([{"word": "ten", "start": 0.5, "end": 0.3}], "'words' entry 1: word 'ten': start 0.5 and end"),
    ([{"word": "ten", "start": 0.5, "end": 0.6}, {"word": "to", "start": 0.1, "end": 0.2}],
     "word 'to' starts at 0.1 s, before the previous word 'ten'"),
])
def test_bad_manifest_words_name_the_line_and_the_cause(tmp_path, words, cause):
    with pytest.raises(ConfigError) as caught:
        load_dataset(_manifest(tmp_path, words))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'm.jsonl'}:1: ")
    assert cause in message
    assert "\n" not in message


def test_librispeech_ctm_files_give_timings_by_utterance(tmp_path):
    chapter = tmp_path / "dev" / "84" / "121"
    chapter.mkdir(parents=True)
    for uid in ("84-121-0000", "84-121-0001"):
        sf.write(chapter / f"{uid}.flac", np.zeros(1600, np.int16), 16000)
    (chapter / "84-121.trans.txt").write_text("84-121-0000 GO DO\n84-121-0001 BUT IN\n")
    (tmp_path / "dev" / "align.ctm").write_text(
        ";; comment\n84-121-0000 1 0.10 0.20 GO\n84-121-0000 1 0.35 0.15 DO 0.9\n")
    data = load_dataset(str(tmp_path / "dev"))
    assert [(w.word, w.start, w.end) for w in data.items[0].words] == [
        ("GO", 0.1, pytest.approx(0.3)), ("DO", 0.35, 0.5)]
    assert data.items[1].words is None
    (tmp_path / "dev" / "align.ctm").write_text("84-121-0000 1 x 0.2 GO\n")
    with pytest.raises(ConfigError, match=r"align\.ctm:1: START and DURATION must be numbers"):
        load_dataset(str(tmp_path / "dev"))


def _utterance(words=None) -> Utterance:
    return Utterance("u", "set", "go do", np.zeros(1600, np.float32), words=words)


def test_timing_source_prefers_the_dataset_then_the_engine_else_says_why():
    mine = (WordTiming("go", 0.0, 0.1),)
    theirs = (WordTiming("go", 0.0, 0.2),)
    assert reference_timings(_utterance(mine), theirs, align=False) == (mine, "manifest", None)
    assert reference_timings(_utterance(), theirs, align=False) == (theirs, "engine", None)
    words, source, reason = reference_timings(_utterance(), None, align=False)
    assert words is None
    assert source is None
    assert "dataset 'set' carries none" in reason
    assert "--asr-align" in reason


def test_forced_alignment_is_asked_only_when_wanted(monkeypatch):
    import sys
    import types

    calls = []
    fake = types.ModuleType("asrbench.engines.aligner")

    def cached_align_words(audio, transcript, *, cache_dir):
        calls.append((transcript, cache_dir.name))
        return (WordTiming("go", 0.0, 0.05), WordTiming("do", 0.05, 0.1))

    fake.cached_align_words = cached_align_words  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "asrbench.engines.aligner", fake)
    words, source, _ = reference_timings(_utterance(), None, align=True)
    assert source == "forced-alignment"
    assert [w.word for w in words] == ["go", "do"]
    assert calls == [("go do", "alignments")]
    reference_timings(_utterance(), None, align=False)
    assert len(calls) == 1
