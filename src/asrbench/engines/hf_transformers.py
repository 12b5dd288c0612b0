"""Hugging Face transformers engine (``WhisperForConditionalGeneration.generate``).

``transformers:tiny.en`` (the default) is the bundled CTranslate2 tiny.en converted once into the
cache folder (:mod:`asrbench.engines.convert_hf`), so this engine runs the very same weights as
faster_whisper and whisper. A CTranslate2 folder is converted the same way; a transformers folder
or a Hub id (``distil-whisper/distil-small.en``) loads as it is, from the local cache first and
never online under ``HF_HUB_OFFLINE``; only ``.safetensors`` weights are loaded.

Decoding follows the shared Whisper defaults: English, greedy (``num_beams=1``), temperature 0 with
no fallback, no timestamps. Each clip is cut into 30-second windows, each padded to 30 s as Whisper
expects; ``transcribe_batch`` runs every window of every clip in one ``generate`` call.

Devices are asked of torch (CPU, CUDA, MPS). Precision: float16 on CUDA, float32 on the CPU and MPS
unless ``dtype`` says otherwise. On MPS the model is probed with one decode; a failure skips.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from asrbench.core.errors import ConfigError, EngineError, EngineUnavailable
from asrbench.data.audio import SAMPLE_RATE
from asrbench.data.batching import join_pieces, split_pieces
from asrbench.engines.base import DECODING_OPTIONS, Engine, decoding_options
from asrbench.engines.spec import ModelSpec
from asrbench.engines.weights import BUNDLED_CT2_MODEL, WHISPER_SIZES, bundled_ct2_model, cache_dir, fetch
from asrbench.hardware.devices import Device

__all__ = ["DTYPES", "TransformersEngine"]

#: ``dtype`` option values.
DTYPES = ("float32", "float16", "bfloat16")
#: ``attn_implementation`` option values transformers' Whisper accepts.
ATTENTION = ("eager", "sdpa", "flash_attention_2", "flash_attention_3", "flex_attention")
_BACKENDS = {"cpu": "torch CPU", "cuda": "torch CUDA", "mps": "torch MPS"}


def _choice(valid: tuple[str, ...]) -> Any:
    def parse(value: str) -> str:
        if value not in valid:
            raise ValueError(f"{value!r} is not one of {', '.join(valid)}")
        return value
    return parse


class TransformersEngine(Engine):
    """transformers Whisper; options: dtype, attn_implementation and the decoding ones."""

    name = "transformers"
    devices = frozenset({"cpu", "cuda", "mps"})
    default_model = BUNDLED_CT2_MODEL
    package = "transformers"
    requires = (("transformers", "transformers"), ("torch", "torch"))
    extra = "transformers"
    runtime = "torch"
    compute_clock = "process_cpu"  # in this process, in worker threads (see Engine)
    options: ClassVar[dict[str, Any]] = {
        "dtype": _choice(DTYPES),
        "attn_implementation": _choice(ATTENTION),
        **DECODING_OPTIONS,
    }

    def __init__(self, model: Any, processor: tuple[Any, Any], device: Device, *, dtype: str,
                 decode: dict[str, Any], source: str) -> None:
        self._model = model
        self._features, self._tokenizer = processor
        self.device = device
        self.dtype = dtype
        self.decode = decode
        self.source = source
        self._generate = _generate_kwargs(model.generation_config, decode, source)

    @classmethod
    def load(cls, spec: ModelSpec, device: Device) -> TransformersEngine:
        cls.require()
        import torch

        name = spec.model or cls.default_model
        dtype = str(spec.option("dtype", "float16" if device.kind == "cuda" else "float32"))
        kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype), "use_safetensors": True}
        if (attention := spec.option("attn_implementation", None)) is not None:
            kwargs["attn_implementation"] = str(attention)
        folder = _local_folder(name)
        what = f"transformers:{name}"
        if folder is not None:
            model, processor = _from_pretrained(str(folder), kwargs, what, local_only=True)
            source = str(folder)
        else:
            hub_id = _hub_id(name)
            model, processor = fetch(what, lambda local: _from_pretrained(hub_id, kwargs, what,
                                                                          local_only=local))
            source = hub_id
        model.eval()
        if device.kind != "cpu":
            try:
                model = model.to(device.torch_name)
            except (RuntimeError, TypeError) as exc:
                raise EngineUnavailable(f"{what}: cannot move to {device} ({exc})") from exc
        engine = cls(model, processor, device, dtype=dtype, decode=decoding_options(spec),
                     source=source)
        if device.kind == "mps":
            engine._probe(what)
        return engine

    def _probe(self, what: str) -> None:
        """One decode of a second of silence: an MPS that cannot run the model fails here."""
        try:
            self.transcribe(np.zeros(SAMPLE_RATE, dtype=np.float32))
        except Exception as exc:
            raise EngineUnavailable(f"{what} on {self.device}: loads but cannot run "
                                    f"({type(exc).__name__}: {exc}); not reported as an MPS result"
                                    ) from exc

    def transcribe(self, audio: npt.NDArray[np.float32]) -> str:
        return self.transcribe_batch([audio])[0]

    def transcribe_batch(self, audio: Sequence[npt.NDArray[np.float32]]) -> list[str]:
        if not audio:
            return []
        import torch

        pieces, owners = split_pieces(audio)
        features = self._features([np.asarray(p) for p in pieces], sampling_rate=SAMPLE_RATE,
                                  return_tensors="pt").input_features
        features = features.to(self._model.device, dtype=self._model.dtype)
        with torch.inference_mode():
            ids = self._model.generate(features, **self._generate)
        texts = self._tokenizer.batch_decode(ids, skip_special_tokens=True)
        return [text.strip() for text in join_pieces(texts, owners, len(audio))]

    def weights_device(self) -> str:
        from asrbench.hardware.runtimes import torch_module_device

        return torch_module_device(self._model)

    def info(self) -> dict[str, Any]:
        import torch

        return {
            **super().info(),
            "torch_version": torch.__version__,
            "precision": self.dtype,
            "backend": _BACKENDS[self.device.kind],
            "attn_implementation": getattr(self._model.config, "_attn_implementation", None),
            "model_path": self.source,
            "decoding": dict(self.decode),
        }


def _generate_kwargs(config: Any, decode: dict[str, Any], source: str) -> dict[str, Any]:
    """``generate`` arguments for the shared decoding options."""
    temperature = float(decode["temperature"])
    kwargs: dict[str, Any] = {
        "num_beams": int(decode["beam_size"]),
        "do_sample": temperature > 0,
        "return_timestamps": not decode["without_timestamps"],
    }
    if temperature > 0:
        kwargs["temperature"] = temperature
    language = decode["language"]
    if getattr(config, "is_multilingual", True):
        kwargs.update(language=language, task="transcribe")
    elif language != "en":
        raise ConfigError(f"transformers:{source}: an English-only model cannot transcribe "
                          f"language={language!r}; use language=en")
    return kwargs


def _local_folder(name: str) -> Path | None:
    """A local model folder for ``name`` (CTranslate2 ones converted), or ``None`` for a Hub id."""
    from asrbench.engines.convert_hf import cached_transformers_model

    path = Path(name).expanduser()
    if path.is_dir():
        if (path / "model.bin").is_file():
            return cached_transformers_model(path, cache_dir())
        if (path / "config.json").is_file():
            return path
        raise EngineError(f"transformers:{name}: {path} holds neither a transformers model "
                          "(config.json) nor a CTranslate2 one (model.bin)")
    if name == BUNDLED_CT2_MODEL and (bundled := bundled_ct2_model()) is not None:
        return cached_transformers_model(bundled, cache_dir())
    if path.exists() or path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1:
        raise EngineError(f"transformers:{name}: no such model folder")
    return None


def _hub_id(name: str) -> str:
    """A Hub id for a bare Whisper size name (``small.en`` → ``openai/whisper-small.en``)."""
    if "/" in name:
        return name
    if name in WHISPER_SIZES:
        return "openai/whisper-" + {"large": "large-v3", "turbo": "large-v3-turbo"}.get(name, name)
    raise EngineError(f"transformers:{name}: not a Hub id (owner/name), a folder, or one of "
                      f"{', '.join(WHISPER_SIZES)}")


def _from_pretrained(where: str, kwargs: dict[str, Any], what: str, *,
                     local_only: bool) -> tuple[Any, tuple[Any, Any]]:
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration, WhisperTokenizer

    try:
        model = WhisperForConditionalGeneration.from_pretrained(
            where, local_files_only=local_only, **kwargs)
        features = WhisperFeatureExtractor.from_pretrained(where, local_files_only=local_only)
        tokenizer = WhisperTokenizer.from_pretrained(where, local_files_only=local_only)
    except (OSError, ValueError, ImportError) as exc:
        if local_only and not Path(where).is_dir():
            raise  # not cached: fetch tries online next
        raise EngineError(f"{what}: cannot load {where} ({type(exc).__name__}: "
                          f"{_first_line(exc)})") from exc
    return model, (features, tokenizer)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no message"
