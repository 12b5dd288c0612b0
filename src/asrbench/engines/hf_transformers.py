"""Hugging Face transformers engine: any speech-recognition family transformers loads, by architecture.

``transformers:tiny.en`` (the default) is the bundled CTranslate2 tiny.en converted once into the
cache folder (:mod:`asrbench.engines.convert_hf`), so this engine runs the very same weights as
faster_whisper and whisper. A CTranslate2 folder is converted the same way; a transformers folder
(``transformers:./my-finetune``) or a Hub id (``nvidia/parakeet-ctc-0.6b``) loads as it is, from the
local cache first and never online under ``HF_HUB_OFFLINE``; only ``.safetensors`` weights load.

The family comes from ``config.json`` (:mod:`asrbench.engines.hf_families`): Whisper decodes as
openai-whisper does (:mod:`asrbench.engines.hf_whisper`: English, greedy, temperature 0 with no
fallback, no timestamps, on the reference's log-Mel windows); Moonshine, Moonshine streaming,
Parakeet CTC/TDT/RNN-T, LASR and the wav2vec2-style CTC models through their own processor and
generation config (:mod:`asrbench.engines.hf_runners`). ``info()`` records the family,
architecture, parameter count, dtype, and the shared decoding options the family ignored. An
unknown architecture, or a local folder that is not a model, is a usage error at start-up
(:meth:`TransformersEngine.check_model`).

Devices are asked of torch (CPU, CUDA, MPS). Precision: float16 on CUDA, float32 on the CPU and MPS
unless ``dtype`` says otherwise. On MPS the model is probed with one decode; a failure skips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from asrbench.core.errors import ConfigError, EngineError, EngineUnavailable
from asrbench.data.audio import SAMPLE_RATE
from asrbench.engines.base import DECODING_DEFAULTS, DECODING_OPTIONS, Engine, decoding_options
from asrbench.engines.hf_families import FAMILIES, Family, family_for, folder_family
from asrbench.engines.spec import ModelSpec
from asrbench.engines.weights import BUNDLED_CT2_MODEL, WHISPER_SIZES, bundled_ct2_model, cache_dir, fetch
from asrbench.hardware.devices import Device

if TYPE_CHECKING:
    from asrbench.engines.streaming import StreamPolicy, StreamSession

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
    """transformers speech models; options: dtype, attn_implementation and the decoding ones."""

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

    def __init__(self, model: Any, processor: Any, device: Device, *, dtype: str,
                 decode: dict[str, Any], source: str, architecture: str) -> None:
        self._model = model
        self.device = device
        self.dtype = dtype
        self.source = source
        self.architecture = architecture
        self.family = FAMILIES[architecture]
        self.decode = {k: v for k, v in decode.items() if k in self.family.honours}
        self.runner = _runner(model, processor, self.family, decode, f"transformers:{source}")
        #: Kyutai STT streams with its own decoder; the rest through LocalAgreement.
        self.native_streaming = self.family.decoder == "kyutai"  # type: ignore[misc]

    @classmethod
    def check_model(cls, spec: ModelSpec) -> None:
        """A local folder must hold a model of a family this engine runs (read from its
        config.json, nothing imported): otherwise a usage error before anything runs."""
        name = spec.model or cls.default_model
        path = Path(name).expanduser()
        what = f"transformers:{name}"
        if not (path.exists() or path.is_absolute() or name.startswith((".", "~"))
                or name.count("/") > 1):
            return  # a size name or a Hub id (owner/name)
        if not path.is_dir():
            raise ConfigError(f"{what}: no such model folder {path}")
        if (path / "model.bin").is_file():
            return  # CTranslate2 Whisper, converted at load
        if not (path / "config.json").is_file():
            raise ConfigError(f"{what}: {path} is not a model folder: it has no config.json "
                              "(transformers) or model.bin (CTranslate2)")
        try:
            folder_family(path, what)
        except EngineError as exc:
            raise ConfigError(str(exc)) from None

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
            architecture, family = folder_family(folder, what)
            model, processor = _from_pretrained(str(folder), architecture, kwargs, what,
                                                 local_only=True)
            source = str(folder)
        else:
            hub_id = _hub_id(name)
            config = fetch(what, lambda local: _hub_config(hub_id, local))
            architecture, family = family_for(config, what)
            model, processor = fetch(what, lambda local: _from_pretrained(
                hub_id, architecture, kwargs, what, local_only=local))
            source = hub_id
        _refuse_ignored(spec, family, what)
        model.eval()
        if device.kind != "cpu":
            try:
                model = model.to(device.torch_name)
            except (RuntimeError, TypeError) as exc:
                raise EngineUnavailable(f"{what}: cannot move to {device} ({exc})") from exc
        engine = cls(model, processor, device, dtype=dtype, decode=decoding_options(spec),
                     source=source, architecture=architecture)
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
        return self.runner.transcribe_batch(audio) if audio else []

    def start_stream(self, policy: StreamPolicy | None = None) -> StreamSession:
        """Kyutai STT's own frame-by-frame decoder (``policy`` ignored); every other family
        LocalAgreement-n over :meth:`transcribe`, a family built for streaming whose transformers
        API has no incremental decoder (Moonshine streaming) recording why in the disclosure."""
        from asrbench.engines.streaming import StreamPolicy

        if self.family.decoder == "kyutai":
            from asrbench.engines.hf_kyutai import KyutaiStream

            return KyutaiStream(self._model, self.runner.processor, self.stream_clock(),
                                f"transformers:{self.source}")
        policy = policy or StreamPolicy()
        if self.family.streaming:
            policy = replace(policy, extra={**policy.extra, "native": self.family.streaming})
        return super().start_stream(policy)

    def weights_device(self) -> str:
        from asrbench.hardware.runtimes import torch_module_device

        return torch_module_device(self._model)

    def info(self) -> dict[str, Any]:
        import torch

        return {
            **super().info(),
            "torch_version": str(torch.__version__),
            "family": self.family.name,
            "family_kind": self.family.kind,
            "architecture": self.architecture,
            "parameters": sum(int(p.numel()) for p in self._model.parameters()),
            "precision": self.dtype,
            "weights_dtype": str(self._model.dtype).removeprefix("torch."),
            "backend": _BACKENDS[self.device.kind],
            "attn_implementation": getattr(self._model.config, "_attn_implementation", None),
            "model_path": self.source,
            "decoding": dict(self.decode),
            "decoding_ignored": list(self.family.ignores),
        }


def _runner(model: Any, processor: Any, family: Family, decode: dict[str, Any], what: str) -> Any:
    from asrbench.engines.hf_runners import CtcRunner, GenerateRunner
    from asrbench.engines.hf_whisper import WhisperRunner

    if family.decoder == "whisper":
        return WhisperRunner(model, processor, decode, what)
    if family.decoder == "ctc":
        return CtcRunner(model, processor, family, decode)
    if family.decoder == "kyutai":
        from asrbench.engines.hf_kyutai import KyutaiRunner

        return KyutaiRunner(model, processor)
    return GenerateRunner(model, processor, family, decode)


def _refuse_ignored(spec: ModelSpec, family: Family, what: str) -> None:
    """A decoding option set on purpose that the family cannot honour is a usage error."""
    for key in family.ignores:
        value = spec.option(key, None)
        if value is not None and DECODING_OPTIONS[key](value) != DECODING_DEFAULTS[key]:
            raise ConfigError(f"option {key}={value}: {what} is a {family.name} model "
                              f"({family.kind}), which ignores {key}; leave it unset")


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


def _hub_config(hub_id: str, local_only: bool) -> dict[str, Any]:
    from transformers import AutoConfig

    config: dict[str, Any] = AutoConfig.from_pretrained(hub_id, local_files_only=local_only).to_dict()
    return config


def _from_pretrained(where: str, architecture: str, kwargs: dict[str, Any], what: str, *,
                     local_only: bool) -> tuple[Any, Any]:
    import transformers

    family = FAMILIES[architecture]
    try:
        if family.decoder == "whisper":
            model = transformers.WhisperForConditionalGeneration.from_pretrained(
                where, local_files_only=local_only, **kwargs)
            processor: Any = (
                transformers.WhisperFeatureExtractor.from_pretrained(where, local_files_only=local_only),
                transformers.WhisperTokenizer.from_pretrained(where, local_files_only=local_only))
        else:
            model = getattr(transformers, architecture).from_pretrained(
                where, local_files_only=local_only, **kwargs)
            processor = transformers.AutoProcessor.from_pretrained(  # type: ignore[no-untyped-call]
                where, local_files_only=local_only)
    except ImportError as exc:
        raise EngineUnavailable(f"{what}: the {family.name} family needs a package that is not "
                                f"installed ({_first_line(exc)})") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if local_only and not Path(where).is_dir():
            raise  # not cached: fetch tries online next
        raise EngineError(f"{what}: cannot load {where} ({type(exc).__name__}: "
                          f"{_first_line(exc)})") from exc
    return model, processor


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no message"
