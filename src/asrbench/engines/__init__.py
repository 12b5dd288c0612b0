"""Engines: one module each behind the small interface in :mod:`asrbench.engines.base`, found
through :mod:`asrbench.engines.registry`, with weights from :mod:`asrbench.engines.weights` and
converters in :mod:`asrbench.engines.convert`.

The public names below are loaded on first use, so that reading the registry's table (the pytest
markers do at start-up) imports nothing more.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asrbench.engines.base import DECODING_DEFAULTS, Engine
    from asrbench.engines.registry import engine_class, engine_names, register_engine
    from asrbench.engines.spec import ModelSpec, parse_model_spec
    from asrbench.engines.streaming import StreamPolicy, StreamSession, StreamUpdate, WordTiming

__all__ = [
    "DECODING_DEFAULTS",
    "Engine",
    "ModelSpec",
    "StreamPolicy",
    "StreamSession",
    "StreamUpdate",
    "WordTiming",
    "engine_class",
    "engine_names",
    "parse_model_spec",
    "register_engine",
]

_WHERE = {"DECODING_DEFAULTS": "base", "Engine": "base", "ModelSpec": "spec",
          "parse_model_spec": "spec", "engine_class": "registry", "engine_names": "registry",
          "register_engine": "registry", "StreamPolicy": "streaming", "StreamSession": "streaming",
          "StreamUpdate": "streaming", "WordTiming": "streaming"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
