"""Run identity: what exactly was measured, so that two runs can never be mistaken for one another.

A run is one engine × model × options × device × dataset × normaliser on one machine. The model is
named by its resolved weights and a short content hash, the dataset by its name and a hash of its
manifest, the machine by a fingerprint of the host. Hashes are cheap: a file is hashed by its size
and its first and last MiB (never the whole multi-gigabyte checkpoint), and results are remembered
per (path, size, modification time).

Labels stay short (``whisper:tiny.en``); when two different models would share one, the label takes
as many parent folders as it needs to tell them apart (``stub:a/answers.json``,
``stub:b/answers.json``).
"""

from __future__ import annotations

import hashlib
import os
import platform
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from asrbench.core.errors import ConfigError

__all__ = [
    "content_hash",
    "dataset_digest",
    "distinct_labels",
    "looks_like_path",
    "machine_fingerprint",
    "machine_folder",
]

_CHUNK = 1 << 20
_SHORT = 12


def _file_digest(path: Path, digest: Any) -> None:
    size = path.stat().st_size
    digest.update(f"{path.name}\0{size}\0".encode())
    with path.open("rb") as handle:
        digest.update(handle.read(_CHUNK))
        if size > 2 * _CHUNK:
            handle.seek(size - _CHUNK)
            digest.update(handle.read(_CHUNK))
        elif size > _CHUNK:
            digest.update(handle.read())


@cache
def _cached_hash(path: str, size: int, mtime: int) -> str:
    root = Path(path)
    digest = hashlib.sha256()
    if root.is_dir():
        for item in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(str(item.relative_to(root)).encode() + b"\0")
            _file_digest(item, digest)
    else:
        _file_digest(root, digest)
    return digest.hexdigest()[:_SHORT]


def content_hash(path: str | Path | None) -> str | None:
    """A short hash of a weights file or folder (size and first/last MiB of each file), or ``None``.

    ``None`` when ``path`` is not an existing file or folder (a hub id not downloaded, say).
    """
    if path is None:
        return None
    target = Path(path).expanduser()
    try:
        stat = target.stat()
        latest = stat.st_mtime_ns
        if target.is_dir():
            latest = max([latest, *(p.stat().st_mtime_ns for p in target.rglob("*") if p.is_file())])
        return _cached_hash(str(target.resolve()), stat.st_size, latest)
    except OSError:
        return None


def dataset_digest(items: Iterable[tuple[str, str, str]]) -> str:
    """A short hash of a dataset's manifest: each item's id, audio file name and reference text.

    Computed over the whole dataset before any sharding, so every shard of one dataset agrees.
    """
    digest = hashlib.sha256()
    for uid, audio, text in items:
        digest.update(f"{uid}\t{audio}\t{text}\n".encode())
    return digest.hexdigest()[:_SHORT]


@cache
def machine_folder() -> str:
    """pytest-benchmark's machine folder name, e.g. ``Linux-CPython-3.12-64bit``; read once
    (``platform.architecture`` runs the ``file`` command at each call)."""
    return "-".join([platform.system(), platform.python_implementation(),
                     ".".join(platform.python_version_tuple()[:2]), platform.architecture()[0]])


def machine_fingerprint() -> dict[str, Any]:
    """Who measured: host name, OS, architecture, processor, CPU count, and a short id of them all.

    Two runs with different ``id`` were timed on different hardware (or at least different hosts):
    their WERs compare, their timings do not.
    """
    facts: dict[str, Any] = {
        "node": platform.node(),
        "system": platform.system(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "folder": machine_folder(),
    }
    key = "|".join(str(facts[k]) for k in ("node", "system", "machine", "processor", "cpu_count"))
    facts["id"] = hashlib.sha256(key.encode()).hexdigest()[:_SHORT]
    return facts


def _tail(model: str, parts: int) -> str:
    pieces = Path(model).parts
    return "/".join(pieces[-parts:]) if pieces else model


def distinct_labels(models: Sequence[tuple[str, str | None, str]]) -> list[str]:
    """Short, unique labels for ``(engine, model, options)`` triples, in order.

    A model path is shown by its file or folder name; when two different paths of one engine and
    options share that name, each takes parent folders until they differ. Two specs naming the same
    file (``a/x.json`` and ``./a/x.json``) cannot be told apart and are refused, naming both.
    """
    def key(model: str | None) -> str | None:
        if model is None or not looks_like_path(model):
            return None
        return str(Path(model).expanduser().resolve())

    resolved = [key(model) for _, model, _ in models]
    for i, (engine_i, model_i, opts_i) in enumerate(models):
        for j in range(i):
            engine_j, model_j, opts_j = models[j]
            same = resolved[i] is not None and resolved[i] == resolved[j]
            if same and (engine_i, opts_i) == (engine_j, opts_j):
                raise ConfigError(f"--asr-model {engine_j}:{model_j} and {engine_i}:{model_i} "
                                  "name the same model; give it once")
    depth = [1] * len(models)

    def label(i: int) -> str:
        engine, model, options = models[i]
        shown = model if model is None or not looks_like_path(model) else _tail(model, depth[i])
        return f"{engine}:{shown}{options}" if shown is not None else f"{engine}{options}"

    while True:
        labels = [label(i) for i in range(len(models))]
        clashes = {i for i in range(len(models)) for j in range(len(models))
                   if i != j and labels[i] == labels[j]}
        if not clashes:
            return labels
        grown = False
        for i in clashes:
            model = models[i][1]
            if model is not None and depth[i] < len(Path(model).parts):
                depth[i] += 1
                grown = True
        if not grown:
            first, second = sorted(clashes)[:2]
            raise ConfigError(f"--asr-model {_spec_text(models[first])} and "
                              f"{_spec_text(models[second])} would share the label "
                              f"{labels[first]!r}; rename one of the files")


def _spec_text(model: tuple[str, str | None, str]) -> str:
    engine, name, options = model
    return f"{engine}:{name}{options}" if name else f"{engine}{options}"


def looks_like_path(model: str) -> bool:
    """Whether a model name is a path (a folder or file) rather than a name the engine knows."""
    return "/" in model or "\\" in model or model.startswith((".", "~"))
