"""asrbench: benchmark speech recognition models as pytest tests.

Importing this package is cheap: no torch, no engine. The pytest plugin lives in
:mod:`asrbench.plugin`; engines are loaded only when a model is needed.
"""

from __future__ import annotations

from asrbench.core.errors import AsrBenchError, AudioError, ConfigError, EngineError, EngineUnavailable

__all__ = [
    "AsrBenchError",
    "AudioError",
    "ConfigError",
    "EngineError",
    "EngineUnavailable",
    "__version__",
]

__version__ = "0.1.0"
