"""Public path for the error family (:mod:`asrbench.core.errors`), as engines outside asrbench
import it: ``from asrbench.errors import EngineError``."""

from __future__ import annotations

from asrbench.core.errors import (
    AsrBenchError,
    AudioError,
    ConfigError,
    EngineError,
    EngineUnavailable,
)

__all__ = ["AsrBenchError", "AudioError", "ConfigError", "EngineError", "EngineUnavailable"]
