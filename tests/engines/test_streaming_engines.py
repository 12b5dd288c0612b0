"""Streaming on real weights: Whisper engines through LocalAgreement-2, pocketsphinx natively, and
forced alignment of the smoke set."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from asrbench.cli import main
from asrbench.core.errors import EngineError
from asrbench.data.datasets import load_dataset
from asrbench.engines import StreamPolicy, engine_class, parse_model_spec
from asrbench.engines.aligner import align_words, cached_align_words
from asrbench.hardware.devices import Device
from asrbench.scoring.metrics import get_normaliser, score, total
from stream_check import stream  # type: ignore[import-not-found]

CPU = Device("cpu")
NORM = get_normaliser("whisper-english")


def _load(text: str):
    spec = parse_model_spec(text)
    return engine_class(spec.engine).load(spec, CPU)


def _by_id(smoke, uid):
    return next(u for u in smoke if u.id == uid)


@pytest.fixture(scope="module")
def fw(cpu_model):
    return cpu_model("faster_whisper")  # the session's one load (tests/engines/conftest.py)


@pytest.fixture(scope="module")
def sphinx():
    return _load("pocketsphinx")


def test_faster_whisper_streams_to_its_offline_text(fw, smoke, cpu_transcripts):
    clip = _by_id(smoke, "austen-0930")  # 3.3 s: three decodes and the final one
    session, updates, final = stream(fw, clip.audio)
    offline = cpu_transcripts("faster_whisper")[clip.id]  # made once, by the same loaded engine
    assert NORM.apply(final.partial) == NORM.apply(offline)
    assert updates[-1].committed  # LocalAgreement-2 committed words before the end
    described = session.describe()
    assert described["compute_clock"] == "process_cpu"  # CTranslate2's worker threads, in-process
    assert described["prompt_used"] is True


def test_faster_whisper_word_timings_follow_its_text(fw, smoke):
    clip = _by_id(smoke, "austen-0880")
    words = fw.transcribe_timed(clip.audio)
    assert " ".join(w.word for w in words) == fw.transcribe(clip.audio)
    assert all(a.end <= b.start for a, b in itertools.pairwise(words))
    assert words[-1].end <= clip.duration + 0.05


def test_openai_whisper_streams(smoke, cpu_model):
    engine = cpu_model("whisper")
    clip = _by_id(smoke, "austen-0880")  # 3 s: one decode at 1.5 s and the final one
    session, _, final = stream(engine, clip.audio, chunk_ms=1500, policy=StreamPolicy(min_chunk_s=1.5))
    assert session.decodes == 2
    assert score(clip.text, final.partial, NORM).wer <= 0.25  # its offline WER on this clip
    assert engine.takes_prompt
    assert engine.word_timings


def test_pocketsphinx_is_inaccurate_but_within_its_own_limit(sphinx, smoke):
    texts = [sphinx.transcribe(u.audio) for u in smoke]
    corpus = total(score(u.text, t, NORM).words for u, t in zip(smoke, texts, strict=True))
    assert 0.05 < corpus.rate <= 0.40  # the pocketsphinx:* limit in pyproject.toml


def test_pocketsphinx_streams_natively(sphinx, smoke):
    clip = _by_id(smoke, "austen-0930")
    offline = sphinx.transcribe(clip.audio)
    session, updates, final = stream(sphinx, clip.audio)
    assert sphinx.transcribe(clip.audio) == offline  # a stream leaves the offline decoder alone
    assert sphinx.native_streaming
    assert session.compute_clock == "thread_cpu"
    assert session.describe()["policy"] == "native"
    partials = [u.partial for u in updates]
    assert len(set(partials)) > 5  # the hypothesis grows chunk by chunk
    assert all(not u.committed for u in updates)  # nothing promised until the end
    counts = score(clip.text, final.partial, NORM).words
    assert counts.reference - counts.substitutions - counts.deletions >= counts.reference / 2
    stream(sphinx, _by_id(smoke, "austen-0880").audio)
    assert stream(sphinx, clip.audio)[2] == final  # each stream starts from the same state


def test_forced_alignment_of_the_smoke_set(smoke):
    for clip in smoke:
        words = align_words(clip.audio, clip.text)
        assert [w.word for w in words] == clip.text.split()
        assert all(w.start < w.end for w in words)
        assert all(a.end <= b.start for a, b in itertools.pairwise(words))
        assert 0.0 < words[0].start
        assert words[-1].end <= clip.duration


def test_alignment_is_cached_by_audio_and_transcript(smoke, tmp_path):
    clip = _by_id(smoke, "austen-0880")
    first = cached_align_words(clip.audio, clip.text, cache_dir=tmp_path)
    files = list((tmp_path / "alignments").glob("*.json"))
    assert len(files) == 1
    stored = json.loads(files[0].read_text())
    stored["words"][0]["end"] = 0.25  # what is read back is the file, not a new alignment
    files[0].write_text(json.dumps(stored))
    again = cached_align_words(clip.audio, clip.text, cache_dir=tmp_path)
    assert again[0].end == 0.25
    assert again[1:] == first[1:]
    cached_align_words(clip.audio, clip.text.replace("young", "old"), cache_dir=tmp_path)
    cached_align_words(clip.audio * 0.5, clip.text, cache_dir=tmp_path)
    assert len(list((tmp_path / "alignments").glob("*.json"))) == 3


def test_alignment_failures_are_one_line_errors(smoke):
    clip = _by_id(smoke, "austen-0880")
    with pytest.raises(EngineError, match=r"not in pocketsphinx's en-us dictionary: zzyzxq$"):
        align_words(clip.audio, "he was zzyzxq")
    assert align_words(clip.audio, " -- ") == ()
    with pytest.raises(EngineError, match="forced alignment failed"):
        align_words(np.zeros(800, np.float32), clip.text)


def test_align_command_writes_a_manifest_with_word_timings(tmp_path, capsys):
    out = tmp_path / "aligned.jsonl"
    assert main(["align", "smoke", "--out", str(out)]) == 0
    assert "5 utterances with word timings" in capsys.readouterr().out
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    smoke = load_dataset("smoke")
    assert [line["text"] for line in lines] == [item.text for item in smoke.items]
    for line in lines:
        assert [w["word"] for w in line["words"]] == line["text"].split()
        starts = [w["start"] for w in line["words"]]
        assert starts == sorted(starts)
    # the manifest reads back, audio found (absolute paths lie outside the output's folder)
    again = load_dataset(str(out), allow_outside_paths=True)
    assert [item.id for item in again.items] == [item.id for item in smoke.items]


def test_stream_policy_parameters_reach_the_session(fw):
    session = fw.start_stream(StreamPolicy(n=3, min_chunk_s=0.5))
    assert session.describe()["n"] == 3
    assert session.describe()["min_chunk_s"] == 0.5


def test_faster_whisper_streams_as_well_as_offline_and_unaware_runs_repeat(cpu_model, cpu_transcripts,
                                                                           smoke):
    """LocalAgreement-2 over faster-whisper: the streams' final WER within 2 points of offline on
    the same clips, and two unaware runs (compute not counted) give the same trace and figures."""
    from asrbench.bench.stream_clock import feed
    from asrbench.scoring.streaming import score_stream

    fw = cpu_model("faster_whisper")  # the session's one load, shared with the other engine tests
    clips = [_by_id(smoke, "austen-0880"), _by_id(smoke, "austen-0930")]

    def run():
        out = []
        for clip in clips:
            steps, _ = feed(fw.start_stream(), clip.audio, chunk_s=0.1, mode="unaware")
            out.append((steps, score_stream(steps, clip.words, NORM.apply)))
        return out

    first = run()
    assert run() == first  # the transcripts depend only on the chunk schedule
    assert all(score.first_latencies and not score.violations for _, score in first)
    streamed = total(score(c.text, steps[-1].partial, NORM).words
                     for c, (steps, _) in zip(clips, first, strict=True))
    offline = total(score(c.text, cpu_transcripts("faster_whisper")[c.id], NORM).words for c in clips)
    assert abs(streamed.rate - offline.rate) <= 0.02, (streamed.rate, offline.rate)
