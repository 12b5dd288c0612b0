"""The markers asrbench puts on its tests: ``asrbench``, one per device kind, one per engine.

Device kinds and the built-in engines are registered when pytest starts, so selections and
decorators naming them are valid under ``--strict-markers`` even in a run that uses no asrbench
fixture; engines added by entry point or ``register_engine`` are registered when asrbench is used.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from asrbench.engines.registry import BUILTIN
from asrbench.hardware.devices import KINDS

if TYPE_CHECKING:
    import pytest

__all__ = ["BUILTIN_ENGINES", "register", "register_engines"]

#: Built-in engine markers, registered even before their engine module is importable, so that
#: test selections written for them (``-m lfm2_5_audio``) are valid under ``--strict-markers``.
BUILTIN_ENGINES = tuple(BUILTIN)


def register(config: pytest.Config) -> None:
    """Markers known before any asrbench test is collected."""
    config.addinivalue_line("markers", "asrbench: a test parametrized by asrbench")
    config.addinivalue_line("markers", "streaming: an asrbench streaming test (--asr-stream)")
    for kind in KINDS:
        config.addinivalue_line("markers", f"{kind}: asrbench test on a {kind} device")
    register_engines(config, BUILTIN_ENGINES)


def register_engines(config: pytest.Config, names: Iterable[str]) -> None:
    """A marker for each engine in ``names`` not yet registered."""
    known = {line.split(":")[0] for line in config.getini("markers")}
    for name in sorted(set(names) - known):
        config.addinivalue_line("markers", f"{name}: asrbench test of the {name} engine")
