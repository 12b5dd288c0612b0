"""Engines: one module each behind the small interface in :mod:`asrbench.engines.base`."""

from __future__ import annotations

from asrbench.engines.base import (
    DECODING_DEFAULTS,
    Engine,
    ModelSpec,
    engine_class,
    engine_names,
    parse_model_spec,
    register_engine,
)

__all__ = [
    "DECODING_DEFAULTS",
    "Engine",
    "ModelSpec",
    "engine_class",
    "engine_names",
    "parse_model_spec",
    "register_engine",
]
