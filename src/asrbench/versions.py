"""Installed package versions, for reports and engine facts."""

from __future__ import annotations

from importlib import metadata

__all__ = ["SOFTWARE", "software", "version"]

#: Packages whose versions every report records.
SOFTWARE = ("pytest-asrbench", "torch", "torchaudio", "jiwer", "whisper-normalizer",
            "faster-whisper", "ctranslate2", "openai-whisper", "liquid-audio", "transformers")


def version(package: str | None) -> str | None:
    """The installed version of ``package``, or ``None`` when it is not installed (or not named)."""
    if package is None:
        return None
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def software(packages: tuple[str, ...] = SOFTWARE) -> dict[str, str | None]:
    """``{package: version or None}`` for ``packages``."""
    return {name: version(name) for name in packages}
