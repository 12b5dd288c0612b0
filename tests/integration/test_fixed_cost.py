"""What a run does once that it need not do more than once: the fixed cost of a benchmark run.

``benchmarks/fixed_cost.py`` times it against a bare loop; these tests keep the cuts made: no full
garbage collection of asrbench's own at the end of the run (pytest makes one right after), one scan
of the installed packages' entry points, and ``platform.architecture`` (which runs the ``file``
command) asked once per process.
"""

from __future__ import annotations

import gc
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from asrbench.bench import models
from asrbench.core import identity
from asrbench.engines import registry
from conftest import BASE  # type: ignore[import-not-found]

CPU = [*BASE, "--asr-device", "cpu", "--benchmark-disable"]
STUB = Path(__file__).parents[1] / "stub_engine.py"


@pytest.fixture
def collections(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each ``gc.collect()`` asrbench's model cache makes, recorded (pytest's own are not)."""
    made: list[int] = []
    monkeypatch.setattr(models, "gc", SimpleNamespace(collect=lambda: made.append(1)))
    return made


def test_the_end_of_the_run_makes_no_collection_of_its_own(project, collections):
    result = project.runpytest_inprocess(*CPU, "--asr-report", "out.json")
    result.assert_outcomes(passed=4)
    assert collections == []
    run = json.loads((project.path / "out.json").read_text())["runs"][0]
    assert run["memory_kind"].startswith("cpu peak RSS")  # the memory figures are still final


def test_a_second_model_still_finds_the_first_collected(project, collections):
    result = project.runpytest_inprocess(*CPU, "--asr-model", "stub,text=a", "--asr-model",
                                         "stub,text=b", "--asr-max-wer", "1",
                                         "--asr-max-corpus-wer", "1")
    result.assert_outcomes(passed=12)  # three models (BASE names one)
    assert collections == [1, 1]  # one before each later model, none at the end


@pytest.fixture
def fresh_caches():
    registry._entry_points.cache_clear()
    registry.engine_class.cache_clear()
    identity.machine_folder.cache_clear()
    yield
    registry._entry_points.cache_clear()
    registry.engine_class.cache_clear()
    identity.machine_folder.cache_clear()


def test_the_engine_entry_points_are_read_once(monkeypatch, fresh_caches):
    scans: list[str] = []
    real = registry.metadata.entry_points

    def counted(**kwargs):
        scans.append(kwargs["group"])
        return real(**kwargs)

    monkeypatch.setattr(registry.metadata, "entry_points", counted)
    assert "faster_whisper" in registry.engine_names()
    registry.engine_class("faster_whisper")
    registry.engine_names()
    assert scans == ["asrbench.engines"]


def test_the_machine_folder_asks_platform_architecture_once(monkeypatch, fresh_caches):
    calls: list[int] = []
    monkeypatch.setattr(identity.platform, "architecture",
                        lambda: calls.append(1) or ("64bit", "ELF"))
    first = identity.machine_fingerprint()
    assert identity.machine_fingerprint() == first
    assert identity.machine_folder().endswith("-64bit")
    assert calls == [1]


HEAP_PROBE = """
import gc

FROZEN_BEFORE = gc.get_freeze_count()


def test_the_heap_during_the_run(asr_session):
    assert gc.get_freeze_count() {check}
"""
AT_EXIT = """
import atexit
import gc

atexit.register(lambda: print(f"frozen at exit: {gc.get_freeze_count()}"))
"""


def test_a_run_freezes_the_heap_after_collection_and_thaws_it_at_the_end(project):
    shutil.copy(STUB, project.path / "stub_engine.py")  # the subprocess imports it from the project
    project.makepyfile(test_heap=AT_EXIT + HEAP_PROBE.format(check="> FROZEN_BEFORE + 10_000"))
    result = project.runpytest_subprocess(*CPU)
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["frozen at exit: 0"])


def test_a_process_that_froze_objects_itself_is_left_as_it_is(project):
    gc.freeze()  # as this suite's conftest does, after asrbench was imported
    before = gc.get_freeze_count()
    # frozen objects only go (when freed), none are added: the run froze nothing
    project.makepyfile(test_heap=HEAP_PROBE.format(check="<= FROZEN_BEFORE"))
    result = project.runpytest_inprocess(*CPU)
    result.assert_outcomes(passed=5)
    assert before - 1_000 < gc.get_freeze_count() <= before  # and it unfroze nothing
