"""The one family of errors asrbench raises.

Every message names the file, option or model at fault, the cause, and where it helps the valid
choices, so a user can fix the input without reading a traceback.
"""

from __future__ import annotations

__all__ = [
    "AsrBenchError",
    "AudioError",
    "ConfigError",
    "EngineError",
    "EngineUnavailable",
    "UtterancesFailed",
]


class AsrBenchError(Exception):
    """Base of every error asrbench raises on purpose."""


class ConfigError(AsrBenchError):
    """A bad option, ini value, ``[tool.asrbench]`` key or dataset: a usage error at start-up."""


class AudioError(AsrBenchError):
    """An audio file that cannot be read or converted to float32 mono 16 kHz."""


class EngineError(AsrBenchError):
    """An engine failed while loading or transcribing: a real failure, reported as such."""


class EngineUnavailable(AsrBenchError):
    """An engine cannot run here (package, weights or device missing): the test skips with this reason."""


class UtterancesFailed(AsrBenchError):
    """A corpus figure is missing some utterances: each failed in its own test, shown above it."""
