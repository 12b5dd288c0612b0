"""Whisper through transformers, decoding exactly as openai-whisper's ``transcribe`` does.

Two details make transformers' short-form ``generate`` differ from the reference on a short or quiet
clip, and both are handled here:

- **Padding.** openai-whisper (and faster-whisper) take the log-Mel of the whole clip and pad the
  last 30-second window with zeros *after* normalisation; ``WhisperFeatureExtractor`` pads the
  *audio* to 30 s, so the tail holds the log-Mel of silence (``(max - 4) / 4``, not 0). The encoder
  then sees another input and a near-tie at the first step can flip ("4." for "for").
  :func:`whisper_windows` builds the reference's windows with the model's own extractor.
- **Prompt and suppression** come from the model's generation config: ``<|startoftranscript|>``
  (then language and task on a multilingual model), ``<|notimestamps|>``, the non-speech
  ``suppress_tokens`` and ``begin_suppress_tokens`` (blank and end-of-text at the first step) —
  openai-whisper's ``SuppressTokens("-1")`` and ``SuppressBlank``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from asrbench.core.errors import ConfigError
from asrbench.data.audio import SAMPLE_RATE
from asrbench.data.batching import join_pieces, mel_windows

__all__ = ["WhisperRunner", "whisper_generate_kwargs", "whisper_windows"]

Audio = npt.NDArray[np.float32]


def whisper_windows(extractor: Any, clip: Audio) -> list[Audio]:
    """``clip``'s log-Mel windows as openai-whisper's ``transcribe`` builds them (see above)."""
    samples = int(extractor.n_samples)
    content = len(clip) // int(extractor.hop_length)
    if content == 0:
        return []
    mel = extractor(np.asarray(clip, dtype=np.float32), sampling_rate=SAMPLE_RATE,
                    padding="max_length", max_length=len(clip) + samples, truncation=False,
                    return_tensors="np").input_features[0]
    return mel_windows(np.asarray(mel, dtype=np.float32), content,
                       frames=int(extractor.nb_max_frames))


def whisper_generate_kwargs(config: Any, decode: dict[str, Any], what: str) -> dict[str, Any]:
    """``generate`` arguments for the shared decoding options."""
    temperature = float(decode["temperature"])
    kwargs: dict[str, Any] = {
        "num_beams": int(decode["beam_size"]),
        "do_sample": temperature > 0,
        "return_timestamps": not decode["without_timestamps"],
    }
    if temperature > 0:
        kwargs["temperature"] = temperature
    language = decode["language"]
    if getattr(config, "is_multilingual", True):
        kwargs.update(language=language, task="transcribe")
    elif language != "en":
        raise ConfigError(f"{what}: an English-only model cannot transcribe "
                          f"language={language!r}; use language=en")
    return kwargs


class WhisperRunner:
    """``WhisperForConditionalGeneration``: every window of every clip in one ``generate`` call."""

    #: Shared decoding options this family ignores: none.
    ignored: tuple[str, ...] = ()

    def __init__(self, model: Any, processor: tuple[Any, Any], decode: dict[str, Any],
                 what: str) -> None:
        self.model = model
        self.extractor, self.tokenizer = processor
        self.generate_kwargs = whisper_generate_kwargs(model.generation_config, decode, what)

    def token_ids(self, audio: Sequence[Audio]) -> tuple[list[list[int]], list[int]]:
        """The generated token ids of every window (no prompt), and each window's clip index."""
        import torch

        windows: list[Audio] = []
        owners: list[int] = []
        for index, clip in enumerate(audio):
            pieces = whisper_windows(self.extractor, clip)
            windows += pieces
            owners += [index] * len(pieces)
        if not windows:
            return [], []
        features = torch.from_numpy(np.stack(windows)).to(self.model.device, dtype=self.model.dtype)
        with torch.inference_mode():
            ids = self.model.generate(features, **self.generate_kwargs)
        eos = self.model.generation_config.eos_token_id
        return [_trim(row, eos) for row in ids.tolist()], owners

    def transcribe_batch(self, audio: Sequence[Audio]) -> list[str]:
        ids, owners = self.token_ids(audio)
        texts = self.tokenizer.batch_decode(ids, skip_special_tokens=True) if ids else []
        return [text.strip() for text in join_pieces(texts, owners, len(audio))]


def _trim(row: list[int], eos: Any) -> list[int]:
    """A generated row without the end-of-text padding a batch adds after it."""
    ends = set(eos) if isinstance(eos, list) else {eos}
    while row and row[-1] in ends:
        row = row[:-1]
    return [int(i) for i in row]
