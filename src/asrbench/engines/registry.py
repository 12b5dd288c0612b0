"""Which engines exist: the built-in table, entry points (group ``asrbench.engines``) and
:func:`register_engine`, each engine class imported only when first asked for.

Adding a built-in engine is one :data:`BUILTIN` line (plus its module and extra); the pytest
markers and the recorded package versions are read from here.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib import metadata
from typing import TYPE_CHECKING, NamedTuple

from asrbench.core.errors import ConfigError

if TYPE_CHECKING:
    from asrbench.engines.base import Engine

__all__ = ["BUILTIN", "Builtin", "engine_class", "engine_names", "engine_packages", "register_engine"]


class Builtin(NamedTuple):
    """A built-in engine: its class as ``"module:Class"`` and the distributions whose versions
    every report records."""

    target: str
    packages: tuple[str, ...]


#: The built-in engines, by registry name (also their pytest marker).
BUILTIN: dict[str, Builtin] = {
    "faster_whisper": Builtin("asrbench.engines.faster_whisper:FasterWhisperEngine",
                              ("faster-whisper", "ctranslate2")),
    "whisper": Builtin("asrbench.engines.whisper:WhisperEngine", ("openai-whisper", "torch")),
    "lfm2_5_audio": Builtin("asrbench.engines.lfm:LfmAudioEngine",
                            ("liquid-audio", "torch", "torchaudio")),
    "transformers": Builtin("asrbench.engines.hf_transformers:TransformersEngine", ("transformers", "torch")),
    "mlx_whisper": Builtin("asrbench.engines.mlx_whisper:MlxWhisperEngine", ("mlx-whisper", "mlx")),
    "whisper_cpp": Builtin("asrbench.engines.whisper_cpp:WhisperCppEngine", ("pywhispercpp",)),
    "pocketsphinx": Builtin("asrbench.engines.pocketsphinx:PocketsphinxEngine", ("pocketsphinx",)),
}

_registered: dict[str, str | type[Engine]] = {}


def register_engine(name: str, target: str | type[Engine]) -> None:
    """Add or replace an engine: a class, or ``"module:Class"`` imported on first use."""
    _registered[name] = target
    engine_class.cache_clear()


@cache
def _entry_points() -> dict[str, str]:
    """The ``asrbench.engines`` entry points, read once (each read scans every installed package)."""
    return {ep.name: ep.value for ep in metadata.entry_points(group="asrbench.engines")}


def engine_names() -> list[str]:
    """Every engine name known: built in, installed through entry points, registered."""
    return sorted({*BUILTIN, *_entry_points(), *_registered})


def engine_packages() -> tuple[str, ...]:
    """The distributions of every built-in engine, once each, in table order."""
    return tuple(dict.fromkeys(p for b in BUILTIN.values() for p in b.packages))


@cache
def engine_class(name: str) -> type[Engine]:
    """The engine class called ``name``, imported on first use and then remembered."""
    builtin = BUILTIN.get(name)
    target = (_registered.get(name) or _entry_points().get(name)
              or (builtin.target if builtin is not None else None))
    if target is None:
        raise ConfigError(f"unknown engine {name!r}; valid: {', '.join(engine_names())}")
    if isinstance(target, str):
        module_name, _, attr = target.partition(":")
        target = getattr(importlib.import_module(module_name), attr)
    from asrbench.engines.base import Engine

    if not (isinstance(target, type) and issubclass(target, Engine)):
        raise ConfigError(f"engine {name!r}: {target!r} is not an asrbench Engine subclass")
    return target
