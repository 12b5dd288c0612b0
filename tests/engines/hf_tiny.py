"""Build a tiny, randomly initialised transformers Whisper folder: the bundled tiny.en's tokenizer,
feature extractor and generation config (converted), with a one-layer, 32-channel model and
generation cut at 8 new tokens.

transformers decodes the real tiny.en in seconds per call on a 2-core CPU, and the engine contract
makes six calls; this model takes a fraction of a second. Its words mean nothing; the real weights
are checked by the same-words and batch tests."""

from __future__ import annotations

import json
from pathlib import Path

TINY = {"d_model": 32, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2,
        "decoder_attention_heads": 2, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64}


def build_tiny_transformers_whisper(folder: Path) -> Path:
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    from asrbench.engines.convert_hf import convert_to_transformers
    from asrbench.engines.weights import bundled_ct2_model

    convert_to_transformers(bundled_ct2_model(), folder)
    generation = json.loads((folder / "generation_config.json").read_text())
    config = WhisperConfig.from_pretrained(str(folder))
    for key, value in TINY.items():
        setattr(config, key, value)
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    (folder / "model.safetensors").unlink()
    model.save_pretrained(str(folder), safe_serialization=True)
    generation["max_new_tokens"] = 8
    generation.pop("max_length", None)
    (folder / "generation_config.json").write_text(json.dumps(generation, indent=1))
    return folder
