"""Tiny random-weight checkpoints of each transformers speech family, built offline.

Each is the family's own config with small dims, a character vocabulary in the family's own
tokenizer class, the family's own feature extractor and processor, written with
``save_pretrained`` exactly as a Hub checkpoint is laid out. Random weights: they prove loading,
preprocessing, decoding, batching and reporting, never accuracy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

LETTERS = list("abcdefghijklmnopqrstuvwxyz'")


def _word_level(specials: list[str]):
    """A character-level ``tokenizers`` model: each letter (and space) one token."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {piece: i for i, piece in enumerate([*specials, *LETTERS, " "])}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    return tokenizer


def _conformer() -> dict[str, int]:
    return {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
            "intermediate_size": 64}


def wav2vec2_ctc(folder: Path, *, hubert: bool = False) -> None:
    import transformers as t

    vocab = {"<pad>": 0, "<unk>": 1, "|": 2, **{c: i + 3 for i, c in enumerate(LETTERS)}}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = t.Wav2Vec2CTCTokenizer(str(folder / "vocab.json"))
    features = t.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                                          do_normalize=True, return_attention_mask=True)
    t.Wav2Vec2Processor(feature_extractor=features, tokenizer=tokenizer).save_pretrained(folder)
    config = (t.HubertConfig if hubert else t.Wav2Vec2Config)(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, conv_dim=(16, 16), conv_stride=(8, 8), conv_kernel=(16, 8),
        feat_extract_norm="layer", do_stable_layer_norm=True, num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2, pad_token_id=0,
        architectures=["HubertForCTC" if hubert else "Wav2Vec2ForCTC"])
    (t.HubertForCTC if hubert else t.Wav2Vec2ForCTC)(config).save_pretrained(folder)


def parakeet_ctc(folder: Path) -> None:
    from transformers.models import parakeet as p

    tokenizer = p.ParakeetTokenizer(tokenizer_object=_word_level(["<unk>"]), unk_token="<unk>")
    tokenizer.add_special_tokens({"pad_token": "<blank>"})
    p.ParakeetProcessor(feature_extractor=p.ParakeetFeatureExtractor(feature_size=80),
                        tokenizer=tokenizer, decoder_type="ctc").save_pretrained(folder)
    config = p.ParakeetCTCConfig(
        vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
        encoder_config={**_conformer(), "subsampling_conv_channels": 8},
        architectures=["ParakeetForCTC"])
    p.ParakeetForCTC(config).save_pretrained(folder)


def _transducer(folder: Path, decoder_type: str) -> tuple[int, dict[str, object]]:
    """A Parakeet transducer's tokenizer and processor, saved; its blank id and the config
    arguments the RNN-T and TDT heads share (blank as the start, end and pad of decoding)."""
    from transformers.models import parakeet as p

    tokenizer = p.ParakeetTokenizer(tokenizer_object=_word_level(["<unk>"]), unk_token="<unk>")
    tokenizer.add_special_tokens({"pad_token": "<pad>"})
    p.ParakeetProcessor(feature_extractor=p.ParakeetFeatureExtractor(feature_size=80),
                        tokenizer=tokenizer, decoder_type=decoder_type).save_pretrained(folder)
    blank = len(tokenizer)
    return blank, {
        "vocab_size": blank + 1, "blank_token_id": blank, "pad_token_id": tokenizer.pad_token_id,
        "decoder_start_token_id": blank, "bos_token_id": blank, "eos_token_id": blank,
        "encoder_config": {**_conformer(), "subsampling_conv_channels": 8},
        "decoder_hidden_size": 32, "num_decoder_layers": 1}


def parakeet_rnnt(folder: Path) -> None:
    from transformers.models import parakeet as p

    _, shared = _transducer(folder, "rnnt")
    config = p.ParakeetRNNTConfig(
        **shared, architectures=["ParakeetForRNNT"],
        max_symbols_per_step=1)  # random weights rarely emit blank: one symbol a frame keeps it short
    p.ParakeetForRNNT(config).save_pretrained(folder)


def parakeet_tdt(folder: Path) -> None:
    import torch
    from transformers.models import parakeet as p

    blank, shared = _transducer(folder, "tdt")
    model = p.ParakeetForTDT(p.ParakeetTDTConfig(**shared, architectures=["ParakeetForTDT"]))
    # random duration logits can top every token logit, and transformers 5.23's greedy loop takes
    # the argmax over both (a trained joint keeps tokens on top): push the durations down
    with torch.no_grad():
        model.joint.head.bias[blank + 1:] -= 100.0
    model.save_pretrained(folder)


def lasr_ctc(folder: Path) -> None:
    from tokenizers import Tokenizer, models
    from transformers.models import lasr

    pieces = ["<unk>", "<pad>", *LETTERS, "\u2581"]
    unigram = Tokenizer(models.Unigram([(piece, -1.0) for piece in pieces], unk_id=0))
    tokenizer = lasr.LasrTokenizer(tokenizer_object=unigram, unk_token="<unk>")
    tokenizer.add_special_tokens({"pad_token": "<pad>"})
    lasr.LasrProcessor(feature_extractor=lasr.LasrFeatureExtractor(),
                       tokenizer=tokenizer).save_pretrained(folder)
    config = lasr.LasrCTCConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                                encoder_config=_conformer(), architectures=["LasrForCTC"])
    lasr.LasrForCTC(config).save_pretrained(folder)


def _moonshine_inputs() -> tuple[Any, Any]:
    """Moonshine's tokenizer (ids 0-2: unknown, start, end) and its raw-waveform feature extractor,
    the same for the offline and the streaming model."""
    import transformers as t

    tokenizer = t.PreTrainedTokenizerFast(
        tokenizer_object=_word_level(["<unk>", "<s>", "</s>"]), unk_token="<unk>",
        bos_token="<s>", eos_token="</s>", pad_token="</s>")
    features = t.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                                          do_normalize=False, return_attention_mask=True)
    return tokenizer, features


def moonshine(folder: Path) -> None:
    import transformers as t

    tokenizer, features = _moonshine_inputs()
    t.Wav2Vec2Processor(feature_extractor=features, tokenizer=tokenizer).save_pretrained(folder)
    config = t.MoonshineConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
        encoder_num_hidden_layers=1, decoder_num_hidden_layers=1, encoder_num_attention_heads=2,
        decoder_num_attention_heads=2, max_position_embeddings=64, bos_token_id=1,
        eos_token_id=2, decoder_start_token_id=1, pad_token_id=2,
        architectures=["MoonshineForConditionalGeneration"])
    model = t.MoonshineForConditionalGeneration(config)
    model.generation_config.max_length = 24
    model.save_pretrained(folder)


def moonshine_streaming(folder: Path) -> None:
    import transformers as t

    tokenizer, features = _moonshine_inputs()
    t.MoonshineStreamingProcessor(feature_extractor=features, tokenizer=tokenizer).save_pretrained(
        folder)
    # one look-ahead layer and one causal one, as the real encoder's sliding windows mix them;
    # 2048 positions: the decoder's position table covers 41 s of 20 ms encoder frames
    encoder = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
               "num_attention_heads": 2, "num_key_value_heads": 2,
               "sliding_windows": [[16, 4], [16, 0]]}
    config = t.MoonshineStreamingConfig(
        encoder_config=encoder, vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
        num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
        max_position_embeddings=2048, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1,
        pad_token_id=2, architectures=["MoonshineStreamingForConditionalGeneration"])
    model = t.MoonshineStreamingForConditionalGeneration(config)
    model.generation_config.max_length = 24
    model.save_pretrained(folder)


def kyutai_stt(folder: Path) -> None:
    import transformers as t

    tokenizer = t.PreTrainedTokenizerFast(
        tokenizer_object=_word_level(["<unk>", "<s>", "</s>", "<pad>"]), unk_token="<unk>",
        bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    features = t.KyutaiSpeechToTextFeatureExtractor(
        feature_size=1, sampling_rate=24000, audio_delay_seconds=0.5,
        audio_silence_prefix_seconds=0.25)
    t.KyutaiSpeechToTextProcessor(feature_extractor=features, tokenizer=tokenizer).save_pretrained(
        folder)
    # Mimi at its real frame (1920 samples at 24 kHz: strides 8·6·5·4, then 2), tiny widths
    codec = t.MimiConfig(
        hidden_size=32, num_filters=4, num_residual_layers=1, upsampling_ratios=[8, 6, 5, 4],
        codebook_size=64, codebook_dim=16, vector_quantization_hidden_dimension=16,
        num_semantic_quantizers=1, num_quantizers=2, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, head_dim=16, intermediate_size=64, upsample_groups=32)
    text = len(tokenizer)
    config = t.KyutaiSpeechToTextConfig(
        codec_config=codec.to_dict(), vocab_size=text, codebook_vocab_size=65, num_codebooks=2,
        audio_bos_token_id=64, audio_pad_token_id=text + 2 * 65, hidden_size=32,
        num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, ffn_dim=64,
        bos_token_id=tokenizer.bos_token_id, pad_token_id=tokenizer.pad_token_id,
        initializer_range=0.5, architectures=["KyutaiSpeechToTextForConditionalGeneration"])
    t.KyutaiSpeechToTextForConditionalGeneration(config).save_pretrained(folder)


#: Family name (as ``info()["family"]`` reports it) → builder.
BUILDERS: dict[str, Callable[[Path], None]] = {
    "wav2vec2-ctc": wav2vec2_ctc,
    "parakeet-ctc": parakeet_ctc,
    "moonshine": moonshine,
    "moonshine-streaming": moonshine_streaming,
    "kyutai-stt": kyutai_stt,
    "parakeet-tdt": parakeet_tdt,
    "parakeet-rnnt": parakeet_rnnt,
    "lasr-ctc": lasr_ctc,
    "hubert-ctc": lambda folder: wav2vec2_ctc(folder, hubert=True),
}


def build(family: str, folder: Path) -> Path:
    """Write the tiny checkpoint of ``family`` into ``folder`` (seeded: the same every time)."""
    import torch

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    BUILDERS[family](folder)
    return folder


#: The tiny Whisper of the engine contract tests (one layer, 32 channels, 8 new tokens at most).
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
