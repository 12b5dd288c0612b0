"""PocketSphinx engine: CMU's HMM decoder with the en-us model its PyPI wheel ships, CPU only.

It is old and much less accurate than Whisper; it is here because it decodes incrementally
(``Decoder.process_raw`` on each chunk, ``hyp()`` at any time), so it exercises the native streaming
path on real audio with real weights. Its decoder is single-threaded C running in the calling
thread, so its streaming calls are timed on that thread's CPU clock.

PocketSphinx adapts its cepstral mean (CMN) from one utterance to the next, so a transcript would
depend on the clips decoded before it; every offline utterance here starts from the mean the
decoder had when loaded, and every stream gets a decoder of its own, made when the stream opens
(resetting the mean is not enough after a stream), so each transcript depends on its own audio
only. ``transcribe`` hands the decoder
the whole clip (``full_utt``: the mean is taken over the clip first); a stream cannot, its mean
adapts as audio arrives, so streamed text is worse than offline text (smoke set: 39 % against 27 %
WER).

What its stream promises: ``partial`` is the decoder's current best path; ``committed`` stays empty
until :meth:`PocketsphinxStream.finish`, because the best path (rescored over the lattice at the
end of the utterance) can change any earlier word until then.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from asrbench.core.errors import EngineError
from asrbench.engines.base import Engine
from asrbench.engines.spec import ModelSpec
from asrbench.engines.streaming import ComputeClock, StreamPolicy, StreamUpdate
from asrbench.hardware.devices import Device

__all__ = ["PocketsphinxEngine", "PocketsphinxStream", "pcm16"]

#: The acoustic model, dictionary and language model the pocketsphinx wheel ships.
BUNDLED_MODEL = "en-us"


def pcm16(audio: npt.NDArray[np.float32]) -> bytes:
    """Float samples in [-1, 1] as the little-endian 16-bit PCM pocketsphinx reads."""
    clipped = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    return (clipped * 32767.0).astype("<i2").tobytes()


def new_decoder(**config: Any) -> Any:
    """A pocketsphinx ``Decoder`` on the bundled en-us model at 16 kHz, its log kept quiet."""
    from pocketsphinx import Decoder

    try:
        return Decoder(samprate=16000, loglevel="FATAL", **config)
    except (RuntimeError, ValueError) as exc:
        raise EngineError(f"pocketsphinx:{BUNDLED_MODEL}: cannot create a decoder ({exc})") from exc


class PocketsphinxEngine(Engine):
    """pocketsphinx ``Decoder`` with its bundled en-us model; no options."""

    name = "pocketsphinx"
    devices = frozenset({"cpu"})
    unsupported: ClassVar[dict[str, str]] = {
        "cuda": "pocketsphinx runs on the CPU only (it has no GPU backend)",
        "mps": "pocketsphinx runs on the CPU only (it has no GPU backend)",
    }
    default_model = BUNDLED_MODEL
    model_names = (BUNDLED_MODEL,)
    package = "pocketsphinx"
    requires = (("pocketsphinx", "pocketsphinx"),)
    extra = "pocketsphinx"
    runtime = "cpu"
    native_streaming = True
    compute_clock = "thread_cpu"

    def __init__(self, decoder: Any, device: Device) -> None:
        self._decoder = decoder
        self.device = device
        self._cmn = str(decoder.get_cmn())

    def _start(self) -> Any:
        """The decoder, reset to the loaded cepstral mean and inside a new utterance."""
        self._decoder.set_cmn(self._cmn)
        self._decoder.start_utt()
        return self._decoder

    @classmethod
    def load(cls, spec: ModelSpec, device: Device) -> PocketsphinxEngine:
        cls.require()
        name = spec.model or cls.default_model
        if name != BUNDLED_MODEL:
            raise EngineError(f"pocketsphinx:{name}: no such model; valid: {BUNDLED_MODEL}")
        return cls(new_decoder(), device)

    def transcribe(self, audio: npt.NDArray[np.float32]) -> str:
        self._start().process_raw(pcm16(audio), full_utt=True)
        self._decoder.end_utt()
        return _text(self._decoder)

    def start_stream(self, policy: StreamPolicy | None = None) -> PocketsphinxStream:
        """The decoder's own incremental search; ``policy`` does not apply and is ignored."""
        decoder = new_decoder()
        decoder.start_utt()
        return PocketsphinxStream(decoder)

    def weights_device(self) -> str:
        return "cpu"

    def info(self) -> dict[str, Any]:
        return {**super().info(), "model_path": str(self._decoder.config["hmm"]),
                "precision": "float32", "cpu_threads": 1}


class PocketsphinxStream:
    """One utterance fed to pocketsphinx chunk by chunk (one stream per engine at a time)."""

    compute_clock: ComputeClock = "thread_cpu"

    def __init__(self, decoder: Any) -> None:
        self._decoder = decoder  # already inside an utterance
        self._last = StreamUpdate("")
        self._open = True

    def accept(self, chunk: npt.NDArray[np.float32]) -> StreamUpdate:
        if not self._open:
            raise EngineError("pocketsphinx: accept() after finish() on a stream")
        if np.asarray(chunk).size:
            self._decoder.process_raw(pcm16(chunk), full_utt=False)
            self._last = StreamUpdate(_text(self._decoder))
        return self._last

    def finish(self) -> StreamUpdate:
        if self._open:
            self._open = False
            self._decoder.end_utt()
            text = _text(self._decoder)
            self._last = StreamUpdate(text, text)
        return self._last

    def describe(self) -> dict[str, Any]:
        return {"policy": "native", "engine": "pocketsphinx", "compute_clock": self.compute_clock,
                "committed": "nothing until finish: the best path can change any word until the "
                             "utterance ends"}


def _text(decoder: Any) -> str:
    hypothesis = decoder.hyp()
    return " ".join(str(hypothesis.hypstr).split()) if hypothesis is not None else ""
