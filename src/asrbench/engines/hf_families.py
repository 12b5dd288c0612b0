"""Which speech-recognition families the ``transformers`` engine runs, read from a model's
``config.json`` (``architectures``) without importing transformers.

A family says how it decodes (:attr:`Family.decoder`): ``whisper`` (openai-whisper's windows and
prompt, :mod:`asrbench.engines.hf_whisper`), ``generate`` (the processor, then the model's own
``generate`` and generation config: Moonshine, Parakeet CTC/TDT/RNN-T, LASR) or ``ctc`` (the
processor, one forward pass, greedy CTC: wav2vec2, HuBERT, WavLM, ...), and which of the shared
decoding options mean something for it; the others are ignored and recorded as ignored. Families
transformers ships that need more than audio in (a task prompt, a chat template, a streaming loop)
are named in :data:`UNSUPPORTED` with the reason, so a user reads one line, not a traceback.
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
    kind: str  # "encoder-decoder", "ctc" or "transducer"
    decoder: str  # "whisper", "generate" or "ctc"
    honours: tuple[str, ...] = ()
    #: Whether clips of different lengths can share one padded batch.
    batches: bool = True

    @property
    def ignores(self) -> tuple[str, ...]:
        """Shared decoding options without meaning for this family (greedy, no language)."""
        return tuple(option for option in _ALL if option not in self.honours)


_CTC = Family("wav2vec2-ctc", "ctc", "ctc")

#: Supported families by transformers architecture (the ``architectures`` entry of config.json).
FAMILIES: dict[str, Family] = {
    "WhisperForConditionalGeneration": Family("whisper", "encoder-decoder", "whisper", _ALL),
    "MoonshineForConditionalGeneration": Family("moonshine", "encoder-decoder", "generate",
                                                ("beam_size", "temperature")),
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
    "KyutaiSpeechToTextForConditionalGeneration": f"Kyutai STT is {_STREAMING}",
    "MoonshineStreamingForConditionalGeneration": f"Moonshine streaming is {_STREAMING}",
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
