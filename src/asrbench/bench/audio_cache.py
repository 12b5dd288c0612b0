"""The bounded audio cache: the last few decoded clips, never the whole dataset.

A least-recently-used cache holds at most :data:`AUDIO_CACHE_SIZE` clips and at most
:data:`AUDIO_CACHE_BYTES` of them (the newest clip is kept whatever its size). Tests run
model-major, so each clip is decoded once per model and device; results keep text and timings only,
never audio, so memory stays flat however large the dataset.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from asrbench.data.datasets import Dataset, Utterance, UtteranceSpec

__all__ = ["AUDIO_CACHE_BYTES", "AUDIO_CACHE_SIZE", "AudioCache"]

#: Decoded clips kept at most: enough for a retry of the current one, never the dataset.
AUDIO_CACHE_SIZE = 4
#: And never more than this many bytes of them (long recordings), the current clip excepted.
AUDIO_CACHE_BYTES = 512 * 2**20


class AudioCache:
    """Decoded utterances by (dataset, id), least recently used first."""

    def __init__(self) -> None:
        self._clips: OrderedDict[tuple[str, str], Utterance] = OrderedDict()

    def get(self, dataset: Dataset, item: UtteranceSpec) -> Utterance:
        """``item`` decoded: from the cache, or loaded now (evicting the oldest clips)."""
        key = (dataset.name, item.id)
        if key in self._clips:
            self._clips.move_to_end(key)
            return self._clips[key]
        utterance = dataset.load(item)
        self._clips[key] = utterance
        # the limits are read now, so that a test may lower them
        while len(self._clips) > AUDIO_CACHE_SIZE or (len(self._clips) > 1 and sum(
                u.audio.nbytes for u in self._clips.values()) > AUDIO_CACHE_BYTES):
            self._clips.popitem(last=False)
        return utterance

    def __iter__(self) -> Iterator[tuple[str, str]]:
        """The cached (dataset, id) pairs, least recently used first."""
        return iter(list(self._clips))

    def __len__(self) -> int:
        return len(self._clips)
