"""LFM2.5-Audio engine (Liquid AI, through ``liquid-audio``): ASR by sequential generation.

Device handling fixes two failures seen on Apple silicon, at the place they arise:

1. ``LFM2AudioProcessor.from_pretrained`` and ``LFM2AudioModel.from_pretrained`` default to
   ``device="cuda"``. The processor is always loaded on the CPU and then moved; the model is loaded
   on the requested device, except MPS, where safetensors cannot load directly: load on the CPU,
   then move.
2. ``ChatState.add_audio`` needs a float32 tensor shaped (1, N); the audio layer's
   :func:`asrbench.data.audio.to_wave_tensor` builds it from any array.

Also: a ``str`` is sent to the hub downloader, so local folders are passed as ``Path``; the model
comes back in training mode (dropout), so ``.eval()``; weights load with ``strict=False``, so every
parameter is checked against the checkpoint; only text tokens (one element; audio frames have
eight) are kept, and generation stops at ``<|im_end|>``. ``max_new_tokens`` defaults to a budget
derived from the audio length (liquid-audio's own default of 20 truncates transcripts); hitting it
without the stop token warns :class:`TranscriptTruncated`.

The whole clip goes into one conversation, as liquid-audio's own recipe does (the conformer's
positional encoding extends itself and the context holds 32k tokens). ``chunk_seconds=S`` cuts the
audio into consecutive S-second chunks instead, each transcribed in its own conversation and the
texts joined with spaces; words spoken across a cut may be lost, so use it only to bound memory.

Attention: liquid-audio's ``from_pretrained`` switches to FlashAttention-2 whenever ``flash_attn``
is importable, whatever the device, and a CPU or MPS model then fails. The implementation is set
explicitly after loading: ``flash_attention_2`` only on CUDA with ``flash_attn`` installed, ``sdpa``
otherwise (option ``attn_implementation`` overrides).
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy.typing as npt

from asrbench.core.errors import EngineError
from asrbench.data.audio import SAMPLE_RATE, to_wave_tensor
from asrbench.engines.base import Engine
from asrbench.engines.first_text import mark_first_text
from asrbench.engines.spec import ModelSpec
from asrbench.engines.weights import fetch
from asrbench.hardware.devices import Device

__all__ = [
    "DEFAULT_MODEL", "LfmAudioEngine", "TranscriptTruncated", "default_attention", "token_budget",
]

DEFAULT_MODEL = "LiquidAI/LFM2.5-Audio-1.5B"
SYSTEM_PROMPT = "Perform ASR."
IM_END = 7
#: dtype per device kind: bfloat16 on CUDA; float32 on CPU (bfloat16 matmuls are slow on most
#: CPUs) and on MPS (bfloat16 support depends on the macOS version).
DTYPES = {"cpu": "float32", "cuda": "bfloat16", "mps": "float32"}
ATTENTION = ("sdpa", "flash_attention_2", "eager")


class TranscriptTruncated(UserWarning):
    """Generation hit ``max_new_tokens`` before the end-of-turn token: the text is cut short."""


def token_budget(seconds: float) -> int:
    """New-token limit for ``seconds`` of speech: fast speech is ~4 words/s, ~1.5 tokens a word."""
    return 32 + int(8 * seconds)


def _positive(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(f"must be > 0, got {value}")
    return number


def _attention(value: str) -> str:
    if value not in ATTENTION:
        raise ValueError(f"valid: {', '.join(ATTENTION)}")
    return value


@contextmanager
def _attention_choice(attention: str) -> Iterator[None]:
    """Inside the block, liquid-audio's "is flash_attn installed?" answers our choice instead.

    ``from_pretrained`` switches to FlashAttention-2 whenever the module exists, and transformers
    then refuses a model on a device (or a machine) where it cannot run, before we could set it.
    """
    import liquid_audio.model.lfm2_audio as upstream

    original = getattr(upstream, "module_exists", None)
    if original is None:  # a liquid-audio that no longer decides this itself
        yield
        return
    def chosen(name: str) -> bool:
        return attention == "flash_attention_2" if name == "flash_attn" else bool(original(name))

    setattr(upstream, "module_exists", chosen)  # noqa: B010 - not an exported name
    try:
        yield
    finally:
        setattr(upstream, "module_exists", original)  # noqa: B010


def default_attention(device: Device) -> str:
    """FlashAttention-2 only where it runs (CUDA, ``flash_attn`` installed); else PyTorch's SDPA."""
    if device.kind == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


class LfmAudioEngine(Engine):
    """``LFM2AudioModel`` with its processor.

    Options: dtype, max_new_tokens, chunk_seconds (default: none, the whole clip) and
    attn_implementation (default: flash_attention_2 on CUDA when installed, else sdpa).
    """

    name = "lfm2_5_audio"
    incremental = True  # text tokens arrive one by one: the first is marked
    devices = frozenset({"cpu", "cuda", "mps"})
    default_model = DEFAULT_MODEL
    no_batch = ("liquid-audio generates one conversation at a time (generate_sequential has no "
                "batch axis), so there is no batched transcription to measure")
    package = "liquid-audio"
    requires = (("liquid-audio", "liquid_audio"), ("torch", "torch"), ("torchaudio", "torchaudio"))
    extra = "lfm"
    runtime = "torch"
    compute_clock = "process_cpu"  # in this process, in worker threads (see Engine)
    options: ClassVar[dict[str, Any]] = {
        "dtype": str,
        "max_new_tokens": int,
        "chunk_seconds": _positive,
        "attn_implementation": _attention,
    }

    def __init__(self, model: Any, processor: Any, device: Device, *, dtype: str,
                 max_new_tokens: int | None, chunk_seconds: float | None, source: str,
                 attention: str = "sdpa") -> None:
        self._model = model
        self._processor = processor
        self.device = device
        self.dtype = dtype
        self.max_new_tokens = max_new_tokens
        self.chunk_seconds = chunk_seconds
        self.source = source
        self.attention = attention

    @classmethod
    def load(cls, spec: ModelSpec, device: Device) -> LfmAudioEngine:
        cls.require()
        import torch
        from liquid_audio import LFM2AudioModel, LFM2AudioProcessor

        name = spec.model or cls.default_model
        folder = _model_folder(name)
        _refuse_pickles(folder, name)
        dtype_name = str(spec.option("dtype", DTYPES[device.kind]))
        dtype = getattr(torch, dtype_name, None)
        if not isinstance(dtype, torch.dtype):
            raise EngineError(f"lfm2_5_audio:{name}: unknown dtype {dtype_name!r}")
        processor = LFM2AudioProcessor.from_pretrained(folder, device="cpu").eval()
        load_on = "cpu" if device.kind in ("cpu", "mps") else device.torch_name
        attention = str(spec.option("attn_implementation", default_attention(device)))
        with _attention_choice(attention):
            model = LFM2AudioModel.from_pretrained(folder, device=load_on, dtype=dtype)
        model.lfm.set_attn_implementation(attention)
        _check_loaded(model, folder, name)
        if device.kind == "mps":
            model = model.to(device.torch_name)
            processor = processor.to(device.torch_name)
        elif device.kind == "cuda":
            processor = processor.to(device.torch_name)
        budget = spec.option("max_new_tokens", None)
        chunk = spec.option("chunk_seconds", None)
        return cls(model.eval(), processor, device, dtype=dtype_name,
                   max_new_tokens=int(budget) if budget is not None else None,
                   chunk_seconds=float(chunk) if chunk is not None else None, source=str(folder),
                   attention=attention)

    def transcribe(self, audio: npt.ArrayLike, sample_rate: int = SAMPLE_RATE) -> str:
        wave = to_wave_tensor(audio, sample_rate)
        if self.chunk_seconds is None:
            return self._turn(wave)
        step = int(self.chunk_seconds * SAMPLE_RATE)
        chunks = [wave[:, i:i + step] for i in range(0, wave.shape[1], step)]
        return " ".join(t for t in (self._turn(chunk) for chunk in chunks) if t)

    def _turn(self, wave: Any) -> str:
        import torch
        from liquid_audio import ChatState

        chat = ChatState(self._processor, dtype=getattr(torch, self.dtype))
        chat.new_turn("system")
        chat.add_text(SYSTEM_PROMPT)
        chat.end_turn()
        chat.new_turn("user")
        chat.add_audio(wave, SAMPLE_RATE)
        chat.end_turn()
        chat.new_turn("assistant")
        budget = self.max_new_tokens or token_budget(wave.shape[1] / SAMPLE_RATE)
        tokens: list[int] = []
        stopped = False
        for token in self._model.generate_sequential(**chat, max_new_tokens=budget):
            if token.numel() != 1:  # an audio frame (one id per codebook): not text
                continue
            if int(token) == IM_END:
                stopped = True
                break
            if not tokens:
                mark_first_text()  # the first text token exists: time to first text
            tokens.append(int(token))
        if not stopped:
            warnings.warn(TranscriptTruncated(
                f"lfm2_5_audio: {budget} new tokens used without an end of turn; the transcript "
                "is cut short (raise max_new_tokens)"), stacklevel=3)
        return str(self._processor.text.decode(tokens, skip_special_tokens=True)).strip()

    def weights_device(self) -> str:
        from asrbench.hardware.runtimes import torch_module_device

        return torch_module_device(self._model)

    def info(self) -> dict[str, Any]:
        import torch

        return {**super().info(), "torch_version": str(torch.__version__), "precision": self.dtype,
                "model_path": self.source, "max_new_tokens": self.max_new_tokens or "by length",
                "chunk_seconds": self.chunk_seconds or "none (whole clip)",
                "attn_implementation": self.attention}


def _model_folder(name: str) -> Path:
    """A local folder as ``Path`` (a ``str`` would go to the hub); a hub id via the local cache."""
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise EngineError(f"lfm2_5_audio:{name}: {path} holds no config.json")
        return path
    if name.startswith((".", "/", "~")):
        raise EngineError(f"lfm2_5_audio:{name}: no such model folder")
    from huggingface_hub import snapshot_download

    return Path(fetch(f"lfm2_5_audio:{name}",
                      lambda local_only: snapshot_download(name, local_files_only=local_only)))


#: Checkpoint formats that unpickle (and can run code) when loaded; only safetensors is read.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


def _refuse_pickles(folder: Path, name: str) -> None:
    """Load safetensors only: a pickle checkpoint beside them could be read instead."""
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise EngineError(f"lfm2_5_audio:{name}: {folder} holds pickle checkpoints "
                          f"({', '.join(pickles)}); only .safetensors weights are loaded")


def _check_loaded(model: Any, folder: Path, name: str) -> None:
    """Fail when a model parameter is absent from the checkpoint (it would stay random)."""
    from safetensors import safe_open

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise EngineError(f"lfm2_5_audio:{name}: no .safetensors weights in {folder}")
    stored: set[str] = set()
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            stored.update(handle.keys())
    missing = sorted(k for k, _ in model.named_parameters() if k not in stored)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise EngineError(f"lfm2_5_audio:{name}: {len(missing)} parameters not in the checkpoint "
                          f"(they would stay random): {shown}")
