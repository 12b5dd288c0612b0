"""Datasets: the bundled smoke set, JSONL manifests and LibriSpeech folders → utterance records.

Collection reads only manifests and transcripts; audio is decoded when a test needs it, so a large
dataset costs nothing until it runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from asrbench.audio import SAMPLE_RATE, load_audio
from asrbench.errors import ConfigError

__all__ = ["SMOKE", "Dataset", "Utterance", "UtteranceSpec", "load_dataset", "smoke_manifest"]

SMOKE = "smoke"


@dataclass(frozen=True)
class UtteranceSpec:
    """One dataset item before decoding: where its audio is and what was said."""

    id: str
    path: Path
    text: str


@dataclass(frozen=True)
class Utterance:
    """One decoded item: float32 mono 16 kHz samples with the reference text."""

    id: str
    dataset: str
    text: str
    audio: npt.NDArray[np.float32] = field(repr=False)
    path: Path | None = None
    sample_rate: int = SAMPLE_RATE

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return len(self.audio) / self.sample_rate


@dataclass(frozen=True)
class Dataset:
    """A named, ordered set of utterances; ``source`` says where it was read from."""

    name: str
    source: str
    items: tuple[UtteranceSpec, ...]

    def load(self, spec: UtteranceSpec) -> Utterance:
        """Decode one item's audio."""
        return Utterance(
            id=spec.id, dataset=self.name, text=spec.text, audio=load_audio(spec.path),
            path=spec.path,
        )


def smoke_manifest() -> Path:
    """The bundled smoke set's manifest (five LibriVox clips, public domain)."""
    return Path(str(resources.files("asrbench.smoke").joinpath("smoke.jsonl")))


def load_dataset(value: str, *, base: Path | None = None) -> Dataset:
    """Resolve a ``--asr-dataset`` value: ``smoke``, a ``.jsonl`` manifest or a LibriSpeech folder."""
    if value == SMOKE:
        return _read_manifest(smoke_manifest(), name=SMOKE)
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    if path.is_dir():
        return _read_librispeech(path)
    if path.is_file():
        return _read_manifest(path, name=path.stem)
    raise ConfigError(
        f"--asr-dataset {value!r}: no such file or folder ({path}); valid: 'smoke', "
        "a JSONL manifest, or a LibriSpeech-layout folder"
    )


def _read_manifest(path: Path, *, name: str) -> Dataset:
    """JSONL: one ``{"audio": path relative to the manifest, "text": ..., "id"?: ...}`` per line."""
    items: list[UtteranceSpec] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read dataset manifest ({exc})") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise ConfigError(f"{where}: expected an object with 'audio' and 'text'")
        audio, text = record.get("audio"), record.get("text")
        if not isinstance(audio, str) or not isinstance(text, str):
            raise ConfigError(f"{where}: 'audio' and 'text' must both be strings")
        audio_path = (path.parent / audio).resolve()
        if not audio_path.is_file():
            raise ConfigError(f"{where}: audio file {audio_path} does not exist")
        uid = str(record.get("id") or audio_path.stem)
        items.append(UtteranceSpec(uid, audio_path, text))
    return _checked(Dataset(name, str(path), tuple(items)))


def _read_librispeech(root: Path) -> Dataset:
    """LibriSpeech layout: ``*.trans.txt`` lines ``ID TEXT`` beside ``ID.flac``, at any depth."""
    items: list[UtteranceSpec] = []
    for transcript in sorted(root.rglob("*.trans.txt")):
        for number, line in enumerate(transcript.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            uid, _, text = line.strip().partition(" ")
            audio_path = transcript.parent / f"{uid}.flac"
            if not audio_path.is_file():
                raise ConfigError(f"{transcript}:{number}: audio file {audio_path} does not exist")
            items.append(UtteranceSpec(uid, audio_path, text))
    if not items:
        raise ConfigError(f"--asr-dataset {root}: folder holds no LibriSpeech *.trans.txt files")
    return _checked(Dataset(root.name, str(root), tuple(items)))


def _checked(dataset: Dataset) -> Dataset:
    if not dataset.items:
        raise ConfigError(f"{dataset.source}: dataset {dataset.name!r} has no utterances")
    seen: set[str] = set()
    for item in dataset.items:
        if item.id in seen:
            raise ConfigError(f"{dataset.source}: utterance id {item.id!r} appears twice")
        seen.add(item.id)
    return dataset
