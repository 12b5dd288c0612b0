"""The engine interface, model specs, and the registry that finds engines by name.

An engine is one class: ``load(spec, device)`` returns a ready instance, ``transcribe(audio)``
turns float32 mono 16 kHz samples into text, eagerly (the benchmark times this call). Engine modules
import their heavy packages inside ``load`` so that listing or validating engines stays cheap.

Third-party engines register through the ``asrbench.engines`` entry-point group (``name =
"package.module:Class"``) or, from a conftest, with :func:`register_engine`.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from asrbench.core import versions
from asrbench.core.errors import EngineError, EngineUnavailable
from asrbench.hardware.devices import Device

if TYPE_CHECKING:
    from asrbench.data.words import WordTiming
    from asrbench.engines.spec import ModelSpec
    from asrbench.engines.streaming import ComputeClock, StreamPolicy, StreamSession

__all__ = [
    "DECODING_DEFAULTS",
    "DECODING_OPTIONS",
    "Engine",
    "ImportStatus",
    "decoding_options",
    "parse_bool",
]

#: Decoding defaults shared by the Whisper-family engines, so that their results compare:
#: English, greedy search, a single temperature (no fallback), no timestamp tokens.
DECODING_DEFAULTS: Mapping[str, Any] = {
    "language": "en",
    "beam_size": 1,
    "temperature": 0.0,
    "without_timestamps": True,
}

def decoding_options(spec: ModelSpec) -> dict[str, Any]:
    """The shared decoding defaults, overridden by the spec's own options, parsed."""
    return {key: DECODING_OPTIONS[key](str(spec.option(key, default)))
            for key, default in DECODING_DEFAULTS.items()}




def parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


#: Parsers for the decoding options, shared by the engines that take them.
DECODING_OPTIONS: Mapping[str, Callable[[str], Any]] = {
    "language": str, "beam_size": int, "temperature": float, "without_timestamps": parse_bool,
}


class Engine(ABC):
    """One loaded model on one device. Subclasses set the class attributes and two methods."""

    #: Registry name, also the pytest marker that selects the engine's tests.
    name: ClassVar[str]
    #: Device kinds this engine can run on (``cpu``, ``cuda``, ``mps``).
    devices: ClassVar[frozenset[str]]
    #: Why a device kind is not supported, shown as the skip reason.
    unsupported: ClassVar[Mapping[str, str]] = {}
    #: Model used when the spec names none.
    default_model: ClassVar[str]
    #: Model names known without a path, checked at start-up (empty: any name goes to ``load``).
    model_names: ClassVar[tuple[str, ...]] = ()
    #: Option name → parser (raises ``ValueError`` on a bad value).
    options: ClassVar[Mapping[str, Callable[[str], Any]]] = {}
    #: Distribution whose version is recorded with results.
    package: ClassVar[str | None] = None
    #: What the engine needs at run time: (distribution, module to import) pairs. A missing
    #: distribution makes the engine unavailable (a skip naming ``extra``); an installed one whose
    #: module fails to import makes it broken (an error): installed is not the same as working.
    requires: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: The ``pytest-asrbench[extra]`` that installs ``requires``.
    extra: ClassVar[str | None] = None
    #: The library that runs the model (see :mod:`asrbench.hardware.runtimes`): asked whether a device is
    #: available, to synchronise, for memory and threads. torch unless the engine says otherwise.
    runtime: ClassVar[str] = "torch"
    #: Whether ``transcribe`` produces text incrementally and calls
    #: :func:`asrbench.engines.first_text.mark_first_text` when its first text exists (time to first
    #: text); engines that return whole transcripts only leave it False (null, with the reason).
    incremental: ClassVar[bool] = False

    device: Device

    @classmethod
    def import_status(cls) -> ImportStatus:
        """Whether the engine's packages are installed and really import (the imports happen)."""
        for dist, _ in cls.requires:
            if _version(dist) is None:
                hint = f" (pip install 'pytest-asrbench[{cls.extra}]')" if cls.extra else ""
                return ImportStatus("absent", f"{cls.name}: {dist} is not installed{hint}")
        # dependencies first, so that the cause shown is the root one (a broken torchaudio, say)
        for dist, module in sorted(cls.requires, key=lambda pair: pair[0] == cls.package):
            try:
                importlib.import_module(module)
            except Exception as exc:  # any failure inside a third-party import means "broken"
                main = cls.package or dist
                cause = f"{type(exc).__name__}: {_first_line(exc)}"
                return ImportStatus("broken", f"{cls.name}: {main} {_version(main)} is installed "
                                              f"but cannot be imported ({cause})")
        return ImportStatus("ok", None)

    @classmethod
    def require(cls) -> None:
        """Raise ``EngineUnavailable`` (absent: skip) or ``EngineError`` (broken: error)."""
        status = cls.import_status()
        if status.state == "absent":
            raise EngineUnavailable(str(status.reason))
        if status.state == "broken":
            raise EngineError(str(status.reason))

    @classmethod
    def unsupported_reason(cls, device: Device) -> str | None:
        """Why this engine cannot run on ``device`` at all, or ``None``."""
        if device.kind in cls.devices:
            return None
        return cls.unsupported.get(
            device.kind, f"{cls.name} does not support {device.kind} devices"
        )

    @classmethod
    def device_unavailable(cls, device: Device) -> str | None:
        """Why ``device`` cannot be used by this engine on this machine, asked of its runtime."""
        from asrbench.hardware.runtimes import get_runtime

        return get_runtime(cls.runtime).unavailable_reason(device)

    @classmethod
    def check_model(cls, spec: ModelSpec) -> None:
        """Raise ``ConfigError`` if ``spec`` names a model that cannot be this engine's, found
        cheaply at start-up (a folder that is not a model); nothing heavy is imported here."""
        return None

    @classmethod
    @abstractmethod
    def load(cls, spec: ModelSpec, device: Device) -> Engine:
        """Load the model; raise ``EngineUnavailable`` when it cannot run here."""

    @abstractmethod
    def transcribe(self, audio: npt.NDArray[np.float32]) -> str:
        """Transcribe float32 mono 16 kHz samples, doing all the work before returning."""

    def weights_device(self) -> str | None:
        """Where the loaded weights really are (``"cuda:0"``, ``"cpu"``), asked of the model itself.

        Checked against the requested device after loading. ``None``: the engine cannot tell.
        """
        return None

    #: Why this engine has no batched transcription: the throughput test's skip reason.
    no_batch: ClassVar[str] = "the engine has no batched transcription (transcribe_batch)"

    def transcribe_batch(self, audio: Sequence[npt.NDArray[np.float32]]) -> list[str]:
        """Optional: transcribe several clips in one batched call; one text per clip, in order.

        Engines that cannot batch leave this alone; :meth:`batch_unsupported_reason` then says why.
        """
        raise NotImplementedError(f"{self.name}: {self.no_batch}")

    @classmethod
    def batch_unsupported_reason(cls) -> str | None:
        """Why :meth:`transcribe_batch` is unavailable, or ``None`` when the engine implements it."""
        if cls.transcribe_batch is not Engine.transcribe_batch:
            return None
        return f"{cls.name}: {cls.no_batch}"

    #: Whether :meth:`start_stream` is the engine's own incremental decoder (not a policy).
    native_streaming: ClassVar[bool] = False
    #: How a streaming call on the CPU is timed. ``wall`` (the default) for engines whose work happens
    #: outside this process (a service, a subprocess); engines that compute in this process set
    #: ``process_cpu``: torch, CTranslate2 (its replica worker thread, even with one intra-op
    #: thread), ggml and MLX compute in threads of their own, which the calling thread's CPU clock
    #: does not see but the process's does. :meth:`stream_clock` refines it per loaded model.
    compute_clock: ClassVar[ComputeClock] = "wall"

    def stream_clock(self) -> ComputeClock:
        """The clock for this model's streaming calls, asked when a session opens.

        On a GPU the work is the device's, which no CPU clock sees: ``wall``. torch on the CPU with
        one intra-op thread computes in the calling thread: ``thread_cpu``, the tightest clock. Any
        other case keeps :attr:`compute_clock`.
        """
        if self.device.kind != "cpu":
            return "wall"
        if self.runtime == "torch" and self.compute_clock == "process_cpu":
            import torch

            if torch.get_num_threads() == 1:
                return "thread_cpu"
        return self.compute_clock

    #: Whether :meth:`transcribe_prompted` passes the prompt to the model (else it is ignored).
    takes_prompt: ClassVar[bool] = False
    #: Whether :meth:`transcribe_timed` gives word timings (the policy then trims its buffer).
    word_timings: ClassVar[bool] = False

    def transcribe_prompted(self, audio: npt.NDArray[np.float32], prompt: str) -> str:
        """Transcribe ``audio`` that continues ``prompt`` (text already said); see ``takes_prompt``."""
        return self.transcribe(audio)

    def transcribe_timed(self, audio: npt.NDArray[np.float32],
                         prompt: str = "") -> tuple[WordTiming, ...]:
        """Optional: the words of ``audio`` with their timings (``word_timings`` says whether)."""
        raise NotImplementedError(f"{self.name}: the engine gives no word timings")

    def start_stream(self, policy: StreamPolicy | None = None) -> StreamSession:
        """Open a streaming session (see :mod:`asrbench.engines.streaming`).

        Engines with a native incremental decoder override this and ignore ``policy``; the others
        stream through LocalAgreement-n over :meth:`transcribe`.
        """
        from asrbench.engines.local_agreement import LocalAgreementSession
        from asrbench.engines.streaming import StreamPolicy

        return LocalAgreementSession(self, policy or StreamPolicy())

    def info(self) -> dict[str, Any]:
        """Facts recorded with results: precision, compute type, threads, versions."""
        return {"engine_version": _version(self.package)}


@dataclass(frozen=True)
class ImportStatus:
    """``ok``, ``absent`` (not installed) or ``broken`` (installed, fails to import), and why."""

    state: str
    reason: str | None

    def __post_init__(self) -> None:
        if self.state not in ("ok", "absent", "broken"):
            raise ValueError(f"unknown import state {self.state!r}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no message"


_version = versions.version
