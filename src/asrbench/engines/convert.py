"""CTranslate2 Whisper → openai-whisper checkpoint, so engines can be compared on identical weights.

``model.bin`` layout (ctranslate2/specs/model_spec.py, little-endian): u32 binary version, the spec
name, u32 spec revision, u32 variable count; per variable its name, u8 rank, rank × u32 dims, u8 dtype
id, u32 byte count, raw bytes; then u32 alias count and (alias, target) pairs. Strings are a u16
length (including a trailing NUL) then bytes. int8 weights carry ``<name>_scale`` (float32 per output
row, ``weight ≈ int8 / scale``); aliases resolve after dequantising (tiny.en ties the decoder
projection to the token embeddings).

CTranslate2 fuses attention projections: self-attention ``linear_0`` is [query; key; value],
cross-attention ``linear_1`` is [key; value]. openai-whisper's key projections have no bias; the
stored key bias must be zero and is dropped.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asrbench.core.errors import AsrBenchError
from asrbench.core.files import write_atomic

__all__ = ["ConversionError", "Ct2Model", "convert_to_whisper", "read_ct2", "whisper_state"]

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_BFLOAT16 = 5


class ConversionError(AsrBenchError):
    """A model folder that is not a readable CTranslate2 Whisper model."""


@dataclass(frozen=True)
class Ct2Model:
    spec: str
    revision: int
    variables: dict[str, npt.NDArray[Any]]


class _Reader:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.path, self.offset = data, path, 0

    def take(self, count: int) -> bytes:
        if self.offset + count > len(self.data):
            raise ConversionError(
                f"{self.path}: truncated at byte {self.offset} (needs {count} more bytes, "
                f"file has {len(self.data)})"
            )
        chunk = self.data[self.offset:self.offset + count]
        self.offset += count
        return chunk

    def unpack(self, fmt: str) -> int:
        return int(struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)))[0])

    def string(self) -> str:
        raw = self.take(self.unpack("H"))
        try:
            return raw.rstrip(b"\0").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConversionError(f"{self.path}: corrupt string at byte {self.offset}") from exc


def read_ct2(folder: Path) -> Ct2Model:
    """Read every variable of ``folder/model.bin``, dequantised to float, aliases resolved."""
    path = Path(folder) / "model.bin"
    if not path.is_file():
        raise ConversionError(f"{folder}: no model.bin (not a CTranslate2 model folder)")
    reader = _Reader(path.read_bytes(), path)
    version = reader.unpack("I")
    if version < 5 or version > 6:
        raise ConversionError(f"{path}: unsupported binary version {version} (expected 5 or 6)")
    spec = reader.string()
    revision = reader.unpack("I")
    raw: dict[str, npt.NDArray[Any]] = {}
    for _ in range(reader.unpack("I")):
        name = reader.string()
        dims = [reader.unpack("I") for _ in range(reader.unpack("B"))]
        dtype_id = reader.unpack("B")
        data = reader.take(reader.unpack("I"))
        if dtype_id == _BFLOAT16:
            bits = np.frombuffer(data, dtype="<u2").astype(np.uint32) << 16
            array = bits.view(np.float32)
        elif dtype_id in _DTYPES:
            array = np.frombuffer(data, dtype=np.dtype(_DTYPES[dtype_id]).newbyteorder("<"))
        else:
            raise ConversionError(f"{path}: variable {name!r} has unknown dtype id {dtype_id}")
        if array.size != int(np.prod(dims)):
            raise ConversionError(f"{path}: variable {name!r} holds {array.size} values, "
                                  f"shape {dims} needs {int(np.prod(dims))}")
        raw[name] = array.reshape(dims)
    aliases = [(reader.string(), reader.string()) for _ in range(reader.unpack("I"))]
    if reader.offset != len(reader.data):
        raise ConversionError(f"{path}: {len(reader.data) - reader.offset} unexpected trailing bytes")
    variables: dict[str, npt.NDArray[Any]] = {}
    for name, array in raw.items():
        if name.endswith("_scale"):
            continue
        if f"{name}_scale" in raw and array.dtype in (np.int8, np.int16):
            scale = raw[f"{name}_scale"].astype(np.float32)
            array = array.astype(np.float32) / scale.reshape(-1, *[1] * (array.ndim - 1))
        variables[name] = array
    for alias, target in aliases:
        if target not in variables:
            raise ConversionError(f"{path}: alias {alias!r} points at missing {target!r}")
        variables[alias] = variables[target]
    return Ct2Model(spec, revision, variables)


def _layers(variables: dict[str, Any], prefix: str) -> int:
    count = 0
    while f"{prefix}/layer_{count}/ffn/linear_0/weight" in variables:
        count += 1
    return count


def _scalar(variables: dict[str, Any], name: str) -> int:
    return int(np.asarray(variables[name]).reshape(-1)[0])


def whisper_state(model: Ct2Model, *, source: str = "model") -> tuple[dict[str, int], dict[str, Any]]:
    """``dims`` and a state dict of numpy arrays in openai-whisper's names."""
    if model.spec != "WhisperSpec":
        raise ConversionError(f"{source}: a CTranslate2 {model.spec!r} model, not a Whisper model")
    v = model.variables
    try:
        return _whisper_state(v, source)
    except KeyError as exc:
        raise ConversionError(f"{source}: Whisper variable {exc.args[0]!r} missing") from exc


def _whisper_state(v: dict[str, Any], source: str) -> tuple[dict[str, int], dict[str, Any]]:
    state: dict[str, Any] = {}

    def copy(dst: str, src: str) -> None:
        state[f"{dst}.weight"] = v[f"{src}/weight"]
        if f"{src}/bias" in v:
            state[f"{dst}.bias"] = v[f"{src}/bias"]

    def norm(dst: str, src: str) -> None:
        state[f"{dst}.weight"] = v[f"{src}/gamma"]
        state[f"{dst}.bias"] = v[f"{src}/beta"]

    def attention(dst: str, fused: str, names: tuple[str, ...]) -> None:
        weights = np.split(v[f"{fused}/weight"], len(names))
        biases = np.split(v[f"{fused}/bias"], len(names))
        for name, weight, bias in zip(names, weights, biases, strict=True):
            state[f"{dst}.{name}.weight"] = weight
            if name == "key":
                if np.any(bias != 0):
                    raise ConversionError(f"{source}: {fused} has a non-zero key bias; "
                                          "openai-whisper's key projection has none")
            else:
                state[f"{dst}.{name}.bias"] = bias

    def block(dst: str, src: str, cross: bool) -> None:
        attention(f"{dst}.attn", f"{src}/self_attention/linear_0", ("query", "key", "value"))
        copy(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        if cross:
            copy(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
            attention(f"{dst}.cross_attn", f"{src}/attention/linear_1", ("key", "value"))
            copy(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
            norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        copy(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        copy(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")

    copy("encoder.conv1", "encoder/conv1")
    copy("encoder.conv2", "encoder/conv2")
    state["encoder.positional_embedding"] = v["encoder/position_encodings/encodings"]
    n_audio_layer = _layers(v, "encoder")
    for i in range(n_audio_layer):
        block(f"encoder.blocks.{i}", f"encoder/layer_{i}", cross=False)
    norm("encoder.ln_post", "encoder/layer_norm")
    state["decoder.token_embedding.weight"] = v["decoder/embeddings/weight"]
    state["decoder.positional_embedding"] = v["decoder/position_encodings/encodings"]
    n_text_layer = _layers(v, "decoder")
    for i in range(n_text_layer):
        block(f"decoder.blocks.{i}", f"decoder/layer_{i}", cross=True)
    norm("decoder.ln", "decoder/layer_norm")
    projection = v.get("decoder/projection/weight")
    if projection is not None and not np.array_equal(projection, v["decoder/embeddings/weight"]):
        raise ConversionError(f"{source}: decoder projection is not tied to the embeddings; "
                              "openai-whisper ties them")
    conv1 = v["encoder/conv1/weight"]
    dims = {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(v["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(conv1.shape[0]),
        "n_audio_head": _scalar(v, "encoder/num_heads"),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(v["decoder/embeddings/weight"].shape[0]),
        "n_text_ctx": int(v["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(v["decoder/embeddings/weight"].shape[1]),
        "n_text_head": _scalar(v, "decoder/num_heads"),
        "n_text_layer": n_text_layer,
    }
    return dims, state


def convert_to_whisper(source: Path, dest: Path) -> Path:
    """Write an openai-whisper checkpoint (``{"dims", "model_state_dict"}``) at ``dest``, atomically.

    A failure leaves nothing at ``dest``; a sidecar ``.json`` records the source for cache checks.
    """
    import torch

    source, dest = Path(source), Path(dest)
    dims, state = whisper_state(read_ct2(source), source=str(source))
    checkpoint = {
        "dims": dims,
        "model_state_dict": {k: torch.from_numpy(np.array(a, copy=True)) for k, a in state.items()},
    }
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    write_atomic(dest, buffer.getvalue())
    return dest


def source_stamp(source: Path) -> dict[str, Any]:
    """What identifies a source model: size and mtime of its model.bin."""
    stat = (Path(source) / "model.bin").stat()
    return {"source": str(Path(source).resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def cached_whisper_checkpoint(source: Path, cache_dir: Path) -> Path:
    """The converted checkpoint for ``source`` under ``cache_dir``, converted only when stale."""
    stamp = source_stamp(source)
    dest = cache_dir / f"whisper-{Path(source).resolve().name}-{stamp['size']}.pt"
    meta = dest.with_suffix(".json")
    if dest.is_file() and meta.is_file():
        try:
            if json.loads(meta.read_text()) == stamp:
                return dest
        except (OSError, json.JSONDecodeError):
            pass
    convert_to_whisper(source, dest)
    meta.write_text(json.dumps(stamp))
    return dest
