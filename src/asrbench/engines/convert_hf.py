"""CTranslate2 Whisper → a Hugging Face transformers model folder, so transformers runs the very same
weights as faster-whisper and openai-whisper.

The tensors are those of :func:`asrbench.engines.convert.whisper_state` (openai-whisper's names),
renamed to transformers' ``WhisperForConditionalGeneration`` names: ``blocks`` → ``layers``,
``attn.query`` → ``self_attn.q_proj``, ``cross_attn`` → ``encoder_attn``, ``mlp.0``/``mlp.2`` →
``fc1``/``fc2``, the layer norms, the positional embeddings, under a ``model.`` prefix. ``proj_out``
is tied to the token embeddings and not stored. Values are copied unchanged (same dtype), so the
conversion is exact.

The folder holds ``config.json`` and ``generation_config.json`` (from the dims and the CTranslate2
``config.json``: suppressed tokens, alignment heads; special token ids read from the tokenizer),
``model.safetensors``, the tokenizer (from the CTranslate2 ``tokenizer.json``) and the feature
extractor settings.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from asrbench.engines.convert import ConversionError, read_ct2, whisper_state

__all__ = ["cached_transformers_model", "convert_to_transformers", "hf_config", "hf_state",
           "openai_state"]

#: openai-whisper name pieces → transformers', applied in order to each dotted key.
_RENAMES = (
    (r"^encoder\.positional_embedding$", "model.encoder.embed_positions.weight"),
    (r"^decoder\.positional_embedding$", "model.decoder.embed_positions.weight"),
    (r"^decoder\.token_embedding\.", "model.decoder.embed_tokens."),
    (r"^encoder\.ln_post\.", "model.encoder.layer_norm."),
    (r"^decoder\.ln\.", "model.decoder.layer_norm."),
    (r"^(encoder|decoder)\.conv", r"model.\1.conv"),
    (r"^(encoder|decoder)\.blocks\.", r"model.\1.layers."),
    (r"\.cross_attn_ln\.", ".encoder_attn_layer_norm."),
    (r"\.attn_ln\.", ".self_attn_layer_norm."),
    (r"\.mlp_ln\.", ".final_layer_norm."),
    (r"\.cross_attn\.", ".encoder_attn."),
    (r"\.attn\.", ".self_attn."),
    (r"\.(self_attn|encoder_attn)\.query\.", r".\1.q_proj."),
    (r"\.(self_attn|encoder_attn)\.key\.", r".\1.k_proj."),
    (r"\.(self_attn|encoder_attn)\.value\.", r".\1.v_proj."),
    (r"\.(self_attn|encoder_attn)\.out\.", r".\1.out_proj."),
    (r"\.mlp\.0\.", ".fc1."),
    (r"\.mlp\.2\.", ".fc2."),
)
#: The inverse, for the round-trip check.
_BACK = (
    (r"^model\.encoder\.embed_positions\.weight$", "encoder.positional_embedding"),
    (r"^model\.decoder\.embed_positions\.weight$", "decoder.positional_embedding"),
    (r"^model\.decoder\.embed_tokens\.", "decoder.token_embedding."),
    (r"^model\.encoder\.layer_norm\.", "encoder.ln_post."),
    (r"^model\.decoder\.layer_norm\.", "decoder.ln."),
    (r"^model\.(encoder|decoder)\.layers\.", r"\1.blocks."),
    (r"^model\.", ""),
    (r"\.encoder_attn_layer_norm\.", ".cross_attn_ln."),
    (r"\.self_attn_layer_norm\.", ".attn_ln."),
    (r"\.final_layer_norm\.", ".mlp_ln."),
    (r"\.encoder_attn\.", ".cross_attn."),
    (r"\.self_attn\.", ".attn."),
    (r"\.q_proj\.", ".query."),
    (r"\.k_proj\.", ".key."),
    (r"\.v_proj\.", ".value."),
    (r"\.out_proj\.", ".out."),
    (r"\.fc1\.", ".mlp.0."),
    (r"\.fc2\.", ".mlp.2."),
)


def _rename(key: str, rules: tuple[tuple[str, str], ...]) -> str:
    for pattern, replacement in rules:
        key = re.sub(pattern, replacement, key)
    return key


def hf_state(state: dict[str, Any]) -> dict[str, Any]:
    """An openai-whisper state dict in transformers' names (the tied ``proj_out`` left out)."""
    return {_rename(key, _RENAMES): value for key, value in state.items()}


def openai_state(state: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`hf_state` (``proj_out.weight``, if present, dropped as tied)."""
    return {_rename(key, _BACK): value for key, value in state.items() if key != "proj_out.weight"}


def _token(vocab: dict[str, int], name: str, source: str) -> int:
    if name not in vocab:
        raise ConversionError(f"{source}: tokenizer.json has no {name} token")
    return vocab[name]


def hf_config(dims: dict[str, int], ct2_config: dict[str, Any], vocab: dict[str, int], *,
              ffn_dim: int, source: str = "model") -> tuple[dict[str, Any], dict[str, Any]]:
    """transformers ``WhisperConfig`` and ``GenerationConfig`` fields for these dims."""
    if dims["n_audio_state"] != dims["n_text_state"]:
        raise ConversionError(f"{source}: audio and text widths differ "
                              f"({dims['n_audio_state']} vs {dims['n_text_state']}); "
                              "transformers' Whisper has one d_model")
    eot = _token(vocab, "<|endoftext|>", source)
    sot = _token(vocab, "<|startoftranscript|>", source)
    multilingual = dims["n_vocab"] >= 51865
    suppress = [int(i) for i in ct2_config.get("suppress_ids", [])]
    begin_suppress = [int(i) for i in ct2_config.get("suppress_ids_begin", [220, eot])]
    config = {
        "vocab_size": dims["n_vocab"], "num_mel_bins": dims["n_mels"],
        "encoder_layers": dims["n_audio_layer"], "encoder_attention_heads": dims["n_audio_head"],
        "decoder_layers": dims["n_text_layer"], "decoder_attention_heads": dims["n_text_head"],
        "encoder_ffn_dim": ffn_dim, "decoder_ffn_dim": ffn_dim,
        "d_model": dims["n_audio_state"], "max_source_positions": dims["n_audio_ctx"],
        "max_target_positions": dims["n_text_ctx"], "decoder_start_token_id": sot,
        "pad_token_id": eot, "bos_token_id": eot, "eos_token_id": eot, "tie_word_embeddings": True,
    }
    generation = {
        "decoder_start_token_id": sot, "bos_token_id": eot, "eos_token_id": eot,
        "pad_token_id": eot, "max_length": dims["n_text_ctx"],
        "suppress_tokens": suppress, "begin_suppress_tokens": begin_suppress,
        "no_timestamps_token_id": _token(vocab, "<|notimestamps|>", source),
        "prev_sot_token_id": _token(vocab, "<|startofprev|>", source),
        "is_multilingual": multilingual, "return_timestamps": False,
        "alignment_heads": [list(map(int, pair)) for pair in ct2_config.get("alignment_heads", [])],
    }
    if multilingual:
        languages = {name: vocab[name] for name in vocab if re.fullmatch(r"<\|[a-z]{2,3}\|>", name)}
        generation["lang_to_id"] = dict(sorted(languages.items(), key=lambda item: item[1]))
        generation["task_to_id"] = {task: _token(vocab, f"<|{task}|>", source)
                                    for task in ("transcribe", "translate")}
    return config, generation


def convert_to_transformers(source: Path, dest: Path) -> Path:
    """Write a transformers Whisper folder for the CTranslate2 folder ``source`` at ``dest``,
    atomically (a failure leaves nothing); an existing folder with files is refused."""
    from asrbench.engines.conversions import write_new_folder

    source = Path(source)
    return write_new_folder(Path(dest), lambda folder: _write(source, folder))


def cached_transformers_model(source: Path, cache_dir: Path) -> Path:
    """The converted folder for ``source`` under ``cache_dir``, converted only when stale."""
    from asrbench.engines.conversions import cached_folder

    return cached_folder(source, cache_dir, "transformers", _write)


def _write(source: Path, folder: Path) -> None:
    from safetensors.numpy import save_file
    from transformers import WhisperFeatureExtractor, WhisperTokenizer

    tokenizer_file = source / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise ConversionError(f"{source}: no tokenizer.json (transformers needs the tokenizer)")
    dims, state = whisper_state(read_ct2(source), source=str(source))
    ct2_config = _json(source / "config.json")
    tokenizer = WhisperTokenizer(tokenizer_file=str(tokenizer_file))
    vocab = tokenizer.get_vocab()
    ffn_dim = int(state["encoder.blocks.0.mlp.0.weight"].shape[0])
    config, generation = hf_config(dims, ct2_config, vocab, ffn_dim=ffn_dim, source=str(source))
    architecture = {"model_type": "whisper", "architectures": ["WhisperForConditionalGeneration"]}
    (folder / "config.json").write_text(json.dumps({**architecture, **config}, indent=1))
    (folder / "generation_config.json").write_text(json.dumps(generation, indent=1))
    tensors = {k: np.ascontiguousarray(v) for k, v in hf_state(state).items()}
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save_pretrained(str(folder))
    features = WhisperFeatureExtractor(feature_size=dims["n_mels"])  # type: ignore[no-untyped-call]
    features.save_pretrained(str(folder))


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConversionError(f"{path}: not valid JSON ({exc})") from exc
    return data if isinstance(data, dict) else {}
