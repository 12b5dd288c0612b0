"""Build a tiny, randomly initialised LFM2-Audio checkpoint folder that loads through the real
``from_pretrained`` calls: config.json, an offline tokenizer with the chat special tokens, and
model.safetensors. A few MB, built in seconds."""

from __future__ import annotations

import json
from pathlib import Path

SPECIAL = {0: "<|pad|>", 1: "<|startoftext|>", 6: "<|im_start|>", 7: "<|im_end|>",
           128: "<|audio_start|>", 130: "<|text_end|>"}

CONFIG = {
    "architectures": ["LFM2AudioModel"],
    "codebooks": 8,
    "tie_audio_embeddings": False,
    "semantic_codebook_factor": 100,
    "codebook_weight": "log",
    "interleaved_n_text": 6,
    "interleaved_n_audio": 12,
    "preprocessor": {
        "sample_rate": 16000, "normalize": "per_feature", "window_size": 0.025,
        "window_stride": 0.01, "window": "hann", "features": 128, "n_fft": 512, "log": True,
        "frame_splicing": 1, "dither": 1e-05, "pad_to": 0, "pad_value": 0.0,
    },
    "encoder": {
        "feat_in": 128, "feat_out": -1, "n_layers": 1, "d_model": 32,
        "subsampling": "dw_striding", "subsampling_factor": 8, "subsampling_conv_channels": 16,
        "causal_downsampling": False, "reduction": None, "reduction_position": None,
        "reduction_factor": 1, "ff_expansion_factor": 2, "self_attention_model": "rel_pos",
        "n_heads": 2, "att_context_size": [[-1, -1]], "xscaling": False, "untie_biases": True,
        "pos_emb_max_len": 5000, "conv_kernel_size": 9, "conv_norm_type": "batch_norm",
        "conv_context_size": None, "dropout": 0.1, "dropout_pre_encoder": 0.1,
        "dropout_emb": 0.0, "dropout_att": 0.1,
    },
    "lfm": {
        "vocab_size": 320, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 4096,
        "layer_types": ["conv", "full_attention"], "block_auto_adjust_ff_dim": False,
        "tie_word_embeddings": True,
    },
    "depthformer": {"layers": 1, "dim": 64, "tie": False},
}


def _tokenizer(folder: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab: dict[str, int] = {text: index for index, text in SPECIAL.items()}
    free = (i for i in range(len(alphabet) + len(SPECIAL)) if i not in SPECIAL)
    for char in sorted(alphabet):
        vocab[char] = next(free)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(list(SPECIAL.values()))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|startoftext|>", eos_token="<|im_end|>",
        pad_token="<|pad|>",
        additional_special_tokens=["<|im_start|>", "<|audio_start|>", "<|text_end|>"],
    )
    fast.save_pretrained(str(folder))


def build_tiny_lfm(folder: Path, *, seed: int = 0) -> Path:
    """Write the checkpoint into ``folder`` and return it."""
    import torch
    from liquid_audio.model.conformer.encoder import ConformerEncoderConfig
    from liquid_audio.model.lfm2_audio import DepthformerConfig, LFM2AudioConfig, LFM2AudioModel
    from liquid_audio.processor import PreprocessorConfig
    from safetensors.torch import save_file
    from transformers import Lfm2Config

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(CONFIG, indent=2))
    _tokenizer(folder)
    config = json.loads(json.dumps(CONFIG))
    torch.manual_seed(seed)
    model = LFM2AudioModel(LFM2AudioConfig(
        lfm=Lfm2Config(**config.pop("lfm")),
        encoder=ConformerEncoderConfig(**config.pop("encoder")),
        depthformer=DepthformerConfig(**config.pop("depthformer")),
        preprocessor=PreprocessorConfig(**config.pop("preprocessor")),
        **config,
    ))
    # safetensors refuses tensors that share storage (tied weights): save clones
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder
