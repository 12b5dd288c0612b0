"""openai-whisper (PyTorch) engine.

``whisper:tiny.en`` (the default) is the bundled CTranslate2 tiny.en converted once into the cache
folder, so this engine and faster_whisper run the very same weights. Other size names load through
``whisper.load_model`` (which downloads where it can); a ``.pt`` path loads that checkpoint.

Precision: float16 on CUDA, float32 on CPU and MPS. On MPS ``is_available()`` is not enough: the
model is moved there (its sparse ``alignment_heads`` buffer made dense first, as sparse tensors do not
move to MPS in some torch versions) and probed with one decode; any failure skips with the reason.

Batched transcription stacks one log-Mel window per clip (each 30-second window of a longer clip),
built as ``transcribe`` builds them (the whole clip's spectrogram, the last window padded with zeros
after normalisation: :func:`asrbench.data.batching.mel_windows`), and runs a single
``whisper.decode`` over the batch, with the same decoding options.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from asrbench.core.errors import EngineError, EngineUnavailable
from asrbench.data.batching import join_pieces, mel_windows
from asrbench.data.words import WordTiming, timed_words
from asrbench.engines.base import DECODING_OPTIONS, Engine, decoding_options, parse_bool
from asrbench.engines.spec import ModelSpec
from asrbench.engines.weights import BUNDLED_CT2_MODEL, WHISPER_SIZES, bundled_ct2_model, cache_dir
from asrbench.hardware.devices import Device

__all__ = ["WhisperEngine"]


class WhisperEngine(Engine):
    """openai-whisper ``Whisper`` model; options: fp16 and the shared decoding ones."""

    name = "whisper"
    devices = frozenset({"cpu", "cuda", "mps"})
    default_model = BUNDLED_CT2_MODEL
    model_names = WHISPER_SIZES
    package = "openai-whisper"
    requires = (("openai-whisper", "whisper"), ("torch", "torch"))
    extra = "whisper"
    runtime = "torch"
    compute_clock = "process_cpu"  # in this process, in worker threads (see Engine)
    options: ClassVar[dict[str, Any]] = {
        "fp16": parse_bool,
        **DECODING_OPTIONS,
    }

    def __init__(self, model: Any, device: Device, *, fp16: bool, decode: dict[str, Any],
                 source: str) -> None:
        self._model = model
        self.device = device
        self.fp16 = fp16
        self.decode = decode
        self.source = source

    @classmethod
    def load(cls, spec: ModelSpec, device: Device) -> WhisperEngine:
        cls.require()
        import whisper

        name = spec.model or cls.default_model
        source = _checkpoint(name, whisper)
        fp16 = parse_bool(str(spec.option("fp16", device.kind == "cuda")))
        if fp16 and device.kind == "cpu":
            raise EngineError(f"whisper:{name} on cpu: fp16 is not supported on the CPU")
        try:
            # load on the CPU first: moving to MPS needs the alignment-heads fix below
            model = whisper.load_model(source, device="cpu")
        except (RuntimeError, OSError, KeyError, ValueError) as exc:
            raise EngineUnavailable(f"whisper:{name}: cannot load {source} ({exc})") from exc
        if device.kind != "cpu":
            model = _move(model, device, name)
        decode = decoding_options(spec)
        # openai-whisper searches greedily when beam_size is None; 1 would be a beam of one
        decode["beam_size"] = None if decode["beam_size"] == 1 else decode["beam_size"]
        engine = cls(model, device, fp16=fp16, decode=decode, source=source)
        if device.kind == "mps":
            engine._probe(name)
        return engine

    def _probe(self, name: str) -> None:
        """One decode of a second of silence: an MPS that cannot run Whisper fails here."""
        try:
            self.transcribe(np.zeros(16_000, dtype=np.float32))
        except Exception as exc:
            raise EngineUnavailable(
                f"whisper:{name} on {self.device}: loads but cannot run ({type(exc).__name__}: "
                f"{exc}); not reported as an MPS result"
            ) from exc

    takes_prompt = True
    word_timings = True

    def transcribe(self, audio: npt.NDArray[np.float32]) -> str:
        return self.transcribe_prompted(audio, "")

    def transcribe_prompted(self, audio: npt.NDArray[np.float32], prompt: str) -> str:
        return str(self._run(audio, prompt, words=False)["text"]).strip()

    def transcribe_timed(self, audio: npt.NDArray[np.float32],
                         prompt: str = "") -> tuple[WordTiming, ...]:
        result = self._run(audio, prompt, words=True)
        return timed_words((w["word"], w["start"], w["end"])
                           for s in result["segments"] for w in s.get("words", ()))

    def _run(self, audio: npt.NDArray[np.float32], prompt: str, *, words: bool) -> dict[str, Any]:
        import whisper

        return dict(whisper.transcribe(
            self._model, audio, fp16=self.fp16, verbose=None, condition_on_previous_text=False,
            initial_prompt=prompt or None, word_timestamps=words, **self.decode,
        ))

    def weights_device(self) -> str:
        from asrbench.hardware.runtimes import torch_module_device

        return torch_module_device(self._model)

    def transcribe_batch(self, audio: Sequence[npt.NDArray[np.float32]]) -> list[str]:
        if not audio:
            return []
        import torch
        import whisper
        from whisper.audio import HOP_LENGTH, N_SAMPLES

        windows: list[npt.NDArray[np.float32]] = []
        owners: list[int] = []
        for index, clip in enumerate(audio):
            mel = whisper.log_mel_spectrogram(torch.from_numpy(np.asarray(clip, dtype=np.float32)),
                                              n_mels=self._model.dims.n_mels, padding=N_SAMPLES)
            pieces = mel_windows(mel.numpy(), len(clip) // HOP_LENGTH)
            windows += pieces
            owners += [index] * len(pieces)
        if not windows:
            return [""] * len(audio)
        mels = torch.from_numpy(np.stack(windows)).to(self._model.device)
        options = whisper.DecodingOptions(fp16=self.fp16, **self.decode)
        results = whisper.decode(self._model, mels, options)
        return join_pieces([str(r.text) for r in results], owners, len(audio))

    def info(self) -> dict[str, Any]:
        import torch

        return {
            **super().info(),
            "torch_version": str(torch.__version__),
            "precision": "float16" if self.fp16 else "float32",
            "model_path": self.source,
            "decoding": dict(self.decode),
        }


def _checkpoint(name: str, whisper: Any) -> str:
    """A checkpoint path or size name for ``whisper.load_model``; converts the bundled tiny.en."""
    path = Path(name).expanduser()
    if path.is_file():
        return str(path)
    if path.is_dir() and (path / "model.bin").is_file():
        from asrbench.engines.convert import cached_whisper_checkpoint

        return str(cached_whisper_checkpoint(path, cache_dir()))
    if name == BUNDLED_CT2_MODEL and (bundled := bundled_ct2_model()) is not None:
        from asrbench.engines.convert import cached_whisper_checkpoint

        return str(cached_whisper_checkpoint(bundled, cache_dir()))
    if name in whisper.available_models():
        target = Path.home() / ".cache" / "whisper"
        if not any(target.glob(f"{name}*.pt")):
            try:
                whisper._download(whisper._MODELS[name], str(target), in_memory=False)
            except Exception as exc:
                raise EngineUnavailable(
                    f"whisper:{name}: not cached in {target} and could not be downloaded ({exc})"
                ) from exc
        return name
    raise EngineError(f"whisper:{name}: no such checkpoint; valid: a .pt path, a CTranslate2 "
                      f"folder, or one of {', '.join(whisper.available_models())}")


def _move(model: Any, device: Device, name: str) -> Any:
    heads = getattr(model, "alignment_heads", None)
    if heads is not None and heads.is_sparse:
        model.register_buffer("alignment_heads", heads.to_dense(), persistent=False)
    try:
        return model.to(device.torch_name)
    except (RuntimeError, TypeError) as exc:
        raise EngineUnavailable(f"whisper:{name}: cannot move to {device} ({exc})") from exc
