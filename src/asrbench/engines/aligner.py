"""Forced alignment: where each word of a known transcript is spoken, from pocketsphinx.

Streaming latency is measured against the end of each reference word. When a dataset carries no
word timings, :func:`align_words` derives them: pocketsphinx searches only the transcript's own
word sequence (optional silences between words) through the audio, with its bundled en-us acoustic
model and dictionary, at 10 ms frames. :func:`cached_align_words` keeps each result in the cache
folder under the sha256 of the audio samples and the transcript, so a dataset is aligned once.

Words are the transcript's own (split on whitespace, a word with no letter or digit dropped);
pocketsphinx looks them up lowercased with their punctuation removed, and a word its dictionary
lacks is an error naming it.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asrbench.core.errors import EngineError, EngineUnavailable
from asrbench.core.files import write_atomic
from asrbench.core.versions import version
from asrbench.data.audio import SAMPLE_RATE
from asrbench.data.words import WordTiming

__all__ = ["ALIGNER", "align_words", "cached_align_words", "words_json"]

#: Recorded as a figure's ``timing_source`` detail and in every cache file.
ALIGNER = "pocketsphinx forced alignment (en-us)"
#: pocketsphinx's frame rate: frames per second.
FRAME_RATE = 100
_STRIP = re.compile(r"[^\w']+")


def _lexical(word: str) -> str:
    return _STRIP.sub("", word.lower()).strip("'")


@cache
def _decoder() -> Any:
    try:
        import pocketsphinx  # noqa: F401
    except ImportError as exc:
        raise EngineUnavailable("forced alignment needs pocketsphinx "
                                "(pip install 'pytest-asrbench[pocketsphinx]')") from exc
    from asrbench.engines.pocketsphinx import new_decoder

    return new_decoder(bestpath=False)


def align_words(audio: npt.NDArray[np.float32], transcript: str) -> tuple[WordTiming, ...]:
    """Each word of ``transcript`` with its start and end in ``audio`` (16 kHz mono), in seconds."""
    from asrbench.engines.pocketsphinx import pcm16

    words = [w for w in transcript.split() if _lexical(w)]
    if not words:
        return ()
    decoder = _decoder()
    lexical = [_lexical(w) for w in words]
    unknown = sorted({w for w in lexical if decoder.lookup_word(w) is None})
    if unknown:
        raise EngineError(f"forced alignment: {len(unknown)} word(s) not in pocketsphinx's en-us "
                          f"dictionary: {', '.join(unknown[:10])}")
    try:
        decoder.set_align_text(" ".join(lexical))
        decoder.start_utt()
        decoder.process_raw(pcm16(audio), full_utt=True)
        decoder.end_utt()
        found = decoder.seg()
    except RuntimeError as exc:
        raise EngineError(f"forced alignment failed: {exc}") from exc
    if found is None:
        raise EngineError("forced alignment failed: no path through the transcript's words "
                          "(does the audio hold the transcript?)")
    segments = [s for s in found if not s.word.startswith(("<", "["))]
    if len(segments) != len(words):
        raise EngineError(f"forced alignment failed: {len(segments)} of {len(words)} words placed "
                          "(the audio may not contain the transcript)")
    limit = len(audio) / SAMPLE_RATE
    return tuple(
        WordTiming(word, min(s.start_frame / FRAME_RATE, limit),
                   min((s.end_frame + 1) / FRAME_RATE, limit))
        for word, s in zip(words, segments, strict=True)
    )


def cached_align_words(audio: npt.NDArray[np.float32], transcript: str, *,
                       cache_dir: Path) -> tuple[WordTiming, ...]:
    """:func:`align_words`, kept in ``cache_dir/alignments`` by a hash of audio and transcript."""
    samples = np.ascontiguousarray(audio, dtype="<f4")
    key = hashlib.sha256(samples.tobytes() + b"\0" + transcript.encode("utf-8")).hexdigest()
    path = Path(cache_dir) / "alignments" / f"{key}.json"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        return tuple(WordTiming(w["word"], float(w["start"]), float(w["end"]))
                     for w in stored["words"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # absent or unreadable: align again and overwrite
    words = align_words(audio, transcript)
    record = {"aligner": ALIGNER, "pocketsphinx_version": version("pocketsphinx"),
              "transcript": transcript, "words": words_json(words)}
    write_atomic(path, json.dumps(record, ensure_ascii=False))
    return words


def words_json(words: tuple[WordTiming, ...]) -> list[dict[str, Any]]:
    """Word timings as manifest ``words`` entries, times rounded to the millisecond."""
    return [{"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3)} for w in words]
