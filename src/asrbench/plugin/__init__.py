"""The pytest plugin: the bridge between pytest and asrbench, hooks and thin fixtures only.

Options are declared in :mod:`asrbench.config.options`, parametrization lives in
:mod:`asrbench.plugin.parametrize`, the baseline gate in :mod:`asrbench.reporting.gates`, state in
:class:`asrbench.bench.session.BenchSession`, timing in :mod:`asrbench.bench.runner`, output in
:mod:`asrbench.reporting.report`.

The plugin is inert until a test asks for an asrbench fixture: until then it reads no
configuration, no ``pyproject.toml`` and no dataset, and imports nothing heavy. The first such test
builds the settings once (a mistake in them ends the run as a usage error after collection).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

from asrbench.config import options
from asrbench.core.errors import ConfigError, EngineUnavailable
from asrbench.engines.registry import engine_packages
from asrbench.plugin import heap, markers

if TYPE_CHECKING:
    from asrbench.bench.models import LoadedModel
    from asrbench.bench.results import RunSummary, ThroughputResult, UtteranceResult
    from asrbench.bench.session import BenchSession
    from asrbench.data.datasets import Dataset, Utterance
    from asrbench.hardware.devices import Device
    from asrbench.plugin.parametrize import Case
    from asrbench.plugin.streaming import StreamingRun
    from asrbench.plugin.xdist import Controller
    from asrbench.reporting.gates import Baseline
    from asrbench.reporting.history import SavedRun

BENCH: pytest.StashKey[BenchSession] = pytest.StashKey()
COMPLETE: pytest.StashKey[bool] = pytest.StashKey()
BASELINE: pytest.StashKey[SavedRun | None] = pytest.StashKey()
FAILED: pytest.StashKey[pytest.UsageError] = pytest.StashKey()
SUMMARIES: pytest.StashKey[list[RunSummary]] = pytest.StashKey()
REGRESSION: pytest.StashKey[bool] = pytest.StashKey()
WRITTEN: pytest.StashKey[list[str]] = pytest.StashKey()
MISSING: pytest.StashKey[list[str]] = pytest.StashKey()
#: Settings as this process uses them (an xdist worker writes no file); the results' source.
ADJUST: pytest.StashKey[Callable[[Any], Any]] = pytest.StashKey()
RESULTS: pytest.StashKey[Controller] = pytest.StashKey()
NOTES: pytest.StashKey[list[str]] = pytest.StashKey()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """asrbench's own hooks, and the built-in dataset formats as their default implementations."""
    from asrbench import hookspec
    from asrbench.data import formats

    pluginmanager.add_hookspecs(hookspec)
    formats.register(pluginmanager)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    markers.register(config)
    heap.register(config)  # the garbage collector after collection (see asrbench.plugin.heap)
    if hasattr(config, "workerinput") or config.getoption("dist", "no") != "no":
        from asrbench.plugin import xdist

        xdist.register(config)  # its worker or controller part: only when xdist distributes


def in_use(config: pytest.Config) -> bool:
    """Whether this run has used asrbench (built its settings)."""
    return BENCH in config.stash


def bench(config: pytest.Config) -> BenchSession:
    """The run's :class:`BenchSession`, built on first use: settings, datasets, baseline."""
    if BENCH in config.stash:
        return config.stash[BENCH]
    if FAILED in config.stash:
        raise config.stash[FAILED]
    from asrbench.bench.session import BenchSession
    from asrbench.engines import weights
    from asrbench.engines.registry import engine_names
    from asrbench.plugin import hookcalls as hooks
    from asrbench.plugin import junit, outcomes, outputs, persist, streaming, xdist
    from asrbench.plugin.parametrize import case_of
    from asrbench.reporting import disclosure, gates

    try:
        hooks.register_normalisers(config)
        settings = config.stash.get(ADJUST, lambda s: s)(options.settings_from_config(config))
        datasets = hooks.load_datasets(config, settings)
        persist.check_outputs(config, settings.report, overwrite=settings.report_overwrite)
        baseline = (None if settings.baseline is None
                    else gates.load_baseline(settings.baseline, persist.storage(config)))
        gates.check_timing_gate(baseline, settings.baseline_rtf_margin, shard=bool(settings.shard),
                                distributed=xdist.distributed(config))
    except ConfigError as exc:
        config.stash[FAILED] = pytest.UsageError(f"asrbench: {exc}")
        raise config.stash[FAILED] from None
    markers.register_engines(config, engine_names())
    weights.use_cache_dir(settings.cache_dir)
    config.stash[BASELINE] = baseline
    config.stash[BENCH] = session = BenchSession(settings, datasets=datasets)
    config.stash[outputs.DISCLOSED] = disclosure.before_run()
    config.pluginmanager.register(outcomes.Outcomes(session.store, case_of), "asrbench-outcomes")
    config.pluginmanager.register(junit.Properties(session.store, case_of), "asrbench-junit")
    config.pluginmanager.register(streaming.StreamingRun(session), streaming.NAME)
    if settings.report is not None:
        config.pluginmanager.register(persist.Checkpoints(
            settings.report, lambda complete: _report(config, complete=complete)),
            "asrbench-checkpoints")
    persist.atomic_benchmark_json(config)
    return session


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "_asr_case" not in metafunc.fixturenames:
        return
    try:
        session = bench(metafunc.config)
    except pytest.UsageError:
        return  # raised once collection is done, as a usage error rather than a collection error
    from asrbench.plugin.parametrize import cases

    metafunc.parametrize("_asr_case", cases(session.settings, session.datasets.datasets,
                                            metafunc.fixturenames), indirect=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A settings mistake ends the run here; otherwise each model's tests are grouped.

    Throughput tests are deselected unless ``--asr-batch-size`` turns throughput mode on.
    """
    if FAILED in config.stash:
        raise config.stash[FAILED]
    if in_use(config):
        from asrbench.bench import throughput
        from asrbench.plugin.parametrize import order

        throughput.deselect_when_off(config, items, bench(config).settings.batch_size)
        order(items)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Engine × device combinations that cannot run, among the tests selected (after -m, -k)."""
    if in_use(session.config):
        from asrbench.plugin.parametrize import unsupported

        bench(session.config).store.skipped.update(unsupported(session.items))


def pytest_report_collectionfinish(config: pytest.Config) -> str | None:
    if not in_use(config):
        return None
    settings, loaded = bench(config).settings, bench(config).datasets
    data = ", ".join(f"{d.name} ({len(d.items)} utterances)" for d in loaded.datasets)
    return (f"asrbench: models {', '.join(s.label for s in settings.models)}; devices "
            f"{', '.join(d.label for d in settings.devices)}; datasets {data}; "
            f"normaliser {settings.normaliser}")


# -- fixtures ---------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def asr_session(pytestconfig: pytest.Config) -> BenchSession:
    """The run's :class:`BenchSession`: settings, model cache and results."""
    return bench(pytestconfig)


@pytest.fixture
def _asr_case(request: pytest.FixtureRequest) -> Case:
    from asrbench.plugin.parametrize import Case

    case = getattr(request, "param", None)
    if not isinstance(case, Case):
        raise pytest.UsageError("asrbench fixtures are parametrized by the asrbench plugin only")
    return case


@pytest.fixture
def asr_device(_asr_case: Case, asr_session: BenchSession) -> Device:
    """The device under test; skips when this machine does not have it."""
    from asrbench.engines.registry import engine_class
    from asrbench.hardware.runtimes import machine_unavailable_reason

    assert _asr_case.device is not None
    # asked of the engine's own runtime (CTranslate2 for faster-whisper: no torch import)
    reason = (engine_class(_asr_case.model.engine).device_unavailable(_asr_case.device)
              if _asr_case.model is not None else machine_unavailable_reason(_asr_case.device))
    if reason is not None:
        if _asr_case.model is not None:
            asr_session.store.skipped[(_asr_case.model.label, str(_asr_case.device))] = reason
        pytest.skip(reason)
    return _asr_case.device


@pytest.fixture
def asr_model(_asr_case: Case, asr_device: Device, asr_session: BenchSession) -> LoadedModel:
    """The model loaded on ``asr_device``; loaded once per session, skipped when unavailable."""
    assert _asr_case.model is not None
    try:
        return asr_session.model(_asr_case.model, asr_device)
    except EngineUnavailable as exc:
        asr_session.store.skipped[(_asr_case.model.label, str(asr_device))] = str(exc)
        pytest.skip(str(exc))


@pytest.fixture
def asr_dataset(_asr_case: Case) -> Dataset:
    """The dataset under test."""
    assert _asr_case.dataset is not None
    return _asr_case.dataset


@pytest.fixture
def utterance(_asr_case: Case, asr_session: BenchSession) -> Utterance:
    """One dataset item: id, float32 mono 16 kHz audio, reference text, duration."""
    assert _asr_case.dataset is not None
    assert _asr_case.item is not None
    return asr_session.utterance(_asr_case.dataset, _asr_case.item)


def _labels(case: Case) -> tuple[str, str]:
    return (case.model.label if case.model else "*", case.dataset.name if case.dataset else "*")


@pytest.fixture
def asr_max_wer(_asr_case: Case, asr_session: BenchSession) -> float:
    """The utterance WER threshold configured for this model and dataset."""
    return asr_session.settings.thresholds.max_wer(*_labels(_asr_case))


@pytest.fixture
def asr_max_corpus_wer(_asr_case: Case, asr_session: BenchSession) -> float:
    """The corpus WER threshold configured for this model and dataset; infinite under
    ``--asr-shard`` (the threshold applies to the merged run, not to a shard's partial WER)."""
    if asr_session.settings.shard is not None:
        return math.inf
    return asr_session.settings.thresholds.max_corpus_wer(*_labels(_asr_case))


@pytest.fixture
def asr_baseline(_asr_case: Case, asr_session: BenchSession,
                 request: pytest.FixtureRequest) -> Baseline | None:
    """The ``--asr-baseline`` run's figures for this model × device × dataset, or ``None``."""
    from asrbench.bench.results import RunKey
    from asrbench.reporting.gates import baseline_for

    case = _asr_case
    if case.model is None or case.device is None or case.dataset is None:
        return None
    if asr_session.settings.shard is not None:
        return None  # a shard's partial corpus is compared once the shards are merged
    return baseline_for(request.config.stash[BASELINE],
                        RunKey(case.model.label, str(case.device), case.dataset.name),
                        asr_session.settings.baseline_margin,
                        significant_only=bool(asr_session.settings.baseline_significant),
                        rtf_margin=asr_session.settings.baseline_rtf_margin)


@pytest.fixture
def asr_benchmark(benchmark: Any,
                  asr_session: BenchSession) -> Callable[[LoadedModel, Utterance], UtteranceResult]:
    """``asr_benchmark(asr_model, utterance)``: one timed, scored transcription via pytest-benchmark."""
    from asrbench.bench import runner

    def run(model: LoadedModel, utterance: Utterance) -> UtteranceResult:
        return runner.benchmark_utterance(asr_session, benchmark, model, utterance)

    return run


@pytest.fixture
def asr_corpus(asr_session: BenchSession) -> Callable[[LoadedModel, Dataset], RunSummary]:
    """``asr_corpus(asr_model, asr_dataset)``: corpus WER/RTF over the dataset."""
    from asrbench.bench import runner

    def run(model: LoadedModel, dataset: Dataset) -> RunSummary:
        return runner.corpus_summary(asr_session, model, dataset)

    return run


@pytest.fixture
def asr_throughput(asr_session: BenchSession) -> Callable[[LoadedModel, Dataset], ThroughputResult]:
    """``asr_throughput(asr_model, asr_dataset)``: the dataset in batches of ``--asr-batch-size``
    (skips with the engine's reason when it has no batched transcription)."""
    from asrbench.bench import runner

    def run(model: LoadedModel, dataset: Dataset) -> ThroughputResult:
        reason = type(model.engine).batch_unsupported_reason()
        if reason is not None:
            pytest.skip(reason)
        return runner.run_throughput(asr_session, model, dataset)

    return run


@pytest.fixture
def asr_stream(pytestconfig: pytest.Config, asr_session: BenchSession) -> StreamingRun:
    """``asr_stream(asr_model, utterance)``: the utterance streamed and scored (``--asr-stream``)."""
    return pytestconfig.pluginmanager.get_plugin("asrbench-streaming")  # type: ignore[return-value]


# -- end of the run ---------------------------------------------------------------------------------

def _report(config: pytest.Config, *, complete: bool | None = None) -> dict[str, Any]:
    from asrbench.plugin import outputs

    if RESULTS in config.stash and (combined := config.stash[RESULTS].data) is not None:
        return combined  # the xdist controller's run, combined from its workers
    done = config.stash.get(COMPLETE, False) if complete is None else complete
    return outputs.report_data(config, bench(config), complete=done)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None]:
    """Write the report; after the terminal summary, OR a timing regression into the exit status.

    The terminal summary (where pytest-benchmark finds timing regressions) runs inside this hook,
    so its outcome is known once the other implementations are done. A failure status is added to
    whatever the run already has, never written over it.
    """
    config = session.config
    if RESULTS in config.stash:
        config.stash[RESULTS].activate()  # the xdist controller: in use once a worker used it
    if in_use(config):
        from asrbench.engines import weights
        from asrbench.plugin import devices_gate, outputs, persist

        # Ctrl-C and internal errors come here too: the report says the run is incomplete
        config.stash[COMPLETE] = persist.run_complete(session)
        bench_session = bench(config)
        # release first: it freezes the last model's memory figures, so the report and the saved
        # benchmark (written later, by pytest-benchmark) state the same numbers
        bench_session.release(end_of_run=True)
        # the xdist controller's results are its workers', combined (then read by _report)
        config.stash[SUMMARIES] = summaries = (
            config.stash[RESULTS].results(bench_session, complete=config.stash[COMPLETE])[0]
            if RESULTS in config.stash else bench_session.summaries())
        if outputs.wanted(bench_session.settings):
            config.stash[WRITTEN] = outputs.write_outputs(bench_session.settings, _report(config))
        config.stash[MISSING] = devices_gate.missing_devices(
            bench_session.settings, (s.device for s in summaries), bench_session.store.skipped)
        weights.use_cache_dir(None)
    yield
    if config.stash.get(REGRESSION, False) or config.stash.get(MISSING, []):
        session.exitstatus = failed_status(session.exitstatus)


def failed_status(status: int) -> int:
    """``status`` with a test failure added: OK becomes TESTS_FAILED, anything else is kept."""
    return pytest.ExitCode.TESTS_FAILED if status == pytest.ExitCode.OK else status


@pytest.hookimpl(wrapper=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> Generator[None]:
    """Our summary, and a clean failure for pytest-benchmark's timing regressions:
    ``--benchmark-compare-fail`` raises PerformanceRegression from this hook, which pytest shows as
    an internal-error traceback; it becomes a plain message, and the run fails (see
    :func:`pytest_sessionfinish`).
    """
    regression = False
    try:
        yield
    except Exception as exc:
        if type(exc).__name__ != "PerformanceRegression":
            raise
        config.stash[REGRESSION] = regression = True
    if in_use(config):
        from asrbench.plugin import outputs

        outputs.write_summary(terminalreporter, bench(config), config.stash.get(SUMMARIES, []),
                              notes=[*config.stash.get(NOTES, []), *config.stash.get(WRITTEN, [])],
                              failing=config.stash.get(MISSING, []))
    if regression:
        terminalreporter.write_line(
            "asrbench: timings regressed beyond --benchmark-compare-fail (listed above); "
            "the run fails", red=True, bold=True)


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    """Always, used or not: pytest-benchmark asks before collection when comparing runs."""
    from asrbench.core import versions

    machine_info["asrbench"] = {"software": versions.software(engine_packages())}


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any,
                                 output_json: dict[str, Any]) -> None:
    if in_use(config):
        output_json["asrbench"] = _report(config)
