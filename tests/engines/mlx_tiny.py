"""Build a tiny, randomly initialised mlx-whisper model folder (``config.json`` and
``weights.safetensors``, as mlx-whisper loads it): one encoder and one decoder layer, 32 channels,
tiny.en's vocabulary and 30-second window.

MLX's Linux CPU build takes about 15 s per 30-second window of the real tiny.en; this one takes a
fraction of a second, so the engine contract can run every call it makes. Its words mean nothing;
the real weights are checked by the same-words test, on one clip."""

from __future__ import annotations

import json
from pathlib import Path

#: openai-whisper's dimensions: tiny.en's mel bins, window and vocabulary, everything else tiny.
DIMS = {"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 32, "n_audio_head": 2,
        "n_audio_layer": 1, "n_vocab": 51864, "n_text_ctx": 16, "n_text_state": 32,
        "n_text_head": 2, "n_text_layer": 1}


def build_tiny_mlx_whisper(folder: Path) -> Path:
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_whisper.whisper import ModelDimensions, Whisper

    mx.random.seed(0)
    model = Whisper(ModelDimensions(**DIMS), mx.float32)
    folder.mkdir(parents=True)
    mx.save_safetensors(str(folder / "weights.safetensors"), dict(tree_flatten(model.parameters())))
    (folder / "config.json").write_text(json.dumps({**DIMS, "model_type": "whisper"}))
    return folder
