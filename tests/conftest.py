"""Shared test set-up: a host-independent, cache-isolated, skip-audited test session.

- pytester's in-process runs unload every module first imported inside them; torch cannot be
  imported twice in one process, so every test outside ``tests/benchmarks`` imports it first (in
  the CPU-only simulation below). A benchmark-only run does not: torch is then imported only by an
  engine that needs it, and a faster-whisper run's memory figures stay free of it. asrbench's own
  modules are all imported once collection has found a pytester test, before any runs: otherwise
  the first in-process run's fresh copies (a normaliser registry, the protocol's clock) would be
  unloaded and a later run would see other copies, and a test file would pass only after others.
  A benchmark-only run imports only what it uses.
- Every cache a test could write (asrbench's converted weights, Hugging Face, XDG) points into a
  temporary folder for the whole session: tests never write into the user's real cache.
- Outside ``tests/benchmarks`` (the suite that benchmarks the real devices of the machine), every test
  sees a CPU-only host: CUDA and MPS are simulated absent, so the plugin's own tests give the same
  result on a CPU box, a CUDA box and an Apple-silicon Mac.
- The suite runs in parallel (``pytest -n auto``, as the README runs it): ``-n auto`` means one
  worker per core, as many as memory holds (:func:`pytest_xdist_auto_num_workers`), and a test's
  own pytest runs (pytester's, in-process or not) never see the worker's xdist variables, so they
  run as a user's plain run does.
- Skips are for absent hardware only: a skip whose reason is not a missing CUDA/MPS device fails the
  run (an installed package that cannot import is an error, never a skip). The one other allowed
  skip is an absent system browser (``headless.NO_BROWSER``), and only while
  ``ASRBENCH_REQUIRE_BROWSER`` is unset.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skip_audit import SkipAudit  # type: ignore[import-not-found]

_CACHE_ROOT = Path(tempfile.mkdtemp(prefix="asrbench-test-cache-"))
for _name, _sub in (("ASRBENCH_CACHE_DIR", "asrbench"), ("HF_HOME", "huggingface"),
                    ("XDG_CACHE_HOME", "xdg"), ("TORCH_HOME", "torch")):
    os.environ[_name] = str(_CACHE_ROOT / _sub)
os.environ["HF_HUB_OFFLINE"] = "1"  # no test may reach the network


def _read_installed_packages_once() -> None:
    """Every pytest run reads every installed package's entry points (plugin autoload) and its
    plugins' file lists (assertion rewriting): some 0.1 s per run here, paid again by each of the
    suite's in-process pytester runs. Nothing is installed while the suite runs, so they share one
    reading: ``importlib.metadata.distributions()`` answers from the packages found at start-up,
    each with its files read once."""
    import functools
    import importlib.metadata as metadata

    class ReadOnce(metadata.Distribution):
        def __init__(self, dist: metadata.Distribution) -> None:
            self._dist = dist

        @functools.cache  # noqa: B019 - the distributions live as long as the process
        def read_text(self, filename: str) -> str | None:
            return self._dist.read_text(filename)

        def locate_file(self, path: Any) -> Any:
            return self._dist.locate_file(path)

        @functools.cached_property
        def entry_points(self) -> metadata.EntryPoints:  # type: ignore[override]
            return super().entry_points

        @functools.cached_property
        def files(self) -> list[metadata.PackagePath] | None:  # type: ignore[override]
            return super().files

        @functools.cached_property
        def metadata(self) -> Any:  # type: ignore[override]
            return super().metadata

    found = [ReadOnce(dist) for dist in metadata.distributions()]
    everything = metadata.distributions

    def distributions(**kwargs: Any) -> Any:
        return everything(**kwargs) if kwargs else iter(found)

    metadata.distributions = distributions  # type: ignore[assignment]


_read_installed_packages_once()


def _import_asrbench() -> None:
    """Every asrbench module, now (see above); none imports an engine's package at module level."""
    import importlib
    import pkgutil

    import asrbench

    for module in pkgutil.walk_packages(asrbench.__path__, "asrbench."):
        importlib.import_module(module.name)

BENCHMARKS = Path(__file__).parent / "benchmarks"


def simulate_cpu_only_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make torch (and CTranslate2) report no CUDA device and no MPS, whatever the host has."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    mps = getattr(torch.backends, "mps", None)
    if mps is not None:
        monkeypatch.setattr(mps, "is_available", lambda: False)
        monkeypatch.setattr(mps, "is_built", lambda: False)
    try:  # imported now, so a later import inside a test finds it patched
        import ctranslate2 as ct2
    except ImportError:
        ct2 = None
    if ct2 is not None and hasattr(ct2, "get_cuda_device_count"):
        monkeypatch.setattr(ct2, "get_cuda_device_count", lambda: 0)
    monkeypatch.setitem(sys.modules, "pynvml", None)  # NVML, asked before any library: absent


_frozen: list[bool] = []


@pytest.fixture(autouse=True)
def _cpu_only_host(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if BENCHMARKS in Path(str(request.node.path)).parents:
        return  # the benchmark suite measures the machine's real devices
    simulate_cpu_only_host(monkeypatch)
    if not _frozen:
        # every model release runs gc.collect(), which in this process (torch, every module)
        # walks a few hundred thousand long-lived objects: exempted once, a collection takes
        # microseconds instead of a quarter of a second; objects made later are collected as usual
        gc.freeze()
        _frozen.append(True)


class BrokenImport:
    """A meta-path finder that makes importing ``name`` raise ``error``, as a broken install does."""

    def __init__(self, name: str, error: BaseException) -> None:
        self.name, self.error = name, error

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname == self.name or fullname.startswith(self.name + "."):
            raise self.error
        return None


@pytest.fixture
def break_import(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, BaseException], None]:
    """``break_import("liquid_audio", RuntimeError(...))``: that module now fails to import."""

    def apply(name: str, error: BaseException) -> None:
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            monkeypatch.delitem(sys.modules, module)
        monkeypatch.setattr(sys, "meta_path", [BrokenImport(name, error), *sys.meta_path])

    return apply


#: What one worker may hold once it has run the engine tests: several real models at once
#: (openai-whisper's tiny.en alone takes about 3 GiB of RSS on the CPU).
WORKER_MEMORY = 6 * 2**30
_XDIST_VARIABLES = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto``: a worker per usable core, but no more than memory holds (``WORKER_MEMORY``
    each), so a many-core laptop does not swap; ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    import psutil

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, psutil.virtual_memory().total // WORKER_MEMORY))


#: Under ``pytest -n``, the tests under these folders run on one worker, one after the other: they
#: share models and transcripts made once per process (tests/engines/conftest.py), which a second
#: worker would make again. Everything else is handed out test by test, as ``--dist load`` does.
TOGETHER = ("tests/engines/",)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``-n``'s default ``--dist load``, with the :data:`TOGETHER` folders each kept on one worker
    (xdist's ``loadgroup`` would, but its group names do not reach pytest 9's node ids)."""
    if config.getvalue("dist") != "load":
        return None  # another --dist, chosen on the command line
    from xdist.scheduler import LoadScopeScheduling

    class Together(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return next((folder for folder in TOGETHER if nodeid.startswith(folder)), nodeid)

    return Together(config, log)


@pytest.fixture(autouse=True)
def _runs_outside_xdist(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test's own pytest run is a plain run: under a worker's ``PYTEST_XDIST_WORKER``,
    pytest-benchmark would take it for an xdist worker and disable itself (no saved run, no json)."""
    for name in _XDIST_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SkipAudit(), "asrbench-skip-audit")  # see tests/skip_audit.py


def pytest_collection_finish(session: pytest.Session) -> None:
    """Before any in-process pytester run: every asrbench module (see above), and soxr, which
    asrbench imports when it first resamples and which, a nanobind extension, aborts the process if
    imported again after an in-process run unloaded it."""
    if any("pytester" in getattr(item, "fixturenames", ()) for item in session.items):
        _import_asrbench()
        import soxr  # noqa: F401


@pytest.fixture(autouse=True)
def _pytester_runs_without_hypothesis(request: pytest.FixtureRequest,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """pytester's runs (in-process and subprocess) load no hypothesis plugin, as this repository's
    own runs do not (pyproject.toml): it imports all of hypothesis at the end of each run, and an
    in-process run ended by a usage error leaves hypothesis counting itself still initialising,
    which fails the property tests that run later."""
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")  # it clears PYTEST_ADDOPTS when it starts
        addopts = os.environ.get("PYTEST_ADDOPTS", "")
        monkeypatch.setenv("PYTEST_ADDOPTS", f"{addopts} -p no:hypothesispytest".strip())


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_CACHE_ROOT, ignore_errors=True)
