"""Shards: split every dataset into N deterministic parts balanced by audio duration.

``--asr-shard I/N`` (I from 1 to N) keeps shard I of each dataset. The split depends only on the
utterance ids and their durations: utterances are taken longest first (ties by id) and each goes to
the shard with the least audio so far (ties to the shard with fewer utterances, then the lowest
number). Every utterance lands in exactly one shard, and the same manifest splits the same way on
every machine. Durations come from file headers; items without a readable file (a Hugging Face
dataset's rows) weigh nothing, so they are dealt out by count.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from asrbench.core.errors import ConfigError
from asrbench.data.datasets import Dataset, UtteranceSpec

__all__ = ["Shard", "assign", "audio_duration", "parse_shard", "shard_dataset"]

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def as_dict(self) -> dict[str, int]:
        return {"index": self.index, "count": self.count}


def parse_shard(text: str) -> Shard:
    match = _SHARD.match(str(text))
    if match is None:
        raise ConfigError(f"--asr-shard {text!r}: expected I/N, e.g. 1/3 (shards numbered from 1)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ConfigError(f"--asr-shard {text!r}: I must be between 1 and N, and N at least 1")
    return Shard(index, count)


def audio_duration(path: Path) -> float:
    """Seconds of audio from the file header (no decoding); the file size when unreadable."""
    import soundfile as sf

    try:
        return float(sf.info(str(path)).duration)
    except Exception:  # an unreadable file fails later, where it is decoded; here it only weighs
        try:
            return path.stat().st_size / 32000.0
        except OSError:
            return 0.0


def assign(ids: Sequence[str], durations: Sequence[float], count: int) -> list[int]:
    """The shard (0-based) of each utterance: longest first, each to the lightest shard."""
    loads = [0.0] * count
    sizes = [0] * count
    out = [0] * len(ids)
    order = sorted(range(len(ids)), key=lambda i: (-durations[i], ids[i]))
    for i in order:
        target = min(range(count), key=lambda s: (loads[s], sizes[s], s))
        out[i] = target
        loads[target] += durations[i]
        sizes[target] += 1
    return out


def shard_dataset(dataset: Dataset, shard: Shard,
                  duration: Callable[[UtteranceSpec], float] | None = None) -> Dataset:
    """``dataset`` with only the items of ``shard`` (same name, so results merge back)."""
    weigh = duration or (lambda item: audio_duration(item.path))
    items = dataset.items
    parts = assign([i.id for i in items], [weigh(i) for i in items], shard.count)
    return replace(dataset, items=tuple(i for i, p in zip(items, parts, strict=True)
                                        if p == shard.index - 1))
