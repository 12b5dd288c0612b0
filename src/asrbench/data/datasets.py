"""Datasets: the bundled smoke set, JSONL manifests and LibriSpeech folders → utterance records.

Collection reads only manifests and transcripts; audio is decoded when a test needs it, so a large
dataset costs nothing until it runs. What is cheap to check is checked at start-up, naming the file
and line: JSON, keys, UTF-8, duplicate ids, missing audio files, and paths that leave the manifest's
folder (allowed with ``--asr-allow-outside-paths``): as written (``..`` or absolute) and as the system
resolves them (a symbolic link inside the folder that leads out of it), so what a dataset may open
is decided by the folder it sits in. Ids come from the manifest (or the name it writes), never from a
link's target. Paths are taken as written: never expanded by a shell (``~`` and ``$VAR`` are plain
characters). Undecodable audio fails its own test, as does a clip shorter than :data:`MIN_SECONDS`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from asrbench.core.errors import AudioError, ConfigError
from asrbench.data.audio import SAMPLE_RATE, load_audio
from asrbench.data.words import WordTiming, parse_words, read_ctm

__all__ = ["MIN_SECONDS", "SMOKE", "Dataset", "Utterance", "UtteranceSpec", "check_dataset",
           "check_outside", "load_dataset", "smoke_manifest"]

SMOKE = "smoke"
#: Shortest clip accepted: under a tenth of a second no engine has a word to find.
MIN_SECONDS = 0.1


@dataclass(frozen=True)
class UtteranceSpec:
    """One dataset item before decoding: where its audio is and what was said."""

    id: str
    path: Path
    text: str
    #: Reference word timings, when the dataset carries them (``None``: it does not).
    words: tuple[WordTiming, ...] | None = None


@dataclass(frozen=True)
class Utterance:
    """One decoded item: float32 mono 16 kHz samples with the reference text."""

    id: str
    dataset: str
    text: str
    audio: npt.NDArray[np.float32] = field(repr=False)
    path: Path | None = None
    sample_rate: int = SAMPLE_RATE
    #: Reference word timings, when the dataset carries them (``None``: it does not).
    words: tuple[WordTiming, ...] | None = None

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
    #: Why items lie outside the manifest's folder (``FILE:LINE: ...``), when allowed to.
    outside: tuple[str, ...] = ()

    def load(self, spec: UtteranceSpec) -> Utterance:
        """Decode one item's audio; :class:`AudioError` when it cannot or it is too short."""
        utterance = Utterance(
            id=spec.id, dataset=self.name, text=spec.text, audio=load_audio(spec.path),
            path=spec.path, words=spec.words,
        )
        if utterance.duration < MIN_SECONDS:
            raise AudioError(f"{spec.path}: {utterance.duration:.3f} s of audio, shorter than the "
                             f"{MIN_SECONDS} s minimum")
        return utterance


def smoke_manifest() -> Path:
    """The bundled smoke set's manifest (five LibriVox clips, public domain)."""
    return Path(str(resources.files("asrbench.smoke").joinpath("smoke.jsonl")))


def load_dataset(value: str, *, base: Path | None = None,
                 allow_outside_paths: bool = False) -> Dataset:
    """Resolve a ``--asr-dataset`` value: ``smoke``, a ``.jsonl`` manifest or a LibriSpeech folder."""
    if value == SMOKE:
        # part of the installed package, not data from elsewhere: an install made of links (Bazel
        # runfiles, a Nix environment) would leave its folder, and no option could lift that
        smoke = _read_manifest(smoke_manifest(), name=SMOKE, allow_outside_paths=True)
        return replace(smoke, outside=())
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    if path.is_dir():
        return _read_librispeech(path, allow_outside_paths=allow_outside_paths)
    if path.is_file():
        return _read_manifest(path, name=path.stem, allow_outside_paths=allow_outside_paths)
    raise ConfigError(
        f"--asr-dataset {value!r}: no such file or folder ({path}); valid: 'smoke', "
        "a JSONL manifest, or a LibriSpeech-layout folder"
    )


def _read_manifest(path: Path, *, name: str, allow_outside_paths: bool = False) -> Dataset:
    """JSONL: one ``{"audio": path relative to the manifest, "text": ..., "id"?: ...}`` per line,
    optionally with reference word timings ``"words": [{"word", "start", "end"}, ...]``."""
    items: list[UtteranceSpec] = []
    try:
        raw = path.read_bytes().removeprefix(b"\xef\xbb\xbf").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read dataset manifest ({exc})") from exc
    folder = Path(os.path.normpath(path.parent.absolute()))
    outside: list[str] = []
    inside = _real(folder, f"{path}: the manifest's folder")
    for number, chunk in enumerate(raw, start=1):
        where = f"{path}:{number}"
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{where}: not UTF-8 text (byte {exc.start + 1} of the line is "
                              f"{chunk[exc.start:exc.start + 1]!r}); save the manifest as UTF-8"
                              ) from None
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise ConfigError(f"{where}: expected an object with 'audio' and 'text'")
        audio, text = record.get("audio"), record.get("text")
        if not isinstance(audio, str) or not isinstance(text, str):
            present = [record[k] for k in ("audio", "text") if k in record]
            if all(isinstance(v, str) for v in present):
                missing = " and ".join(repr(k) for k in ("audio", "text") if k not in record)
                raise ConfigError(f"{where}: missing key {missing}; each line needs 'audio' and "
                                  "'text' ('id' is optional)")
            raise ConfigError(f"{where}: 'audio' and 'text' must both be strings")
        audio_path = _real(folder / audio, f"{where}: audio path {audio!r}")
        leaves = _leaves(folder / audio, audio_path, folder, inside, "the manifest's folder")
        if leaves is not None:
            outside.append(f"{where}: audio path {audio!r} {leaves}; move it inside or pass "
                           "--asr-allow-outside-paths")
            if not allow_outside_paths:
                raise ConfigError(outside[-1])
        if not audio_path.is_file():
            raise ConfigError(f"{where}: audio file {audio_path} does not exist")
        # the name the manifest writes, not its target's: a link keeps the id the manifest gave it
        uid = str(record.get("id") or Path(audio).stem)
        words = None
        if record.get("words") is not None:
            try:
                words = parse_words(record["words"], where=where)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        items.append(UtteranceSpec(uid, audio_path, text, words))
    return check_dataset(Dataset(name, str(path), tuple(items), tuple(outside)))


def _real(path: Path, what: str) -> Path:
    """``path`` as the system resolves it (links followed, then ``..``); a loop is a ConfigError."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a link loop (Python < 3.13)
        raise ConfigError(f"{what} cannot be resolved ({exc})") from None


def _leaves(written: Path, real: Path, folder: Path, inside: Path, name: str) -> str | None:
    """Why ``written`` (resolving to ``real``) lies outside ``folder`` (resolving to ``inside``),
    or ``None`` when it stays in: as written, then as resolved."""
    if not Path(os.path.normpath(written)).is_relative_to(folder):
        return f"leaves {name} {folder}"
    if not real.is_relative_to(inside):
        # a link's target is the dataset's text: quoted when it holds a line break, so one line
        target = str(real) if str(real).isprintable() else repr(str(real))
        return f"leaves {name} {folder} through a symbolic link (to {target})"
    return None


def check_outside(datasets: Iterable[Dataset], *, allowed: bool) -> None:
    """:class:`ConfigError` for the first item outside its manifest's folder, unless ``allowed``."""
    for dataset in datasets:
        if dataset.outside and not allowed:
            raise ConfigError(dataset.outside[0])


def _read_librispeech(root: Path, *, allow_outside_paths: bool = False) -> Dataset:
    """LibriSpeech layout: ``*.trans.txt`` lines ``ID TEXT`` beside ``ID.flac``, at any depth;
    ``*.ctm`` files anywhere in the folder give reference word timings by utterance id.

    Linked folders are not searched; a transcript, clip or CTM file that is a link out of ``root``
    is refused like a manifest's, unless ``allow_outside_paths``.
    """
    items: list[UtteranceSpec] = []
    folder = Path(os.path.normpath(root.absolute()))
    inside = _real(folder, f"--asr-dataset {root}")
    outside: list[str] = []

    def check(written: Path, what: str) -> None:
        leaves = _leaves(written, _real(written, what), folder, inside, "the dataset folder")
        if leaves is not None:
            outside.append(f"{what} {leaves}; move it inside or pass --asr-allow-outside-paths")
            if not allow_outside_paths:
                raise ConfigError(outside[-1])

    timings = _read_ctms(folder, check)
    for transcript in sorted(folder.rglob("*.trans.txt")):
        check(transcript, f"{transcript}: transcript")
        for number, line in enumerate(transcript.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            uid, _, text = line.strip().partition(" ")
            audio_path = transcript.parent / f"{uid}.flac"
            check(audio_path, f"{transcript}:{number}: audio file {audio_path}")
            if not audio_path.is_file():
                raise ConfigError(f"{transcript}:{number}: audio file {audio_path} does not exist")
            items.append(UtteranceSpec(uid, audio_path, text, timings.get(uid)))
    if not items:
        raise ConfigError(f"--asr-dataset {root}: folder holds no LibriSpeech *.trans.txt files")
    return check_dataset(Dataset(root.name, str(root), tuple(items), tuple(outside)))


def _read_ctms(root: Path, check: Callable[[Path, str], None]) -> dict[str, tuple[WordTiming, ...]]:
    """Reference word timings by utterance id from every ``*.ctm`` below ``root``, each file passed
    to ``check`` (the outside-paths check) before it is read."""
    found: dict[str, tuple[WordTiming, ...]] = {}
    for ctm in sorted(root.rglob("*.ctm")):
        check(ctm, f"{ctm}: CTM file")
        try:
            found.update(read_ctm(ctm.read_text(encoding="utf-8").splitlines(), where=str(ctm)))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ConfigError(str(exc) if isinstance(exc, ValueError) and str(exc).startswith(
                str(ctm)) else f"{ctm}: cannot read CTM file ({exc})") from None
    return found


def check_dataset(dataset: Dataset) -> Dataset:
    """``dataset`` itself, once it has utterances and no id twice; else :class:`ConfigError`."""
    if not dataset.items:
        raise ConfigError(f"{dataset.source}: dataset {dataset.name!r} has no utterances")
    seen: set[str] = set()
    for item in dataset.items:
        if item.id in seen:
            raise ConfigError(f"{dataset.source}: utterance id {item.id!r} appears twice")
        seen.add(item.id)
    return dataset
