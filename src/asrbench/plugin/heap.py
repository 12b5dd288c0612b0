"""The garbage collector during a run: what exists once collection ends is frozen.

A full collection walks every tracked object. In a benchmark process (pytest, numpy, the engine's
packages, the collected tests) that is a few hundred thousand objects and some 20-40 ms a pass, and
a run makes several: automatic ones while a model loads, and pytest's own two at the end (its
unraisable-exception check). Once collection is done asrbench collects once and freezes what
survived (``gc.freeze``), so every later pass walks only the objects made since: the model, the
results, and whatever a test leaves behind, which is what pytest's check is for. The freeze is
undone after pytest's own clean-up. A process that froze objects itself since asrbench was
imported (a test suite's conftest, before an in-process run) is left as it is.
"""

from __future__ import annotations

import gc

import pytest

__all__ = ["FROZEN", "HeapFreeze", "register"]

#: Whether this run froze the heap (and so unfreezes it at the end).
FROZEN: pytest.StashKey[bool] = pytest.StashKey()
#: Objects the interpreter holds frozen from its start (a few hundred on CPython 3.12), counted
#: when the plugin is imported: more than these means someone else froze objects since.
_FROZEN_BEFORE = gc.get_freeze_count()


def register(config: pytest.Config) -> None:
    """Called from ``pytest_configure``, before pytest's own plugins configure: the unfreeze is
    then the last clean-up, after pytest's final collection."""
    config.add_cleanup(lambda: _thaw(config))
    config.pluginmanager.register(HeapFreeze(config), "asrbench-heap")


def _thaw(config: pytest.Config) -> None:
    if config.stash.get(FROZEN, False):
        config.stash[FROZEN] = False
        gc.unfreeze()


class HeapFreeze:
    """A pytest plugin object: freezes the heap after collection, in a run that uses asrbench."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from asrbench.plugin import in_use

        if not in_use(self.config) or not gc.isenabled() or gc.get_freeze_count() > _FROZEN_BEFORE:
            return
        gc.collect()  # garbage made so far is found now, as pytest's final check would have
        gc.freeze()
        self.config.stash[FROZEN] = True
