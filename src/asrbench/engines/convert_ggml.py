"""openai-whisper weights → whisper.cpp's ggml file, and a reader that checks a ggml file in Python.

The file (whisper.cpp's ``convert-pt-to-ggml.py`` layout, little-endian int32 unless said): the magic
``ggml``; 11 hparams (n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx,
n_text_state, n_text_head, n_text_layer, n_mels, ftype); the mel filters (n_mels, 201, then float32
values) from openai-whisper's ``assets/mel_filters.npz``; the byte-level vocabulary (count, then
length and bytes of each token) from ``gpt2.tiktoken`` (``multilingual.tiktoken`` for multilingual
models); then each tensor: n_dims, name length, type, the dims innermost first, the name, the data.
Matrices and convolutions are float16, everything else (biases, layer norms, positional embeddings,
conv biases reshaped to [n, 1]) float32, so an fp16 source converts exactly.

whisper.cpp does not report a bad file to its caller: a rejected file makes pywhispercpp crash, and a
float32 file aborts inside ggml. :func:`validate_ggml` therefore checks header, hparams, tensor count,
names, types and shapes here first, and names the file and the cause in one line.
"""

from __future__ import annotations

import hashlib
import importlib.util
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from asrbench.core.files import write_atomic
from asrbench.engines.convert import ConversionError, read_ct2, whisper_state

__all__ = ["GgmlFile", "GgmlTensor", "cached_ggml", "convert_to_ggml", "expected_tensors", "ggml_bytes",
           "read_ggml", "tensor_array", "validate_ggml"]

MAGIC = 0x67676D6C  # "ggml"
HPARAMS = ("n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer", "n_text_ctx",
           "n_text_state", "n_text_head", "n_text_layer", "n_mels")
F32, F16 = 0, 1
#: ggml tensor type → (name, bytes per block, values per block)
TYPES = {0: ("f32", 4, 1), 1: ("f16", 2, 1), 2: ("q4_0", 18, 32), 3: ("q4_1", 20, 32),
         6: ("q5_0", 22, 32), 7: ("q5_1", 24, 32), 8: ("q8_0", 34, 32), 10: ("q2_k", 84, 256),
         11: ("q3_k", 110, 256), 12: ("q4_k", 144, 256), 13: ("q5_k", 176, 256),
         14: ("q6_k", 210, 256)}
#: the file's ftype (ggml_ftype, modulo the quantisation-version factor) → type of its matrices
FTYPES = {0: 0, 1: 1, 2: 2, 3: 3, 7: 8, 8: 6, 9: 7, 10: 10, 11: 11, 12: 12, 13: 13, 14: 14}
_QNT_FACTOR = 1000
_N_FFT_BINS = 201
#: Changes whenever the bytes written for the same weights change (part of the cache key).
FORMAT_VERSION = 1


class GgmlError(ConversionError):
    """A file whisper.cpp would reject or crash on."""


@dataclass(frozen=True)
class GgmlTensor:
    name: str
    type: int
    shape: tuple[int, ...]  # numpy order (outermost first), as openai-whisper's state dict has it
    offset: int
    nbytes: int


@dataclass(frozen=True)
class GgmlFile:
    path: Path
    hparams: Mapping[str, int]
    ftype: int
    filters: tuple[int, int]
    vocab: int
    tensors: Mapping[str, GgmlTensor]

    @property
    def wtype(self) -> int:
        """The type of the weight matrices that ``ftype`` announces."""
        return FTYPES[self.ftype % _QNT_FACTOR]


# ---- writing ----------------------------------------------------------------------------------

def _assets(n_mels: int, n_vocab: int) -> tuple[npt.NDArray[np.float32], list[bytes]]:
    """Mel filters and token bytes from openai-whisper's assets, found without importing it (torch)."""
    import base64

    spec = importlib.util.find_spec("whisper")
    folder = Path(spec.origin).parent / "assets" if spec is not None and spec.origin else None
    tokenizer = "multilingual.tiktoken" if n_vocab >= 51865 else "gpt2.tiktoken"
    if folder is None or not (folder / "mel_filters.npz").is_file() or \
            not (folder / tokenizer).is_file():
        raise ConversionError(f"ggml conversion needs openai-whisper's assets (mel_filters.npz, "
                              f"{tokenizer}): pip install 'pytest-asrbench[whisper-cpp]'")
    with np.load(folder / "mel_filters.npz") as npz:
        if f"mel_{n_mels}" not in npz:
            raise ConversionError(f"no mel filters for n_mels={n_mels} in {folder / 'mel_filters.npz'}")
        filters = np.asarray(npz[f"mel_{n_mels}"], dtype=np.float32)
    lines = (folder / tokenizer).read_text().split("\n")
    tokens = [base64.b64decode(line.split()[0]) for line in lines if line.strip()]
    return filters, tokens


def _tensor_type(name: str, ndim: int, wtype: int) -> int:
    if ndim < 2 or name.endswith(("conv1.bias", "conv2.bias", "positional_embedding")):
        return F32
    if ndim == 3:  # convolution kernels: ggml's im2col takes f16 (f32 only in an all-f32 file)
        return F32 if wtype == F32 else F16
    return wtype


def ggml_bytes(dims: Mapping[str, int], state: Mapping[str, Any], *, ftype: int = F16) -> bytes:
    """The ggml file for openai-whisper ``dims`` and ``state`` (numpy arrays). ``ftype`` 0 writes an
    all-float32 file, which whisper.cpp loads and then aborts on: kept for the validation tests."""
    if ftype not in (F32, F16):
        raise ConversionError(f"ftype {ftype}: only 0 (f32) and 1 (f16) are written")
    filters, tokens = _assets(dims["n_mels"], dims["n_vocab"])
    out = [struct.pack("<i", MAGIC), struct.pack(f"<{len(HPARAMS) + 1}i",
                                                 *(int(dims[k]) for k in HPARAMS), ftype)]
    out += [struct.pack("<ii", *filters.shape), filters.astype("<f4").tobytes()]
    out.append(struct.pack("<i", len(tokens)))
    for token in tokens:
        out += [struct.pack("<i", len(token)), token]
    for name, value in state.items():
        data = np.asarray(value)
        if name.endswith(("conv1.bias", "conv2.bias")):
            data = data.reshape(data.shape[0], 1)
        kind = _tensor_type(name, data.ndim, ftype)
        data = np.ascontiguousarray(data, dtype="<f4" if kind == F32 else "<f2")
        raw = name.encode()
        out += [struct.pack("<iii", data.ndim, len(raw), kind),
                struct.pack(f"<{data.ndim}i", *reversed(data.shape)), raw, data.tobytes()]
    return b"".join(out)


def _source_state(source: Path) -> tuple[dict[str, int], dict[str, Any]]:
    """dims and state of a CTranslate2 folder or an openai-whisper ``.pt`` checkpoint."""
    if source.is_dir():
        return whisper_state(read_ct2(source), source=str(source))
    if not source.is_file():
        raise ConversionError(f"{source}: no such CTranslate2 folder or openai-whisper checkpoint")
    import torch

    try:
        checkpoint = torch.load(source, map_location="cpu", weights_only=True)
        dims = {k: int(v) for k, v in checkpoint["dims"].items()}
        state = {k: t.numpy() for k, t in checkpoint["model_state_dict"].items()}
    except Exception as exc:  # torch raises many types for a file that is not a checkpoint
        raise ConversionError(f"{source}: not an openai-whisper checkpoint ({type(exc).__name__}: "
                              f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''})") from exc
    return dims, state


def convert_to_ggml(source: Path, dest: Path, *, ftype: int = F16) -> Path:
    """Write the ggml file of ``source`` (CTranslate2 folder or ``.pt``) at ``dest``, atomically,
    and check it as whisper.cpp would before returning."""
    dims, state = _source_state(Path(source))
    write_atomic(Path(dest), ggml_bytes(dims, state, ftype=ftype))
    if ftype == F16:
        validate_ggml(Path(dest))
    return Path(dest)


def cached_ggml(source: Path, cache_dir: Path) -> Path:
    """The ggml conversion of the CTranslate2 folder ``source``, named by the hash of its model.bin
    (content-addressed: a changed model is a new file), converted only when absent."""
    digest = hashlib.sha256(f"ggml-format-{FORMAT_VERSION}".encode())
    with open(Path(source) / "model.bin", "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    dest = Path(cache_dir) / f"ggml-{Path(source).resolve().name}-{digest.hexdigest()[:16]}.bin"
    if not dest.is_file():  # written atomically: a file there is whole
        convert_to_ggml(source, dest)
    return dest


# ---- reading and validation ------------------------------------------------------------------

def _take(handle: BinaryIO, count: int, path: Path, size: int) -> bytes:
    at = handle.tell()
    data = handle.read(count)
    if len(data) != count:
        raise GgmlError(f"{path}: truncated at byte {at} (needs {count} more bytes, file has {size})")
    return data


def _ints(handle: BinaryIO, count: int, path: Path, size: int) -> tuple[int, ...]:
    return struct.unpack(f"<{count}i", _take(handle, 4 * count, path, size))


def read_ggml(path: Path) -> GgmlFile:
    """The structure of a ggml Whisper file (tensor data is skipped, not read)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        handle = open(path, "rb")
    except OSError as exc:
        raise GgmlError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    with handle:
        (magic,) = _ints(handle, 1, path, size)
        if magic != MAGIC:
            raise GgmlError(f"{path}: not a ggml Whisper file (magic {magic:#010x}, expected "
                            f"{MAGIC:#010x}; GGUF and other formats are not whisper.cpp models)")
        values = _ints(handle, len(HPARAMS) + 1, path, size)
        hparams = dict(zip(HPARAMS, values[:-1], strict=True))
        ftype = values[-1]
        n_mel, n_fft = _ints(handle, 2, path, size)
        if not (0 < n_mel <= 512 and 0 < n_fft <= 4096):
            raise GgmlError(f"{path}: corrupt mel filter header ({n_mel} x {n_fft})")
        _take(handle, 4 * n_mel * n_fft, path, size)
        (vocab,) = _ints(handle, 1, path, size)
        if not 0 < vocab <= max(hparams["n_vocab"], 0):
            raise GgmlError(f"{path}: {vocab} vocabulary entries for n_vocab={hparams['n_vocab']}")
        for _ in range(vocab):
            (length,) = _ints(handle, 1, path, size)
            if not 0 <= length <= 1024:
                raise GgmlError(f"{path}: corrupt vocabulary entry at byte {handle.tell() - 4}")
            _take(handle, length, path, size)
        tensors: dict[str, GgmlTensor] = {}
        while handle.tell() < size:
            n_dims, length, kind = _ints(handle, 3, path, size)
            if not (1 <= n_dims <= 4 and 0 < length <= 256):
                raise GgmlError(f"{path}: corrupt tensor header at byte {handle.tell() - 12}")
            shape = tuple(reversed(_ints(handle, n_dims, path, size)))
            name = _take(handle, length, path, size).decode("utf-8", errors="replace")
            if kind not in TYPES:
                raise GgmlError(f"{path}: tensor {name!r} has unknown ggml type {kind}")
            _, block_bytes, block = TYPES[kind]
            count = int(np.prod(shape))
            if shape[-1] % block or min(shape) < 0:
                raise GgmlError(f"{path}: tensor {name!r} shape {list(shape)} does not fit "
                                f"{TYPES[kind][0]} blocks of {block}")
            nbytes = count // block * block_bytes
            tensors[name] = GgmlTensor(name, kind, shape, handle.tell(), nbytes)
            if handle.tell() + nbytes > size:
                raise GgmlError(f"{path}: truncated in tensor {name!r} (needs {nbytes} bytes from "
                                f"byte {handle.tell()}, file has {size})")
            handle.seek(nbytes, 1)
    return GgmlFile(path, hparams, ftype, (n_mel, n_fft), vocab, tensors)


def expected_tensors(hparams: Mapping[str, int]) -> dict[str, tuple[int, ...]]:
    """Every tensor whisper.cpp loads for these hparams, with its shape (numpy order)."""
    h = hparams
    shapes: dict[str, tuple[int, ...]] = {}

    def block(prefix: str, n: int, cross: bool) -> None:
        parts = [("attn", "attn_ln")] + ([("cross_attn", "cross_attn_ln")] if cross else [])
        for attn, ln in parts:
            shapes.update({f"{prefix}.{ln}.weight": (n,), f"{prefix}.{ln}.bias": (n,)})
            for proj in ("query", "key", "value", "out"):
                shapes[f"{prefix}.{attn}.{proj}.weight"] = (n, n)
                if proj != "key":
                    shapes[f"{prefix}.{attn}.{proj}.bias"] = (n,)
        shapes.update({f"{prefix}.mlp_ln.weight": (n,), f"{prefix}.mlp_ln.bias": (n,),
                       f"{prefix}.mlp.0.weight": (4 * n, n), f"{prefix}.mlp.0.bias": (4 * n,),
                       f"{prefix}.mlp.2.weight": (n, 4 * n), f"{prefix}.mlp.2.bias": (n,)})

    a, t = h["n_audio_state"], h["n_text_state"]
    shapes.update({
        "encoder.positional_embedding": (h["n_audio_ctx"], a),
        "encoder.conv1.weight": (a, h["n_mels"], 3), "encoder.conv1.bias": (a, 1),
        "encoder.conv2.weight": (a, a, 3), "encoder.conv2.bias": (a, 1),
        "encoder.ln_post.weight": (a,), "encoder.ln_post.bias": (a,),
        "decoder.positional_embedding": (h["n_text_ctx"], t),
        "decoder.token_embedding.weight": (h["n_vocab"], t),
        "decoder.ln.weight": (t,), "decoder.ln.bias": (t,),
    })
    for i in range(h["n_audio_layer"]):
        block(f"encoder.blocks.{i}", a, cross=False)
    for i in range(h["n_text_layer"]):
        block(f"decoder.blocks.{i}", t, cross=True)
    return shapes


def validate_ggml(path: Path) -> GgmlFile:
    """Read ``path`` and check it as whisper.cpp will, raising :class:`GgmlError` (one line)
    where whisper.cpp would refuse the file or abort the process on it."""
    model = read_ggml(path)
    h = model.hparams
    bad = [k for k, v in h.items() if not 0 < v <= 1 << 20]
    if bad:
        raise GgmlError(f"{path}: implausible hparams {', '.join(f'{k}={h[k]}' for k in bad)}")
    for state, head in (("n_audio_state", "n_audio_head"), ("n_text_state", "n_text_head")):
        if h[state] % h[head]:
            raise GgmlError(f"{path}: {state}={h[state]} is not a multiple of {head}={h[head]}")
    ftype = model.ftype % _QNT_FACTOR
    if ftype not in FTYPES:
        raise GgmlError(f"{path}: unknown ftype {model.ftype}")
    if FTYPES[ftype] == F32:
        raise GgmlError(f"{path}: an all-float32 file (ftype 0); whisper.cpp aborts on its float32 "
                        "convolutions: convert with float16 weights (asrbench convert --to ggml)")
    if model.filters != (h["n_mels"], _N_FFT_BINS):
        raise GgmlError(f"{path}: mel filters are {model.filters[0]} x {model.filters[1]}, expected "
                        f"{h['n_mels']} x {_N_FFT_BINS}")
    expected = expected_tensors(h)
    missing = [name for name in expected if name not in model.tensors]
    extra = [name for name in model.tensors if name not in expected]
    if missing or extra:
        what = [f"{len(missing)} missing (first {missing[0]!r})"] if missing else []
        what += [f"{len(extra)} unexpected (first {extra[0]!r})"] if extra else []
        raise GgmlError(f"{path}: {len(model.tensors)} tensors, whisper.cpp expects {len(expected)}: "
                        f"{'; '.join(what)}")
    for name, shape in expected.items():
        tensor = model.tensors[name]
        if tensor.shape != shape:
            raise GgmlError(f"{path}: tensor {name!r} has shape {list(tensor.shape)}, expected "
                            f"{list(shape)} for these hparams")
        want = _tensor_type(name, len(shape), model.wtype)
        if tensor.type != want:
            raise GgmlError(f"{path}: tensor {name!r} is {TYPES[tensor.type][0]}, whisper.cpp needs "
                            f"{TYPES[want][0]} (file ftype {model.ftype})")
    return model


def tensor_array(model: GgmlFile, name: str) -> npt.NDArray[Any]:
    """The values of an f32 or f16 tensor, in its numpy shape (quantised ones are not decoded)."""
    tensor = model.tensors[name]
    if tensor.type not in (F32, F16):
        raise GgmlError(f"{model.path}: tensor {name!r} is {TYPES[tensor.type][0]}; only f32 and f16 "
                        "are read back")
    dtype = np.dtype("<f4" if tensor.type == F32 else "<f2")
    data = np.fromfile(model.path, dtype=dtype, count=int(np.prod(tensor.shape)), offset=tensor.offset)
    return data.reshape(tensor.shape)
