"""whisper.cpp engine, through pywhispercpp.

whisper.cpp reads one ggml file. ``whisper_cpp:tiny.en`` (the default) is the bundled CTranslate2
tiny.en converted once into the cache folder (:mod:`asrbench.engines.convert_ggml`), so this engine
runs the very same fp16 weights as faster_whisper and whisper; a CTranslate2 folder is converted the
same way; a ggml file path loads that file; other names (``base.en``, ``small.en-q5_1``) are
pywhispercpp's downloads, taken from its model folder first and fetched only when not offline. Every
file is checked in Python first: whisper.cpp crashes the process on a file it rejects.

Devices are what the installed build has (:class:`asrbench.hardware.runtimes.WhisperCppRuntime`):
cpu always, cuda with a CUDA build, mps with a Metal build. The load log says which backend whisper.cpp
really took; a GPU request that would run on the CPU is refused, never reported under the GPU's name.

Decoding: the shared defaults (English, greedy, temperature 0 and no fallback, no timestamps), beam
search when ``beam_size`` > 1. whisper.cpp transcribes one audio per call, so nothing is batched.
Its new-segment callback marks time to first text: the first segment with text, decoded inside
``whisper_full`` (for a clip under 30 s that is close to the whole call, as it is in whisper.cpp).
"""

from __future__ import annotations

import re
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from asrbench.core.errors import EngineError, EngineUnavailable
from asrbench.core.identity import looks_like_path
from asrbench.engines.base import DECODING_OPTIONS, Engine, decoding_options
from asrbench.engines.convert import ConversionError
from asrbench.engines.first_text import first_text_marker
from asrbench.engines.spec import ModelSpec
from asrbench.engines.weights import BUNDLED_CT2_MODEL, bundled_ct2_model, cache_dir, fetch
from asrbench.hardware import threads
from asrbench.hardware.devices import Device

__all__ = ["GGML_NAMES", "WhisperCppEngine"]

#: The ggml models pywhispercpp downloads by name (whisper.cpp's published files).
GGML_NAMES = (
    "tiny.en", "tiny", "base.en", "base", "small.en", "small", "medium.en", "medium",
    "large-v1", "large-v2", "large-v3", "large-v3-turbo",
    *(f"{size}-{q}" for size in ("tiny.en", "tiny", "base.en", "base", "small.en", "small")
      for q in ("q5_1", "q8_0")),
    *(f"{size}-{q}" for size in ("medium.en", "medium", "large-v2", "large-v3-turbo")
      for q in ("q5_0", "q8_0")),
    "large-v3-q5_0",
)
_USING = re.compile(r"using (\S+) backend")
_GPU = re.compile(r"^(CUDA|MTL|Metal)(\d*)$")


class WhisperCppEngine(Engine):
    """pywhispercpp ``Model`` on a ggml file; options: threads and the shared decoding ones."""

    name = "whisper_cpp"
    devices = frozenset({"cpu", "cuda", "mps"})
    default_model = BUNDLED_CT2_MODEL
    model_names = GGML_NAMES
    package = "pywhispercpp"
    requires = (("pywhispercpp", "pywhispercpp.model"),)
    extra = "whisper-cpp"
    runtime = "whisper_cpp"
    compute_clock = "process_cpu"  # in this process, in worker threads (see Engine)
    incremental = True  # the new-segment callback marks the first segment with text
    options: ClassVar[dict[str, Any]] = {"threads": int, **DECODING_OPTIONS}
    no_batch = ("whisper.cpp transcribes one audio per whisper_full call (whisper_full_parallel "
                "splits one clip across processors; it does not batch clips)")

    def __init__(self, model: Any, device: Device, *, threads: int, decode: dict[str, Any],
                 source: str, precision: str, backend: str) -> None:
        self._model = model
        self.device = device
        self.threads = threads
        self.decode = decode
        self.source = source
        self.precision = precision
        self.backend = backend

    @classmethod
    def load(cls, spec: ModelSpec, device: Device) -> WhisperCppEngine:
        cls.require()
        from pywhispercpp.model import Model

        from asrbench.engines.convert_ggml import TYPES, validate_ggml

        name = spec.model or cls.default_model
        label = f"whisper_cpp:{name}"
        reason = cls.device_unavailable(device)
        if reason is not None:
            raise EngineUnavailable(f"{label}: {reason}")
        path = _ggml_file(name, label)
        try:
            checked = validate_ggml(path)  # whisper.cpp would crash the process on a bad file
        except ConversionError as exc:
            raise EngineError(f"{label}: {exc}") from exc
        decode = decoding_options(spec)
        n_threads = int(spec.option("threads", threads.requested()))
        beam = int(decode["beam_size"])
        if beam < 1 or n_threads < 1:
            raise EngineError(f"{label}: beam_size and threads must be at least 1 "
                              f"(got {beam} and {n_threads})")
        params: dict[str, Any] = {
            "n_threads": n_threads, "language": decode["language"],
            "temperature": decode["temperature"], "temperature_inc": 0.0,  # no fallback
            "no_timestamps": decode["without_timestamps"], "no_context": True,
            "print_progress": False, "print_realtime": False, "print_timestamps": False,
        }
        if beam > 1:
            params["beam_search"] = {"beam_size": beam, "patience": -1.0}
        context: Any = {"use_gpu": device.kind != "cpu", "gpu_device": device.index or 0}
        with tempfile.TemporaryDirectory() as folder:
            log = Path(folder) / "load.log"
            try:
                model = Model(str(path), params_sampling_strategy=int(beam > 1),
                              redirect_whispercpp_logs_to=str(log), context_params=context,
                              **params)
            except Exception as exc:  # the binding raises plain RuntimeErrors
                raise EngineError(f"{label}: whisper.cpp cannot load {path} "
                                  f"({type(exc).__name__}: {exc})") from exc
            backend = _backend(log.read_text(errors="replace") if log.is_file() else "")
        if device.kind != "cpu" and _GPU.match(backend) is None:
            raise EngineUnavailable(f"{label} on {device}: whisper.cpp found no GPU backend and "
                                    f"would run on {backend}; not reported as a {device.kind} result")
        precision = "float16" if checked.wtype == 1 else TYPES[checked.wtype][0]
        return cls(model, device, threads=n_threads, decode=decode, source=str(path),
                   precision=precision, backend=backend)

    def transcribe(self, audio: npt.NDArray[np.float32]) -> str:
        samples = np.ascontiguousarray(audio, dtype=np.float32)
        mark = first_text_marker()  # whisper.cpp calls back from inside whisper_full

        def on_segment(segment: Any) -> None:
            text = str(segment.text).strip()
            if text and not (text.startswith("[") and text.endswith("]")):
                mark()  # words are decoded (not "[BLANK_AUDIO]"): time to first text

        # whisper_full runs to the end before returning: the segments are the finished work
        segments = self._model.transcribe(samples, new_segment_callback=on_segment)
        return " ".join(str(segment.text).strip() for segment in segments).strip()

    def weights_device(self) -> str:
        """Where whisper.cpp put the model, from the backend its load log named."""
        match = _GPU.match(self.backend)
        if match is None:
            return "cpu"
        return f"cuda:{match.group(2) or 0}" if match.group(1) == "CUDA" else "mps"

    def info(self) -> dict[str, Any]:
        from asrbench.hardware.runtimes import WhisperCppRuntime, get_runtime

        runtime = get_runtime(self.runtime)
        built = runtime.backends() if isinstance(runtime, WhisperCppRuntime) else []
        return {
            **super().info(),
            "whisper_cpp_version": _library_version(),
            "backend": f"whisper.cpp {self.backend}",
            "build_backends": built,
            "precision": self.precision,
            "threads": self.threads,
            "model_path": self.source,
            "decoding": dict(self.decode),
        }


def _backend(log: str) -> str:
    """The last backend whisper.cpp's load log says it uses (``CUDA0``, ``MTL0``), else ``CPU``."""
    used = [name for name in _USING.findall(log) if name.upper() not in ("CPU", "BLAS")]
    return used[-1] if used else "CPU"


def _library_version() -> str | None:
    """whisper.cpp's version, from the shared library pywhispercpp ships (``libwhisper.so.1.8.5``)."""
    try:
        files = metadata.files("pywhispercpp") or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        match = re.search(r"libwhisper[^/]*?[.-](\d+\.\d+\.\d+)(?:\.dylib|\.so)?$", str(file))
        if match:
            return match.group(1)
    return None


def _ggml_file(name: str, label: str) -> Path:
    """A ggml file: a path, a converted CTranslate2 folder (the bundled tiny.en), or a download."""
    from asrbench.engines.convert_ggml import cached_ggml

    path = Path(name).expanduser()
    try:
        if path.is_file():
            return path
        if path.is_dir() and (path / "model.bin").is_file():
            return cached_ggml(path, cache_dir())
        if name == BUNDLED_CT2_MODEL and (bundled := bundled_ct2_model()) is not None:
            return cached_ggml(bundled, cache_dir())
    except ConversionError as exc:
        raise EngineError(f"{label}: {exc}") from exc
    if name in GGML_NAMES and not looks_like_path(name):
        return fetch(label, lambda local_only: _download(name, local_only))
    raise EngineError(f"{label}: no such ggml file or CTranslate2 folder; valid: a path, or one of "
                      f"{', '.join(GGML_NAMES)}")


def _download(name: str, local_only: bool) -> Path:
    """pywhispercpp's copy of a published ggml model, downloaded only when ``local_only`` is false."""
    from pywhispercpp.constants import MODELS_DIR
    from pywhispercpp.utils import download_model

    target = Path(MODELS_DIR) / f"ggml-{name}.bin"
    if target.is_file():
        return target
    if local_only:
        raise FileNotFoundError(f"{target} is not downloaded")
    downloaded = download_model(name, str(MODELS_DIR))
    if downloaded is None:
        raise FileNotFoundError(f"pywhispercpp has no model {name!r}")
    return Path(downloaded)
