"""mlx-whisper (Apple MLX) engine.

``mlx_whisper:tiny.en`` (the default) is the bundled CTranslate2 tiny.en converted once into the
cache folder (:mod:`asrbench.engines.convert_mlx`), so MLX runs the very same weights as the other
engines. A CTranslate2 folder is converted the same way; an mlx-whisper folder (``config.json`` and
``weights.safetensors``) or a Hub id (``mlx-community/whisper-tiny.en-mlx``) loads as it is, from the
local cache first and never online under ``HF_HUB_OFFLINE``.

Devices are asked of MLX itself: its Metal GPU is asrbench's ``mps`` (the Apple GPU), and the CPU.
MLX's CUDA build is not supported. Decoding follows the shared Whisper defaults; mlx-whisper has no
beam search, so a ``beam_size`` other than 1 is a usage error. Precision: float16 on the GPU,
float32 on the CPU unless ``dtype`` says otherwise. No batched transcription: mlx-whisper decodes
one clip at a time. MLX has no thread setting; its CPU figures on Linux (a generic BLAS) are far
from what it does on a Mac and are not representative.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from asrbench.core.errors import ConfigError, EngineError
from asrbench.engines.base import DECODING_OPTIONS, Engine, decoding_options
from asrbench.engines.spec import ModelSpec
from asrbench.engines.weights import BUNDLED_CT2_MODEL, WHISPER_SIZES, bundled_ct2_model, cache_dir, fetch
from asrbench.hardware.devices import Device

__all__ = ["MlxWhisperEngine", "parse_beam_size"]

DTYPES = ("float32", "float16")
NO_BEAMS = "mlx_whisper has no beam search (mlx-whisper raises NotImplementedError); only beam_size=1"


def parse_beam_size(value: str) -> int:
    """``beam_size`` for mlx-whisper: only 1 (greedy) is valid."""
    if int(value) != 1:
        raise ValueError(NO_BEAMS)
    return 1


def _dtype(value: str) -> str:
    if value not in DTYPES:
        raise ValueError(f"{value!r} is not one of {', '.join(DTYPES)}")
    return value


class MlxWhisperEngine(Engine):
    """mlx-whisper ``transcribe``; options: dtype and the decoding ones (beam_size only 1)."""

    name = "mlx_whisper"
    devices = frozenset({"cpu", "mps"})
    unsupported: ClassVar[dict[str, str]] = {
        "cuda": "mlx_whisper on cuda: asrbench runs MLX on the Apple GPU (mps) or the CPU only",
    }
    default_model = BUNDLED_CT2_MODEL
    package = "mlx-whisper"
    requires = (("mlx-whisper", "mlx_whisper"), ("mlx", "mlx.core"))
    extra = "mlx"
    runtime = "mlx"
    compute_clock = "process_cpu"  # in this process, in worker threads (see Engine)
    no_batch = "mlx-whisper transcribes one clip at a time (no batched decoding)"
    options: ClassVar[dict[str, Any]] = {
        "dtype": _dtype,
        **DECODING_OPTIONS,
        "beam_size": parse_beam_size,
    }

    def __init__(self, model: Any, device: Device, *, dtype: str, decode: dict[str, Any],
                 source: str) -> None:
        self._model = model
        self.device = device
        self.dtype = dtype
        self.decode = decode
        self.source = source

    @classmethod
    def load(cls, spec: ModelSpec, device: Device) -> MlxWhisperEngine:
        cls.require()
        from mlx_whisper.load_models import load_model

        name = spec.model or cls.default_model
        decode = decoding_options_without_beams(spec)
        dtype = str(spec.option("dtype", "float16" if device.kind == "mps" else "float32"))
        if dtype not in DTYPES:
            raise ConfigError(f"mlx_whisper:{name}: dtype={dtype!r} is not one of {', '.join(DTYPES)}")
        folder = _folder(name)
        try:
            with _stream(device):
                model = load_model(str(folder), dtype=_mx_dtype(dtype))
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            raise EngineError(f"mlx_whisper:{name}: cannot load {folder} "
                              f"({type(exc).__name__}: {exc})") from exc
        return cls(model, device, dtype=dtype, decode=decode, source=str(folder))

    def transcribe(self, audio: npt.NDArray[np.float32]) -> str:
        import mlx_whisper
        from mlx_whisper.transcribe import ModelHolder

        # mlx-whisper keeps one model per process, keyed by path: hand it this engine's own
        ModelHolder.model, ModelHolder.model_path = self._model, self.source
        with _stream(self.device):
            result = mlx_whisper.transcribe(
                np.array(audio, dtype=np.float32), path_or_hf_repo=self.source, verbose=None,
                fp16=self.dtype == "float16", condition_on_previous_text=False,
                language=self.decode["language"], temperature=self.decode["temperature"],
                without_timestamps=self.decode["without_timestamps"],
            )
        return str(result["text"]).strip()

    def weights_device(self) -> str:
        """MLX arrays live in unified memory; they are computed on the device of this engine's stream."""
        import mlx.core as mx

        with _stream(self.device):
            kind = mx.default_device().type
        return "mps" if kind == mx.DeviceType.gpu else "cpu"

    def info(self) -> dict[str, Any]:
        import mlx.core as mx

        return {
            **super().info(),
            "mlx_version": getattr(mx, "__version__", None),
            "precision": self.dtype,
            "backend": "MLX Metal" if self.device.kind == "mps" else "MLX CPU",
            "model_path": self.source,
            "decoding": dict(self.decode),
        }


def decoding_options_without_beams(spec: ModelSpec) -> dict[str, Any]:
    """The shared decoding options; any beam search is a usage error naming the option."""
    beam = str(spec.option("beam_size", "1"))
    try:
        parse_beam_size(beam)
    except ValueError as exc:
        raise ConfigError(f"mlx_whisper: option beam_size={beam}: {NO_BEAMS}") from exc
    decode = decoding_options(spec)
    del decode["beam_size"]
    return decode


def _stream(device: Device) -> Any:
    import mlx.core as mx

    return mx.stream(mx.gpu if device.kind == "mps" else mx.cpu)


def _mx_dtype(name: str) -> Any:
    import mlx.core as mx

    return getattr(mx, name)


def _folder(name: str) -> Path:
    """An mlx-whisper folder for ``name``: converted, local, or downloaded from the Hub."""
    from asrbench.engines.convert_mlx import cached_mlx_model

    path = Path(name).expanduser()
    if path.is_dir():
        if (path / "model.bin").is_file():
            return cached_mlx_model(path, cache_dir())
        if (path / "config.json").is_file():
            return path
        raise EngineError(f"mlx_whisper:{name}: {path} holds neither an mlx-whisper model "
                          "(config.json) nor a CTranslate2 one (model.bin)")
    if name == BUNDLED_CT2_MODEL and (bundled := bundled_ct2_model()) is not None:
        return cached_mlx_model(bundled, cache_dir())
    if name in WHISPER_SIZES:
        repo = f"mlx-community/whisper-{name}-mlx"
    elif name.count("/") == 1 and not path.exists() and not name.startswith((".", "~", "/")):
        repo = name
    else:
        raise EngineError(f"mlx_whisper:{name}: no such model folder or Hub id (owner/name)")

    def download(local_only: bool) -> Path:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=repo, local_files_only=local_only))

    return fetch(f"mlx_whisper:{repo}", download)

