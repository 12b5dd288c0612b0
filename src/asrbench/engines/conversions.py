"""The cache of converted model folders: each target format built once per source model, atomically.

A converted folder lives under the asrbench cache folder as ``<format>-<source name>-<model.bin
size>/`` and carries ``asrbench-source.json``, the stamp of the CTranslate2 model it was made from
(:func:`asrbench.engines.convert.source_stamp`). It is built in a temporary folder beside its final
place and renamed into place, stamp included, so a reader (another xdist worker, an interrupted run)
sees a whole folder or none; a stale one is rebuilt.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from asrbench.core.files import write_atomic
from asrbench.engines.convert import ConversionError, source_stamp

__all__ = ["STAMP", "cached_folder", "write_folder_atomic", "write_new_folder"]

#: The file inside a converted folder that names its source.
STAMP = "asrbench-source.json"


def write_folder_atomic(dest: Path, build: Callable[[Path], None]) -> Path:
    """Call ``build(folder)`` on an empty temporary folder beside ``dest``, then rename it to ``dest``.

    An existing ``dest`` is replaced; a failed build leaves ``dest`` as it was and no temporary folder.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        build(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        if dest.exists():
            old = dest.parent / f"{tmp.name}.old"
            os.replace(dest, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def write_new_folder(dest: Path, build: Callable[[Path], None]) -> Path:
    """:func:`write_folder_atomic` for a user-named folder: one that exists and holds files is
    refused rather than replaced."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConversionError(f"{dest}: already exists and is not an empty folder; name a new one")
    if dest.is_dir():
        dest.rmdir()
    return write_folder_atomic(dest, build)


def cached_folder(source: Path, cache_dir: Path, fmt: str,
                  build: Callable[[Path, Path], None]) -> Path:
    """The ``fmt`` conversion of the CTranslate2 folder ``source``, built by ``build(source, folder)``
    only when absent or stale."""
    stamp = source_stamp(source)
    dest = Path(cache_dir) / f"{fmt}-{Path(source).resolve().name}-{stamp['size']}"
    if _stamp(dest) == stamp:
        return dest

    def build_stamped(folder: Path) -> None:
        build(source, folder)
        write_atomic(folder / STAMP, json.dumps(stamp))

    try:
        return write_folder_atomic(dest, build_stamped)
    except OSError:
        if _stamp(dest) == stamp:  # another process renamed the same conversion into place first
            return dest
        raise


def _stamp(folder: Path) -> object:
    try:
        return json.loads((folder / STAMP).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
