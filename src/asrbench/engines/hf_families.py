"""Which speech-recognition families the ``transformers`` engine runs, read from a model's
``config.json`` (``architectures``) without importing transformers.

A family says how it decodes (:attr:`Family.decoder`): ``whisper`` (openai-whisper's windows and
prompt, :mod:`asrbench.engines.hf_whisper`), ``generate`` (the processor, then the model's own
``generate`` and generation config: Moonshine, Parakeet CTC/TDT/RNN-T, LASR), ``ctc`` (the
processor, one forward pass, greedy CTC: wav2vec2, HuBERT, WavLM, ...) or ``kyutai`` (Kyutai STT,
offline and natively streamed: :mod:`asrbench.engines.hf_kyutai`), and which of the shared
decoding options mean something for it; the others are ignored and recorded as ignored. A family
built for streaming whose transformers API has no incremental decoder (Moonshine streaming) says
why in :attr:`Family.streaming`: it streams through LocalAgreement like the others, and the
stream's disclosure carries that reason. Families transformers ships that need more than audio in
(a task prompt, a chat template) or a streaming loop not built yet (Voxtral realtime) are named in
:data:`UNSUPPORTED` with the reason, so a user reads one line, not a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asrbench.core.errors import EngineError

__all__ = ["FAMILIES", "UNSUPPORTED", "Family", "family_for", "folder_family"]

_ALL = ("language", "beam_size", "temperature", "without_timestamps")


@dataclass(frozen=True)
class Family:
    """One model family: its name in reports, its kind, how it decodes, what options it honours."""

    name: str
    kind: str  # "encoder-decoder", "ctc", "transducer" or "streaming decoder"
    decoder: str  # "whisper", "generate", "ctc" or "kyutai"
    honours: tuple[str, ...] = ()
    #: Whether clips of different lengths can share one padded batch.
    batches: bool = True
    #: For a model built for streaming: why it still streams through LocalAgreement here.
    streaming: str = ""

    @property
    def ignores(self) -> tuple[str, ...]:
        """Shared decoding options without meaning for this family (greedy, no language)."""
        return tuple(option for option in _ALL if option not in self.honours)


_CTC = Family("wav2vec2-ctc", "ctc", "ctc")
_NOT_NATIVE = ("not native: transformers encodes the whole buffer in one forward (no encoder state "
               "carried between calls) and the decoder cross-attends to every encoder frame, so "
               "new audio can change any word and the model commits nothing; LocalAgreement "
               "re-decodes the buffer and commits what successive decodes agree on")

#: Supported families by transformers architecture (the ``architectures`` entry of config.json).
FAMILIES: dict[str, Family] = {
    "WhisperForConditionalGeneration": Family("whisper", "encoder-decoder", "whisper", _ALL),
    "MoonshineForConditionalGeneration": Family("moonshine", "encoder-decoder", "generate",
                                                ("beam_size", "temperature")),
    "MoonshineStreamingForConditionalGeneration": Family(
        "moonshine-streaming", "encoder-decoder", "generate", ("beam_size", "temperature"),
        streaming=_NOT_NATIVE),
    "KyutaiSpeechToTextForConditionalGeneration": Family("kyutai-stt", "streaming decoder",
                                                         "kyutai", batches=False),
    "ParakeetForCTC": Family("parakeet-ctc", "ctc", "generate"),
    "LasrForCTC": Family("lasr-ctc", "ctc", "generate"),
    "ParakeetForTDT": Family("parakeet-tdt", "transducer", "generate"),
    "ParakeetForRNNT": Family("parakeet-rnnt", "transducer", "generate"),
    "Wav2Vec2ForCTC": _CTC,
    "Wav2Vec2ConformerForCTC": Family("wav2vec2-conformer-ctc", "ctc", "ctc"),
    "Wav2Vec2BertForCTC": Family("wav2vec2-bert-ctc", "ctc", "ctc"),
    "HubertForCTC": Family("hubert-ctc", "ctc", "ctc"),
    "WavLMForCTC": Family("wavlm-ctc", "ctc", "ctc"),
    "Data2VecAudioForCTC": Family("data2vec-audio-ctc", "ctc", "ctc"),
    "UniSpeechForCTC": Family("unispeech-ctc", "ctc", "ctc"),
    "UniSpeechSatForCTC": Family("unispeech-sat-ctc", "ctc", "ctc"),
    "SEWForCTC": Family("sew-ctc", "ctc", "ctc"),
    "SEWDForCTC": Family("sew-d-ctc", "ctc", "ctc"),
}

_STREAMING = "natively streaming; it will run through the streaming contract, not built here yet"
#: Speech families transformers ships that this engine does not run yet, and why.
UNSUPPORTED: dict[str, str] = {
    "CanaryForConditionalGeneration": "Canary needs a task prompt (source and target language, "
                                      "punctuation) that this engine does not build yet",
    "GraniteSpeechForConditionalGeneration": "Granite Speech is an audio LLM driven by a chat "
                                             "prompt that this engine does not build yet",
    "VoxtralForConditionalGeneration": "Voxtral is an audio LLM driven by a chat prompt that this "
                                       "engine does not build yet",
    "VoxtralRealtimeForConditionalGeneration": f"Voxtral realtime is {_STREAMING}",
}


def family_for(config: dict[str, Any], what: str) -> tuple[str, Family]:
    """The architecture named by a ``config.json`` and its family; one-line errors otherwise."""
    architectures = config.get("architectures") or []
    if not architectures:
        raise EngineError(f"{what}: config.json names no architecture (\"architectures\"), so the "
                          "model family is unknown")
    architecture = str(architectures[0])
    if architecture in UNSUPPORTED:
        raise EngineError(f"{what}: {architecture} is not supported: {UNSUPPORTED[architecture]}")
    if architecture not in FAMILIES:
        raise EngineError(f"{what}: {architecture} is not a speech-recognition architecture this "
                          f"engine runs; supported: {', '.join(sorted(FAMILIES))}")
    return architecture, FAMILIES[architecture]


def folder_family(folder: Path, what: str) -> tuple[str, Family]:
    """The family of a local transformers folder, from its ``config.json`` alone."""
    path = folder / "config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise EngineError(f"{what}: {path} cannot be read ({exc})") from exc
    if not isinstance(config, dict):
        raise EngineError(f"{what}: {path} is not a JSON object")
    return family_for(config, what)
