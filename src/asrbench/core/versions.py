"""Installed package versions, for reports and engine facts."""

from __future__ import annotations

from importlib import metadata

__all__ = ["SOFTWARE", "software", "version"]

#: Packages whose versions every report records.
#: The engines' own packages are added from the engine registry.
SOFTWARE = ("pytest-asrbench", "jiwer", "whisper-normalizer", "numpy", "soxr", "soundfile")


def version(package: str | None) -> str | None:
    """The installed version of ``package``, or ``None`` when it is not installed (or not named)."""
    if package is None:
        return None
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def software(extra: tuple[str, ...] = ()) -> dict[str, str | None]:
    """``{package: version or None}`` for :data:`SOFTWARE` and ``extra`` (the engines' packages)."""
    return {name: version(name) for name in dict.fromkeys((*SOFTWARE, *extra))}
