"""Kyutai STT in the ``transformers`` engine: offline through the model's own ``generate``, streamed
natively, one codec frame at a time.

``KyutaiSpeechToTextForConditionalGeneration`` is a decoder over Mimi codec frames (1920 samples
at 24 kHz, 12.5 a second): at each frame it reads that frame's audio codes and emits one text token,
which it never revises; its text lags the audio by the checkpoint's ``audio_delay_seconds``. Its
processor pads ``audio_silence_prefix_seconds`` of silence before the clip and
``audio_delay_seconds + 1`` after it, and ``generate`` emits one token per whole frame.

:class:`KyutaiStream` runs that same loop as audio arrives: each whole frame goes through Mimi's
streaming encoder (its convolution padding cache and transformer cache) and then one decoder step
(its key-value cache). Every token is final when emitted, so everything but the last word (which
a later token may still lengthen) is committed at once; ``finish`` feeds the trailing silence and
commits all. The stream's tokens are ``generate``'s, token for token (a test checks it).

asrbench's audio is 16 kHz: both paths resample it to 24 kHz with soxr's streaming resampler, so the
codec reads the same samples whether the clip arrives whole or in chunks. Decoding is greedy (the
stream takes the argmax); the shared decoding options do not apply and are recorded as ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from asrbench.core.errors import EngineError
from asrbench.data.audio import SAMPLE_RATE
from asrbench.engines.streaming import ComputeClock, StreamUpdate

__all__ = ["CODEC_RATE", "KyutaiRunner", "KyutaiStream"]

#: Mimi's sample rate.
CODEC_RATE = 24_000

Audio = npt.NDArray[np.float32]


def _resampler() -> Any:
    import soxr

    return soxr.ResampleStream(SAMPLE_RATE, CODEC_RATE, 1, dtype="float32", quality="HQ")


def to_codec_rate(audio: Audio) -> Audio:
    """A whole clip at 24 kHz, through the same streaming resampler a stream uses."""
    out = _resampler().resample_chunk(np.ascontiguousarray(audio, dtype=np.float32), last=True)
    return np.asarray(out, dtype=np.float32)


class KyutaiRunner:
    """Offline: the processor and ``generate``, one clip at a time (``generate`` ignores the
    padding mask, so a short clip padded into a batch would read the padding as speech)."""

    def __init__(self, model: Any, processor: Any) -> None:
        self.model = model
        self.processor = processor

    def transcribe_batch(self, audio: Sequence[Audio]) -> list[str]:
        return [self._one(clip) for clip in audio]

    def ids(self, clip: Audio) -> list[int]:
        """The text tokens ``generate`` emits for ``clip`` (after the start token)."""
        import torch

        inputs = self.processor.feature_extractor(to_codec_rate(clip), sampling_rate=CODEC_RATE,
                                                  return_tensors="pt")
        inputs = {key: value.to(self.model.device) for key, value in inputs.items()}
        with torch.inference_mode():
            out = self.model.generate(**inputs, do_sample=False, num_beams=1)
        return [int(token) for token in out[0, 1:]]

    def _one(self, clip: Audio) -> str:
        return _decode(self.processor, self.ids(clip))


def _decode(processor: Any, ids: list[int]) -> str:
    return " ".join(str(processor.tokenizer.decode(ids, skip_special_tokens=True)).split())


class KyutaiStream:
    """One utterance fed to Kyutai STT chunk by chunk: codec and decoder stepped per frame."""

    def __init__(self, model: Any, processor: Any, clock: ComputeClock, what: str) -> None:
        from transformers.cache_utils import DynamicCache
        from transformers.models.kyutai_speech_to_text.modeling_kyutai_speech_to_text import (
            KyutaiSpeechToTextConv1dPaddingCache,
        )

        self.compute_clock: ComputeClock = clock
        self._model = model
        self._processor = processor
        self._what = what
        config = model.config
        self._frame = int(config.frame_size)
        features = processor.feature_extractor
        self._tail_s = float(features.audio_delay_seconds) + 1.0
        self._resampler = _resampler()
        self._pending = np.zeros(int(float(features.audio_silence_prefix_seconds) * CODEC_RATE),
                                 dtype=np.float32)
        encoder = model.codec_model.encoder
        layers = [encoder.encoder_seanet.get_submodule(name)
                  for name in encoder.encoder_seanet._conv1d_layer_names] + [encoder.downsample]
        self._padding = KyutaiSpeechToTextConv1dPaddingCache(
            num_layers=len(layers), per_layer_padding=[layer.padding_total for layer in layers],
            per_layer_padding_mode=[layer.pad_mode for layer in layers],
            per_layer_in_channels=[layer.in_channels for layer in layers])
        self._codec_cache: Any = DynamicCache(config=model.codec_model.config)
        self._cache = DynamicCache(config=config)
        self._tokens: list[int] = []
        self._open = True
        self._last = StreamUpdate("")

    def _step(self, token: int, codes: Any) -> None:
        """One decoder step: the last text token with one frame's codes (``None``: audio BOS)."""
        import torch

        config = self._model.config
        device = self._model.device
        if codes is None:
            codes = torch.full((1, 1, int(config.num_codebooks)), int(config.audio_bos_token_id),
                               dtype=torch.long, device=device)
        ids = torch.cat([torch.tensor([[[token]]], dtype=torch.long, device=device), codes], dim=2)
        logits = self._model(input_ids=ids, past_key_values=self._cache, use_cache=True).logits
        self._tokens.append(int(logits[0, -1].argmax()))

    def _frames(self, samples: Audio, *, drop_last: bool = False) -> None:
        """Encode and decode every whole frame in the pending samples plus ``samples``."""
        import torch

        self._pending = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        count = self._pending.size // self._frame
        with torch.inference_mode():
            if not self._tokens:  # generate's first step: the start token with the audio BOS
                self._step(int(self._model.config.bos_token_id), None)
            for index in range(count):
                frame = self._pending[index * self._frame:(index + 1) * self._frame]
                values = torch.from_numpy(frame.copy())[None, None, :].to(self._model.device)
                out = self._model.codec_model.encode(
                    values, encoder_past_key_values=self._codec_cache, padding_cache=self._padding)
                self._codec_cache = out.encoder_past_key_values
                self._padding = out.padding_cache
                if not (drop_last and index == count - 1):  # generate stops a frame short
                    self._step(self._tokens[-1], out.audio_codes.transpose(1, 2))
        self._pending = self._pending[count * self._frame:]

    def accept(self, chunk: Audio) -> StreamUpdate:
        if not self._open:
            raise EngineError(f"{self._what}: accept() after finish() on a stream")
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.size:
            self._frames(self._resampler.resample_chunk(chunk))
            partial = _decode(self._processor, self._tokens)
            words = partial.split()
            self._last = StreamUpdate(partial, " ".join(words[:-1]))
        return self._last

    def finish(self) -> StreamUpdate:
        if self._open:
            self._open = False
            tail = np.zeros(int(self._tail_s * CODEC_RATE), dtype=np.float32)
            flushed = np.asarray(self._resampler.resample_chunk(np.zeros(0, np.float32), last=True))
            self._frames(np.concatenate([flushed.astype(np.float32), tail]), drop_last=True)
            text = _decode(self._processor, self._tokens)
            self._last = StreamUpdate(text, text)
        return self._last

    @property
    def tokens(self) -> list[int]:
        """The text tokens emitted so far (after the start token)."""
        return list(self._tokens)

    def describe(self) -> dict[str, Any]:
        return {"policy": "native", "engine": "transformers", "family": "kyutai-stt",
                "compute_clock": self.compute_clock, "frame_ms": 1000 * self._frame / CODEC_RATE,
                "committed": "every word but the last as soon as its tokens are emitted (the model "
                             "never revises a token; the last word may still grow); all at finish, "
                             f"after {self._tail_s:g} s of trailing silence (audio_delay_seconds + "
                             "1, as the processor pads)"}
