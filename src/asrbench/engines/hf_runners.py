"""Decoding loops of the non-Whisper transformers families (see :mod:`asrbench.engines.hf_families`).

Each runner uses the model's own processor (feature extraction, padding, the tokenizer's decoding,
CTC collapsing) and, where the family has one, the model's own ``generate`` with its generation
config; a batch is the clips padded together with their attention mask, so a short clip in a batch
decodes as it does alone. The shared decoding options are applied where they mean something
(:attr:`Family.honours`); what a family ignores is recorded by the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from asrbench.data.audio import SAMPLE_RATE
from asrbench.engines.hf_families import Family

__all__ = ["CtcRunner", "GenerateRunner", "generate_kwargs", "transducer_limit"]

Audio = npt.NDArray[np.float32]


def generate_kwargs(family: Family, decode: dict[str, Any]) -> dict[str, Any]:
    """``generate`` arguments for the shared options the family honours (greedy otherwise)."""
    kwargs: dict[str, Any] = {}
    if "beam_size" in family.honours:
        kwargs["num_beams"] = int(decode["beam_size"])
    if "temperature" in family.honours:
        temperature = float(decode["temperature"])
        kwargs["do_sample"] = temperature > 0
        if temperature > 0:
            kwargs["temperature"] = temperature
    return kwargs


class _ProcessorRunner:
    """Shared: clips through the processor, on the model's device and dtype."""

    def __init__(self, model: Any, processor: Any, family: Family, decode: dict[str, Any]) -> None:
        self.model = model
        self.processor = processor
        self.family = family
        self.generate_kwargs = generate_kwargs(family, decode)

    def inputs(self, audio: Sequence[Audio]) -> dict[str, Any]:
        batch = self.processor([np.asarray(clip, dtype=np.float32) for clip in audio],
                               sampling_rate=SAMPLE_RATE, return_tensors="pt", padding=True)
        out: dict[str, Any] = {}
        for key, value in batch.items():
            value = value.to(self.model.device)
            out[key] = value.to(self.model.dtype) if value.is_floating_point() else value
        return out

    def ids(self, inputs: dict[str, Any]) -> Any:
        raise NotImplementedError

    def transcribe_batch(self, audio: Sequence[Audio]) -> list[str]:
        import torch

        if not audio:
            return []
        with torch.inference_mode():
            ids = self.ids(self.inputs(audio))
        texts = self.processor.batch_decode(ids, skip_special_tokens=True)
        return [str(text).strip() for text in texts]


class GenerateRunner(_ProcessorRunner):
    """The model's own ``generate``: encoder-decoders, Parakeet CTC/TDT/RNN-T, LASR."""

    def ids(self, inputs: dict[str, Any]) -> Any:
        kwargs = dict(self.generate_kwargs)
        if self.family.kind == "transducer":
            kwargs["max_new_tokens"] = transducer_limit(self.model.config, inputs)
        out = self.model.generate(**inputs, **kwargs)
        return getattr(out, "sequences", out)


def transducer_limit(config: Any, inputs: dict[str, Any]) -> int:
    """The most tokens a transducer can emit for these inputs (every encoder frame emitting its
    maximum), so that ``generate``'s default length never cuts a long clip short."""
    frames = int(inputs["input_features"].shape[1])
    per_frame = int(getattr(config, "max_symbols_per_step", 10))
    subsampling = int(getattr(config.encoder_config, "subsampling_factor", 1))
    return (frames // subsampling + 1) * per_frame + 1


class CtcRunner(_ProcessorRunner):
    """One forward pass, the best token per frame; frames past a clip's end are padding."""

    def ids(self, inputs: dict[str, Any]) -> Any:
        logits = self.model(**inputs).logits
        ids = logits.argmax(dim=-1)
        mask = inputs.get("attention_mask")
        if mask is not None and mask.shape[-1] != ids.shape[-1]:
            import torch

            lengths = self.model._get_feat_extract_output_lengths(mask.sum(-1))
            frames = torch.arange(ids.shape[-1], device=ids.device)[None, :]
            ids = ids.masked_fill(frames >= lengths[:, None], int(self.model.config.pad_token_id))
        return ids
