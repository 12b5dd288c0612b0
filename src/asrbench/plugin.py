"""The pytest plugin: options (with ini mirrors), markers, parametrization, fixtures, report hooks.

It holds no logic of its own: settings come from :mod:`asrbench.config`, state lives in
:class:`asrbench.session.BenchSession`, timing in :mod:`asrbench.runner`, output in
:mod:`asrbench.report`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from asrbench import devices, report, runner
from asrbench.config import DEFAULT_MODELS, Settings, parse_rules, read_tool_table
from asrbench.datasets import Dataset, Utterance, UtteranceSpec
from asrbench.devices import DEFAULT_DEVICES, KINDS, Device
from asrbench.engines.base import ENGINE_MARKERS, ModelSpec, engine_class, engine_names
from asrbench.errors import ConfigError, EngineUnavailable
from asrbench.history import SavedRun, find_runs
from asrbench.results import RunSummary, UtteranceResult
from asrbench.session import BenchSession, LoadedModel

SESSION = pytest.StashKey[BenchSession]()
SUMMARIES = pytest.StashKey[list[RunSummary]]()
BASELINE = pytest.StashKey[SavedRun | None]()
PYTEST_SESSION = pytest.StashKey[pytest.Session]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asrbench", "speech recognition benchmarks (asrbench)")

    def option(name: str, ini_type: str | None, help_text: str, **kwargs: Any) -> None:
        group.addoption(f"--{name}", dest=name.replace("-", "_"), help=help_text, **kwargs)
        parser.addini(name.replace("-", "_"), help_text, type=ini_type)  # type: ignore[arg-type]

    option("asr-model", "linelist", "model to benchmark, ENGINE[:MODEL][,KEY=VALUE...]; "
           f"repeatable (default: {', '.join(DEFAULT_MODELS)})", action="append", metavar="NAME")
    option("asr-device", "linelist", "device: cpu, cuda, cuda:N, mps; repeatable; absent ones "
           f"skip (default: {', '.join(DEFAULT_DEVICES)})", action="append", metavar="DEVICE")
    option("asr-dataset", "linelist", "'smoke', a JSONL manifest or a LibriSpeech folder; "
           "repeatable (default: smoke)", action="append", metavar="DATASET")
    option("asr-max-wer", "linelist", "utterance WER threshold; ini lines may be "
           "'MODEL[@DATASET] = VALUE' (default: 0.5)", metavar="FLOAT", type=float)
    option("asr-max-corpus-wer", "linelist", "corpus WER threshold, same rules "
           "(default: the utterance threshold)", metavar="FLOAT", type=float)
    option("asr-report", "string", "write JSON results to PATH, atomically (default: none)",
           metavar="PATH")
    option("asr-rounds", "string", "timed rounds per utterance (default: 3)", metavar="N", type=int)
    option("asr-warmup", "string", "untimed warm-up rounds per utterance (default: 1)",
           metavar="N", type=int)
    option("asr-normalizer", "string", "text normaliser applied to reference and hypothesis: "
           "whisper-english, whisper-basic, none (default: whisper-english)", metavar="NAME")
    option("asr-baseline", "string", "saved run (id in the pytest-benchmark storage, or a JSON "
           "file) whose corpus WER the current run must not exceed (default: none)", metavar="RUN")
    option("asr-baseline-margin", "string", "WER allowed above the baseline, as a fraction "
           "(default: 0)", metavar="FLOAT", type=float)
    option("asr-cache-dir", "string", "folder for converted weights (default: the user cache "
           "folder, asrbench)", metavar="PATH")


def _value(config: pytest.Config, name: str) -> Any:
    """The command-line value, else the ini value, else ``None``."""
    cli = config.getoption(name.replace("-", "_"))
    if cli is not None:
        return cli
    ini = config.getini(name.replace("-", "_"))
    return ini if ini not in ("", []) else None


def _pyproject(config: pytest.Config) -> Path | None:
    if config.inipath is not None and config.inipath.name == "pyproject.toml":
        return config.inipath
    candidate = config.rootpath / "pyproject.toml"
    return candidate if candidate.is_file() else None


def _rules(config: pytest.Config, tool: dict[str, Any], key: str) -> list[Any]:
    option = f"asr-{key.replace('_', '-')}"
    rules = parse_rules(tool[key], f"[tool.asrbench] {key}") if key in tool else []
    ini = config.getini(option.replace("-", "_"))
    if ini:
        rules += parse_rules(ini, f"ini {option.replace('-', '_')}")
    cli = config.getoption(option.replace("-", "_"))
    if cli is not None:  # the command line replaces the default, not the per-model rules
        rules = parse_rules(cli, f"--{option}") + [
            r for r in rules if (r.model, r.dataset) != ("*", "*")]
    return rules


def build_settings(config: pytest.Config) -> Settings:
    tool = read_tool_table(_pyproject(config))
    base = config.invocation_params.dir
    extra: dict[str, Any] = {}
    for name, key, cast in (("asr-rounds", "rounds", int), ("asr-warmup", "warmup", int),
                            ("asr-normalizer", "normaliser", str)):
        value = _value(config, name)
        if value is not None:
            try:
                extra[key] = cast(value)
            except ValueError:
                raise ConfigError(f"--{name} {value!r}: expected {cast.__name__}") from None
    if (path := _value(config, "asr-report")) is not None:
        extra["report"] = base / Path(path)
    cache = _value(config, "asr-cache-dir") or tool.get("cache_dir")
    if cache is not None:
        extra["cache_dir"] = (config.rootpath / Path(str(cache)).expanduser())
    if (baseline := _value(config, "asr-baseline")) is not None:
        extra["baseline"] = str(baseline)
        margin = _value(config, "asr-baseline-margin") or tool.get("baseline_margin", 0.0)
        try:
            extra["baseline_margin"] = float(margin)
        except ValueError:
            raise ConfigError(f"--asr-baseline-margin {margin!r}: expected a number") from None
    utterance_rules = _rules(config, tool, "max_wer")
    return Settings.build(
        models=_value(config, "asr-model") or [],
        devices=_value(config, "asr-device") or [],
        datasets=_value(config, "asr-dataset") or [],
        max_wer=utterance_rules,
        max_corpus_wer=utterance_rules + _rules(config, tool, "max_corpus_wer"),
        base=base,
        **extra,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "asrbench: a test parametrized by asrbench")
    for kind in KINDS:
        config.addinivalue_line("markers", f"{kind}: asrbench test on a {kind} device")
    for name in sorted({*ENGINE_MARKERS, *engine_names()}):
        config.addinivalue_line("markers", f"{name}: asrbench test of the {name} engine")
    try:
        settings = build_settings(config)
    except ConfigError as exc:
        raise pytest.UsageError(f"asrbench: {exc}") from None
    config.stash[SESSION] = BenchSession(settings)
    config.stash[SUMMARIES] = []
    config.stash[BASELINE] = None
    if settings.baseline is not None:
        try:
            config.stash[BASELINE] = _load_baseline(config, settings.baseline)
        except ConfigError as exc:
            raise pytest.UsageError(f"asrbench: --asr-baseline: {exc}") from None


def _load_baseline(config: pytest.Config, selector: str) -> SavedRun:
    storage = str(getattr(config.option, "benchmark_storage", None) or ".benchmarks")
    folder = config.invocation_params.dir / storage.removeprefix("file://")
    [run] = find_runs(folder, [selector])
    return run


def pytest_report_header(config: pytest.Config) -> str:
    settings = config.stash[SESSION].settings
    data = ", ".join(f"{d.name} ({len(d.items)} utterances)" for d in settings.datasets)
    return (f"asrbench: models {', '.join(s.label for s in settings.models)}; devices "
            f"{', '.join(map(str, settings.devices))}; datasets {data}; "
            f"normaliser {settings.normaliser}")


@dataclass(frozen=True)
class Case:
    """One parametrization: any of model, device, dataset, utterance (``None`` when unused)."""

    model: ModelSpec | None
    device: Device | None
    dataset: Dataset | None
    item: UtteranceSpec | None
    rank: tuple[int, int, int, int, int]

    @property
    def id(self) -> str:
        parts = [self.model.label if self.model else None, str(self.device) if self.device else None,
                 self.dataset.name if self.dataset else None, self.item.id if self.item else None]
        return "-".join(p for p in parts if p)

    def marks(self) -> list[pytest.MarkDecorator]:
        marks = [pytest.mark.asrbench]
        if self.device is not None:
            marks.append(getattr(pytest.mark, self.device.kind))
        if self.model is not None:
            marks.append(getattr(pytest.mark, self.model.engine))
            if self.device is not None:
                reason = engine_class(self.model.engine).unsupported_reason(self.device)
                if reason is not None:
                    marks.append(pytest.mark.skip(reason=reason))
        return marks


@dataclass(frozen=True)
class Baseline:
    """A saved run's corpus WER for one model × device × dataset, and the allowed margin."""

    run: str
    wer: float
    margin: float
    normaliser: str

    def check(self, summary: RunSummary) -> str | None:
        """A failure message when ``summary`` regresses beyond the margin, else ``None``."""
        if summary.normaliser != self.normaliser:
            return (f"baseline run {self.run} was scored with {self.normaliser}, this run with "
                    f"{summary.normaliser}: their WERs are not comparable")
        if summary.wer > self.wer + self.margin:
            return (f"corpus WER {summary.wer:.1%} regressed from {self.wer:.1%} in baseline run "
                    f"{self.run} (margin {self.margin:.1%})")
        return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "_asr_case" not in metafunc.fixturenames:
        return
    session = metafunc.config.stash[SESSION]
    settings = session.settings
    names = metafunc.fixturenames
    models = list(enumerate(settings.models)) if "asr_model" in names else [(0, None)]
    devs = list(enumerate(settings.devices)) if "asr_device" in names else [(0, None)]
    wants_item = "utterance" in names
    datasets = (list(enumerate(settings.datasets))
                if wants_item or "asr_dataset" in names else [(0, None)])
    params = []
    for mi, model in models:
        for di, device in devs:
            if model is not None and device is not None:
                reason = engine_class(model.engine).unsupported_reason(device)
                if reason is not None:
                    session.skipped[(model.label, str(device))] = reason
            for si, dataset in datasets:
                items = list(enumerate(dataset.items)) if wants_item and dataset else [(-1, None)]
                for ii, item in items:
                    # corpus-level tests (no item) sort after the utterances they summarise
                    rank = (mi, di, si, 0 if item is not None else 1, ii)
                    case = Case(model, device, dataset, item, rank)
                    params.append(pytest.param(case, id=case.id, marks=case.marks()))
    metafunc.parametrize("_asr_case", params, indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group tests by model and device so each model loads once; other tests keep their place."""
    slots = [i for i, item in enumerate(items) if _case_of(item) is not None]
    ordered = sorted((items[i] for i in slots), key=lambda item: _case_of(item).rank)  # type: ignore[union-attr]
    for slot, item in zip(slots, ordered, strict=True):
        items[slot] = item


def _case_of(item: pytest.Item) -> Case | None:
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get("_asr_case") if callspec is not None else None
    return case if isinstance(case, Case) else None


@pytest.fixture(scope="session")
def asr_session(pytestconfig: pytest.Config) -> BenchSession:
    """The run's :class:`BenchSession`: settings, model cache and results."""
    return pytestconfig.stash[SESSION]


@pytest.fixture
def _asr_case(request: pytest.FixtureRequest) -> Case:
    case = getattr(request, "param", None)
    if not isinstance(case, Case):
        raise pytest.UsageError("asrbench fixtures are parametrized by the asrbench plugin only")
    return case


@pytest.fixture
def asr_device(_asr_case: Case, asr_session: BenchSession) -> Device:
    """The device under test; skips when this machine does not have it."""
    assert _asr_case.device is not None
    reason = devices.unavailable_reason(_asr_case.device)
    if reason is not None:
        if _asr_case.model is not None:
            asr_session.skipped[(_asr_case.model.label, str(_asr_case.device))] = reason
        pytest.skip(reason)
    return _asr_case.device


@pytest.fixture
def asr_model(_asr_case: Case, asr_device: Device, asr_session: BenchSession) -> LoadedModel:
    """The model loaded on ``asr_device``; loaded once per session, skipped when unavailable."""
    assert _asr_case.model is not None
    try:
        return asr_session.model(_asr_case.model, asr_device)
    except EngineUnavailable as exc:
        asr_session.skipped[(_asr_case.model.label, str(asr_device))] = str(exc)
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
    """The corpus WER threshold configured for this model and dataset."""
    return asr_session.settings.thresholds.max_corpus_wer(*_labels(_asr_case))


@pytest.fixture
def asr_baseline(_asr_case: Case, request: pytest.FixtureRequest) -> Baseline | None:
    """The ``--asr-baseline`` run's figures for this model × device × dataset, or ``None``."""
    run = request.config.stash[BASELINE]
    case = _asr_case
    if run is None or case.model is None or case.device is None or case.dataset is None:
        return None
    figures = run.runs.get((case.model.label, str(case.device), case.dataset.name))
    if figures is None or figures.get("wer") is None:
        return None
    margin = request.config.stash[SESSION].settings.baseline_margin
    return Baseline(run.id, float(figures["wer"]), margin, str(figures.get("normaliser")))


@pytest.fixture
def asr_benchmark(
    benchmark: Any, asr_session: BenchSession
) -> Callable[[LoadedModel, Utterance], UtteranceResult]:
    """``asr_benchmark(asr_model, utterance)``: one timed, scored transcription via pytest-benchmark."""

    def run(model: LoadedModel, utterance: Utterance) -> UtteranceResult:
        return runner.benchmark_utterance(asr_session, benchmark, model, utterance)

    return run


@pytest.fixture
def asr_corpus(asr_session: BenchSession) -> Callable[[LoadedModel, Dataset], RunSummary]:
    """``asr_corpus(asr_model, asr_dataset)``: corpus WER/RTF over the dataset."""

    def run(model: LoadedModel, dataset: Dataset) -> RunSummary:
        return runner.corpus_summary(asr_session, model, dataset)

    return run


def _software() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in ("pytest-asrbench", "torch", "torchaudio", "jiwer", "whisper-normalizer",
                 "faster-whisper", "ctranslate2", "openai-whisper", "liquid-audio",
                 "transformers"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _report(config: pytest.Config) -> dict[str, Any]:
    session = config.stash[SESSION]
    return report.build_report(
        session.summaries(), session.results.values(), skipped=session.skipped,
        normaliser=session.normaliser, software=_software(),
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[PYTEST_SESSION] = session


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if SESSION not in config.stash:
        return
    bench = config.stash[SESSION]
    config.stash[SUMMARIES] = bench.summaries()
    path = bench.settings.report
    if path is not None:
        report.write_json_atomic(path, _report(config))
    bench.release()


@pytest.hookimpl(wrapper=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> Generator[None]:
    """Our summary, and a clean failure for pytest-benchmark's timing regressions.

    ``--benchmark-compare-fail`` raises PerformanceRegression from this hook, which pytest shows as
    an internal-error traceback; it becomes a plain message and exit status 1 instead.
    """
    regression = False
    try:
        yield
    except Exception as exc:
        if type(exc).__name__ != "PerformanceRegression":
            raise
        regression = True
    if SESSION not in config.stash:
        return
    bench = config.stash[SESSION]
    summaries = config.stash[SUMMARIES]
    if summaries or bench.skipped:
        terminalreporter.section("asrbench")
        for line in report.format_summary(summaries, bench.skipped):
            terminalreporter.write_line(line)
        if bench.settings.report is not None:
            terminalreporter.write_line(f"report written to {bench.settings.report}")
    if regression:
        terminalreporter.write_line(
            "asrbench: timings regressed beyond --benchmark-compare-fail (listed above); "
            "the run fails", red=True, bold=True)
        config.stash[PYTEST_SESSION].exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    machine_info["asrbench"] = {"software": _software()}


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any,
                                 output_json: dict[str, Any]) -> None:
    if SESSION in config.stash:
        output_json["asrbench"] = _report(config)
