"""CTranslate2 Whisper → an mlx-whisper model folder, so MLX runs the very same weights as the others.

mlx-whisper's folder is ``config.json`` (openai-whisper's dims plus ``model_type``) and
``weights.safetensors`` in openai-whisper's names (:func:`asrbench.engines.convert.whisper_state`),
with three differences: ``mlp.0``/``mlp.2`` are ``mlp1``/``mlp2``; convolution weights are laid out
(out, kernel, in) instead of (out, in, kernel); the alignment heads (from the CTranslate2
``config.json``) are an ``alignment_heads`` array; and the encoder's positional embedding is not stored,
because mlx-whisper computes the same sinusoids itself. The conversion checks that the stored one
is those sinusoids (to float16 precision) and refuses a model whose encoder positions differ, which
mlx-whisper could not run faithfully. Every stored value is copied unchanged (same dtype).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asrbench.engines.convert import ConversionError, read_ct2, whisper_state

__all__ = ["cached_mlx_model", "convert_to_mlx", "mlx_state", "openai_state", "sinusoids"]

_ENCODER_POSITIONS = "encoder.positional_embedding"
#: How far a float16-stored sinusoid may be from the exact one (half a float16 step at 1.0).
_SINUSOID_TOLERANCE = 1e-3


def sinusoids(length: int, channels: int, max_timescale: float = 10000.0) -> npt.NDArray[np.float32]:
    """The encoder's positional embedding as openai-whisper and mlx-whisper compute it."""
    increment = math.log(max_timescale) / (channels // 2 - 1)
    inverse = np.exp(-increment * np.arange(channels // 2, dtype=np.float32))
    scaled = np.arange(length, dtype=np.float32)[:, None] * inverse[None, :]
    return np.concatenate([np.sin(scaled), np.cos(scaled)], axis=1).astype(np.float32)


def _is_conv(key: str) -> bool:
    return key.startswith("encoder.conv") and key.endswith(".weight")


def mlx_state(state: dict[str, Any], *, source: str = "model") -> dict[str, Any]:
    """An openai-whisper state dict in mlx-whisper's names and layouts."""
    positions = state.get(_ENCODER_POSITIONS)
    if positions is not None:
        expected = sinusoids(*positions.shape)
        error = float(np.max(np.abs(positions.astype(np.float32) - expected)))
        if error > _SINUSOID_TOLERANCE:
            raise ConversionError(f"{source}: the encoder's positional embedding is not Whisper's "
                                  f"sinusoids (off by {error:.3g}); mlx-whisper computes them and "
                                  "could not run this model faithfully")
    out: dict[str, Any] = {}
    for key, value in state.items():
        if key == _ENCODER_POSITIONS:
            continue
        if _is_conv(key):
            value = np.ascontiguousarray(np.swapaxes(value, 1, 2))
        out[key.replace(".mlp.0.", ".mlp1.").replace(".mlp.2.", ".mlp2.")] = value
    return out


def openai_state(state: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`mlx_state` (without the encoder positions it does not keep)."""
    out: dict[str, Any] = {}
    for key, value in state.items():
        if key == "alignment_heads":
            continue
        if _is_conv(key):
            value = np.ascontiguousarray(np.swapaxes(value, 1, 2))
        out[key.replace(".mlp1.", ".mlp.0.").replace(".mlp2.", ".mlp.2.")] = value
    return out


def convert_to_mlx(source: Path, dest: Path) -> Path:
    """Write an mlx-whisper folder for the CTranslate2 folder ``source`` at ``dest``, atomically; an existing
    folder with files is refused."""
    from asrbench.engines.conversions import write_new_folder

    source = Path(source)
    return write_new_folder(Path(dest), lambda folder: _write(source, folder))


def cached_mlx_model(source: Path, cache_dir: Path) -> Path:
    """The converted folder for ``source`` under ``cache_dir``, converted only when stale."""
    from asrbench.engines.conversions import cached_folder

    return cached_folder(source, cache_dir, "mlx", _write)


def _write(source: Path, folder: Path) -> None:
    from safetensors.numpy import save_file

    dims, state = whisper_state(read_ct2(source), source=str(source))
    tensors = {k: np.ascontiguousarray(v) for k, v in mlx_state(state, source=str(source)).items()}
    heads = _alignment_heads(source)
    if heads is not None:  # word timings only; mlx-whisper otherwise guesses the upper half
        tensors["alignment_heads"] = heads
    save_file(tensors, str(folder / "weights.safetensors"))
    (folder / "config.json").write_text(json.dumps({**dims, "model_type": "whisper"}, indent=1))


def _alignment_heads(source: Path) -> npt.NDArray[np.int64] | None:
    """The (layer, head) pairs from the CTranslate2 ``config.json``, if it names them."""
    path = source / "config.json"
    try:
        heads = json.loads(path.read_text()).get("alignment_heads") if path.is_file() else None
    except (json.JSONDecodeError, AttributeError) as exc:
        raise ConversionError(f"{path}: not a JSON object ({exc})") from exc
    if not heads:
        return None
    return np.asarray(heads, dtype=np.int64).reshape(-1, 2)
