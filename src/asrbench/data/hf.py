"""Hugging Face datasets as an asrbench dataset: ``hf:PATH_OR_NAME[:SPLIT]``.

PATH is a folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``; NAME is a
dataset already in the local Hugging Face cache (``datasets.load_dataset(NAME)`` run once while
online). Audio is read undecoded (``Audio(decode=False)``, since ``datasets`` decodes only through
torchcodec) and decoded here with soundfile into float32 mono 16 kHz, one row at a time when a test
needs it. ``datasets`` is imported only when an ``hf:`` value is used.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from asrbench.core.errors import AudioError, ConfigError
from asrbench.data.audio import load_audio, to_mono_float32
from asrbench.data.datasets import Dataset, Utterance, UtteranceSpec

__all__ = ["HuggingFaceDataset", "load_hf_dataset", "parse_hf_spec"]

ID_COLUMN = "id"
#: Files ``save_to_disk`` writes: a folder holding one is read with ``load_from_disk``.
_SAVED_MARKERS = ("dataset_dict.json", "state.json")


def parse_hf_spec(value: str) -> tuple[str, str | None]:
    """``PATH_OR_NAME[:SPLIT]`` → (path or name, split); a colon inside a path is not a split."""
    target, sep, split = value.rpartition(":")
    if not sep or not target or "/" in split or "\\" in split:
        return value, None
    return target, split or None


@dataclass(frozen=True)
class HuggingFaceDataset(Dataset):
    """A dataset whose items are rows of a Hugging Face table; audio decoded per row on ``load``."""

    table: Any = field(default=None, compare=False, repr=False)
    audio_column: str = "audio"
    rows: tuple[int, ...] = ()

    @cached_property
    def _row_of(self) -> dict[str, int]:
        return {item.id: row for item, row in zip(self.items, self.rows, strict=True)}

    def load(self, spec: UtteranceSpec) -> Utterance:
        row = self._row_of[spec.id]
        where = f"hf:{self.source} row {row} ({self.audio_column})"
        value = self.table[row][self.audio_column]
        return Utterance(id=spec.id, dataset=self.name, text=spec.text,
                         audio=_decode(value, where), path=spec.path)


def _decode(value: Any, where: str) -> Any:
    """An undecoded Audio value ({bytes, path}), a decoded one ({array, sampling_rate}) or a path."""
    import soundfile as sf

    if isinstance(value, str):
        return load_audio(value)
    if not isinstance(value, dict):
        raise AudioError(f"{where}: expected audio, got {type(value).__name__}")
    if value.get("array") is not None:
        return to_mono_float32(value["array"], int(value.get("sampling_rate") or 0), source=where)
    if value.get("bytes"):
        try:
            data, rate = sf.read(io.BytesIO(value["bytes"]), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
            raise AudioError(f"{where}: cannot decode audio ({exc})") from exc
        if data.shape[0] == 0:
            raise AudioError(f"{where}: audio holds no samples")
        return to_mono_float32(data, int(rate), source=where)
    if value.get("path"):
        return load_audio(value["path"])
    raise AudioError(f"{where}: audio value holds neither bytes nor a path")


def _open(target: str, split: str | None, base: Path) -> tuple[Any, str, str]:
    """The table, its source (folder or name) and a dataset name, from disk or the local cache."""
    import datasets

    path = Path(target).expanduser()
    path = path if path.is_absolute() else base / path
    if path.is_dir() and any((path / marker).is_file() for marker in _SAVED_MARKERS):
        try:
            loaded = datasets.load_from_disk(str(path))
        except (FileNotFoundError, ValueError, OSError) as exc:
            raise ConfigError(f"--asr-dataset hf:{target}: {path} is not a folder written by "
                              f"save_to_disk ({exc})") from exc
        source, name = str(path), path.name
    else:
        where = str(path) if path.is_dir() else target  # a folder of data files, or a name
        try:
            loaded = datasets.load_dataset(where, split=split)
        except Exception as exc:  # datasets raises many types for "not here, not reachable"
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise ConfigError(
                f"--asr-dataset hf:{target}: not a save_to_disk folder ({path} does not exist) and "
                f"not loadable from the local Hugging Face cache ({type(exc).__name__}: {first}); "
                "valid: hf:FOLDER[:SPLIT] or hf:NAME[:SPLIT] for a dataset downloaded once with "
                "datasets.load_dataset"
            ) from exc
        source, name = where, where.rstrip("/").rsplit("/", 1)[-1]
        split = None  # already applied
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        if split is None and len(splits) == 1:
            split = splits[0]
        if split not in loaded:
            raise ConfigError(f"--asr-dataset hf:{target}: "
                              f"{'no split given' if split is None else f'no split {split!r}'}; "
                              f"valid: {', '.join(f'hf:{target}:{s}' for s in splits)}")
        return loaded[split], source, f"{name}-{split}" if len(splits) > 1 else name
    if split is not None:
        raise ConfigError(f"--asr-dataset hf:{target}:{split}: {path} holds one split, not a "
                          f"DatasetDict; use hf:{target}")
    return loaded, source, name


def load_hf_dataset(value: str, *, base: Path, audio_column: str = "audio",
                    text_column: str = "text") -> HuggingFaceDataset:
    """Read ``PATH_OR_NAME[:SPLIT]``: reference texts and ids now, audio when a test needs it."""
    import datasets

    target, split = parse_hf_spec(value)
    table, source, name = _open(target, split, base)
    columns = list(table.column_names)
    for option, column in (("--asr-hf-audio-column", audio_column),
                           ("--asr-hf-text-column", text_column)):
        if column not in columns:
            raise ConfigError(f"--asr-dataset hf:{value}: no column {column!r} (set "
                              f"{option}); valid: {', '.join(columns)}")
    if isinstance(table.features[audio_column], datasets.Audio):
        table = table.cast_column(audio_column, datasets.Audio(decode=False))
    texts = list(table[text_column])
    ids = [str(i) for i in table[ID_COLUMN]] if ID_COLUMN in columns else None
    items = []
    for row, text in enumerate(texts):
        if not isinstance(text, str):
            raise ConfigError(f"--asr-dataset hf:{value}: row {row} column {text_column!r} is "
                              f"{type(text).__name__}, not text")
        uid = ids[row] if ids is not None else str(row)
        items.append(UtteranceSpec(uid, Path(f"{source}#{row}"), text))
    if not items:
        raise ConfigError(f"--asr-dataset hf:{value}: dataset has no rows")
    return HuggingFaceDataset(name, source, tuple(items), table=table, audio_column=audio_column,
                              rows=tuple(range(len(items))))
