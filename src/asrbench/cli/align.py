"""``asrbench align``: reference word timings for a dataset, by forced alignment.

Reads the smoke set, a JSONL manifest or a LibriSpeech folder, aligns each reference transcript to
its audio with pocketsphinx (:mod:`asrbench.engines.aligner`, cached by audio hash in the cache
folder) and writes a JSONL manifest whose lines carry ``"words": [{"word", "start", "end"}, ...]``.
Audio paths are written relative to the output's folder when the audio lies inside it, else
absolute (read back with ``--asr-allow-outside-paths``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TextIO

__all__ = ["align_dataset"]


def align_dataset(source: str, out: TextIO, *, folder: Path) -> int:
    """Write one aligned manifest line per utterance of ``source`` to ``out``; the line count."""
    from asrbench.data.datasets import load_dataset
    from asrbench.engines.aligner import cached_align_words, words_json
    from asrbench.engines.weights import cache_dir

    dataset = load_dataset(source, base=Path.cwd())
    count = 0
    for spec in dataset.items:
        utterance = dataset.load(spec)
        words = cached_align_words(utterance.audio, spec.text, cache_dir=cache_dir())
        line = {"id": spec.id, "audio": _relative(spec.path, folder), "text": spec.text,
                "words": words_json(words)}
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        count += 1
    return count


def _relative(path: Path, folder: Path) -> str:
    absolute = path.resolve()
    base = folder.resolve()
    return os.path.relpath(absolute, base) if absolute.is_relative_to(base) else str(absolute)


def run(source: str, out: str | None) -> int:
    """The command: to ``out`` (written atomically) or to stdout; exit code 0."""
    if out is None:
        align_dataset(source, sys.stdout, folder=Path.cwd())
        return 0
    import io

    from asrbench.core.files import write_atomic

    target = Path(out)
    buffer = io.StringIO()
    count = align_dataset(source, buffer, folder=target.parent)
    write_atomic(target, buffer.getvalue())
    print(f"wrote {target} ({count} utterances with word timings)")
    return 0
