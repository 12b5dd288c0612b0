"""The options table: every asrbench option declared once in :data:`OPTIONS`, with its parser.

Each :class:`Option` names its command-line flag, ini key, ``[tool.asrbench]`` key, ``--help``
text, default and ``parse``; :func:`resolve` applies precedence to the values found for one option.
Every value, the default included, goes through ``parse``, which names its :class:`Source` in
errors. Parsers import what they need when they run, so importing this module costs nothing, and
they only check values: nothing here reads a dataset or asks a plugin (datasets are specs here, read
once the settings exist).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asrbench.core.errors import ConfigError

if TYPE_CHECKING:
    from asrbench.config.thresholds import Rule
    from asrbench.data.formats import DatasetSpec

__all__ = ["OPTIONS", "Option", "Source", "default_layer", "present", "resolve", "tool_keys"]


@dataclass(frozen=True)
class Source:
    """Where a value came from: ``where`` names it in errors, ``base`` anchors relative paths."""

    where: str
    base: Path
    command_line: bool = False


@dataclass(frozen=True)
class Option:
    """One option. ``parse(value, source)`` validates a raw value (default included).

    ``repeatable``: given several times on the command line, a line list in ini, a list in
    ``[tool.asrbench]``. ``rules``: ``MODEL[@DATASET] = VALUE`` threshold rules, layered rather
    than replaced (see :func:`resolve`). ``cli_type`` converts on the command line already, so a
    malformed number is an error at start-up.
    """

    name: str
    field: str
    help: str
    parse: Callable[[Any, Source], Any]
    default: Any = None
    default_text: str | None = None
    metavar: str = "VALUE"
    cli_type: Callable[[str], Any] | None = None
    repeatable: bool = False
    rules: bool = False
    tool_key: str | None = ""
    switch: bool = False

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def ini(self) -> str:
        return self.name.replace("-", "_")

    @property
    def key(self) -> str | None:
        """The ``[tool.asrbench]`` key (the field name unless declared), or ``None``: not there."""
        return self.field if self.tool_key == "" else self.tool_key

    @property
    def help_text(self) -> str:
        default = self.default_text
        if default is None:
            values = self.default if isinstance(self.default, tuple | list) else [self.default]
            default = ", ".join("none" if v is None else str(v) for v in values)
        return f"{self.help} (default: {default})"


# -- parsers: each takes the raw value and its source, and imports what it needs -----------------

def _items(value: Any) -> list[str]:
    values = value if isinstance(value, list | tuple) else [value]
    unique: list[str] = []
    for item in values:
        if str(item) not in unique:
            unique.append(str(item))
    return unique


def _models(value: Any, source: Source) -> tuple[Any, ...]:
    """The specs, each labelled so that no two models share a label (see :mod:`asrbench.core.identity`)."""
    from dataclasses import replace

    from asrbench.core.identity import distinct_labels
    from asrbench.engines.registry import engine_class
    from asrbench.engines.spec import parse_model_spec

    specs = tuple(parse_model_spec(m) for m in _items(value))
    labels = distinct_labels([(s.engine, s.model or engine_class(s.engine).default_model,
                               s.options_text) for s in specs])
    return tuple(replace(s, shown=label) for s, label in zip(specs, labels, strict=True))


def _devices(value: Any, source: Source) -> tuple[Any, ...]:
    from asrbench.hardware.runtimes import resolve_device as parse_device

    # dict: ``auto`` may resolve to a device also named explicitly
    return tuple(dict.fromkeys(parse_device(d) for d in _items(value)))


def _required_devices(value: Any, source: Source) -> tuple[Any, ...]:
    from asrbench.hardware.devices import parse_device

    if value is None:
        return ()
    found = []
    for item in _items(value):
        if item.strip().lower() == "auto":
            raise ConfigError(f"{source.where} auto: name the device that must run "
                              "(cpu, cuda, cuda:N, mps)")
        try:
            found.append(parse_device(item))
        except ConfigError:
            raise ConfigError(f"{source.where} {item!r}: unknown device; valid: cpu, cuda, "
                              "cuda:N, mps") from None
    return tuple(dict.fromkeys(found))


def _datasets(value: Any, source: Source) -> tuple[DatasetSpec, ...]:
    """The values as :class:`DatasetSpec`, checked for form only: read once the settings exist
    (:func:`asrbench.data.formats.load_datasets`)."""
    from asrbench.data.formats import parse_dataset_spec

    return tuple(parse_dataset_spec(d, base=source.base, where=source.where) for d in _items(value))


def _rules(value: Any, source: Source) -> tuple[Rule, ...]:
    from asrbench.config.thresholds import Rule, parse_rules

    if value is None:
        return ()
    if isinstance(value, Rule):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, Rule) for v in value):
        return tuple(value)
    return tuple(parse_rules(value, source.where))


def _path(value: Any, source: Source) -> Path | None:
    return None if value is None else source.base / Path(str(value)).expanduser()


def _text(value: Any, source: Source) -> str | None:
    return None if value is None else str(value)


def _at_least(minimum: int) -> Callable[[Any, Source], int]:
    def parse(value: Any, source: Source) -> int:
        if isinstance(value, bool):
            raise ConfigError(f"{source.where} {value!r}: expected an integer")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{source.where} {value!r}: expected an integer") from None
        if number < minimum:
            raise ConfigError(f"{source.where} {number}: must be at least {minimum}")
        return number

    return parse


def _threads(value: Any, source: Source) -> int | None:
    return None if value is None else _at_least(1)(value, source)


def _shard(value: Any, source: Source) -> Any:
    from asrbench.data.shards import parse_shard

    return None if value is None else parse_shard(str(value))


def _off_or_at_least(minimum: int) -> Callable[[Any, Source], int | None]:
    at_least = _at_least(minimum)

    def parse(value: Any, source: Source) -> int | None:
        return None if value is None else at_least(value, source)

    return parse


def _points(value: Any, source: Source) -> float:
    from asrbench.config.thresholds import parse_number

    return parse_number(value, source.where)


def _percent(value: Any, source: Source) -> float | None:
    from asrbench.config.thresholds import parse_number

    if value is None:
        return None
    text = value.strip().removesuffix("%") if isinstance(value, str) else value
    return parse_number(text, source.where)


def _column(value: Any, source: Source) -> str:
    text = str(value).strip()
    if not text:
        raise ConfigError(f"{source.where}: a column name cannot be empty")
    return text


def _seconds(value: Any, source: Source) -> float | None:
    import math

    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source.where} {value!r}: expected a number of seconds") from None
    if isinstance(value, bool) or not (math.isfinite(number) and number > 0):
        raise ConfigError(f"{source.where} {value!r}: expected a number of seconds above 0")
    return number


def _switch(value: Any, source: Source) -> bool:
    if isinstance(value, bool):
        return value
    from asrbench.engines.base import parse_bool

    try:
        return parse_bool(str(value))
    except ValueError:
        raise ConfigError(f"{source.where} {value!r}: expected true or false") from None


def _clock(value: Any, source: Source) -> str:
    modes = ("virtual", "unaware", "wall")  # asrbench.bench.stream_clock.CLOCK_MODES
    if str(value) not in modes:
        raise ConfigError(f"{source.where} {value!r}: unknown stream clock; valid: {', '.join(modes)}")
    return str(value)


def _rate(value: Any, source: Source) -> float | None:
    from asrbench.config.thresholds import parse_number

    if value is None:
        return None
    return parse_number(value, source.where)


def _milliseconds(value: Any, source: Source) -> float:
    from asrbench.config.thresholds import parse_number

    number = parse_number(value, source.where)
    if number <= 0:
        raise ConfigError(f"{source.where} {value!r}: expected milliseconds above 0")
    return number


def _normaliser(value: Any, source: Source) -> str:
    from asrbench.scoring.metrics import normaliser_names

    if value not in normaliser_names():
        raise ConfigError(f"{source.where} {value!r}: unknown; "
                          f"valid: {', '.join(normaliser_names())}")
    return str(value)


#: The table. Order is ``--help`` order; ``field`` is the :class:`Settings` attribute.
OPTIONS: tuple[Option, ...] = (
    Option("asr-model", "models", "model to benchmark, ENGINE[:MODEL][,KEY=VALUE...]; repeatable",
           _models, default=("faster_whisper", "whisper"), metavar="NAME", repeatable=True),
    Option("asr-device", "devices", "device: cpu, cuda, cuda:N, mps, or auto (the best here: "
           "cuda > mps > cpu); repeatable; absent ones skip",
           _devices, default=("cpu", "cuda", "mps"), metavar="DEVICE", repeatable=True),
    Option("asr-dataset", "datasets", "'smoke', a JSONL manifest, a LibriSpeech folder or "
           "hf:PATH_OR_NAME[:SPLIT]; repeatable", _datasets, default=("smoke",), metavar="DATASET",
           repeatable=True),
    Option("asr-max-wer", "max_wer", "utterance WER threshold; ini lines and [tool.asrbench] "
           "tables may give rules 'MODEL[@DATASET] = VALUE'", _rules, default=0.5,
           metavar="FLOAT", cli_type=float, rules=True),
    Option("asr-max-corpus-wer", "max_corpus_wer", "corpus WER threshold, same rules",
           _rules, default_text="the utterance threshold", metavar="FLOAT", cli_type=float,
           rules=True),
    Option("asr-report", "report", "write JSON results to PATH, atomically", _path,
           metavar="PATH"),
    Option("asr-rounds", "rounds", "timed rounds per utterance", _at_least(1), default=3,
           metavar="N", cli_type=int),
    Option("asr-warmup", "warmup", "warm-up calls per utterance, timed but never in the "
           "statistics (the first utterance's first is the model's first call)", _at_least(0),
           default=1, metavar="N", cli_type=int),
    Option("asr-normalizer", "normaliser", "text normaliser applied to reference and hypothesis: "
           "whisper-english, whisper-basic, none, or one a plugin registers", _normaliser,
           default="whisper-english", metavar="NAME"),
    Option("asr-baseline", "baseline", "saved run (id in the pytest-benchmark storage, or a JSON "
           "file) whose corpus WER the current run must not exceed", _text, metavar="RUN"),
    Option("asr-baseline-margin", "baseline_margin", "WER allowed above the baseline, in "
           "absolute percentage points (0.5: half a point)", _points, default=0.0,
           metavar="POINTS", cli_type=float),
    Option("asr-baseline-significant", "baseline_significant", "fail the baseline gate only on "
           "a regression the paired bootstrap over utterances finds significant", _switch,
           default=False, switch=True),
    Option("asr-baseline-rtf-margin", "baseline_rtf_margin", "also gate RTF: the rise allowed "
           "above the baseline's, in percent of it (10: ten percent); baseline and run must be "
           "timed on the same machine. One run against one run cannot separate run-to-run "
           "spread from a change: for a verdict use 'asrbench ab'", _percent, metavar="PERCENT"),
    Option("asr-shard", "shard", "run shard I of N of every dataset, balanced by audio duration "
           "(merge the shard reports with 'asrbench merge')", _shard, metavar="I/N"),
    Option("asr-cache-dir", "cache_dir", "folder for converted weights", _path,
           default_text="$ASRBENCH_CACHE_DIR, else the user cache folder, asrbench",
           metavar="PATH"),
    Option("asr-hf-audio-column", "hf_audio_column", "audio column of hf: datasets", _column,
           default="audio", metavar="NAME"),
    Option("asr-hf-text-column", "hf_text_column", "reference-text column of hf: datasets",
           _column, default="text", metavar="NAME"),
    Option("asr-timeout", "timeout", "seconds one transcription may take before its test fails "
           "and its model is given up", _seconds, default_text="no limit", metavar="SECONDS",
           cli_type=float),
    Option("asr-allow-outside-paths", "allow_outside_paths", "let manifests name audio outside "
           "their own folder", _switch, default=False, default_text="refused", switch=True),
    Option("asr-report-overwrite", "report_overwrite", "replace an existing --asr-report or "
           "--benchmark-json file", _switch, default=False, default_text="refuse to start",
           switch=True),
    Option("asr-threads", "threads", "CPU threads for every engine: CTranslate2 cpu_threads and "
           "torch intra-op threads", _threads,
           default_text="the cores this process may use (affinity, OMP_NUM_THREADS)",
           metavar="N", cli_type=int),
    Option("asr-fast", "fast", "fast mode: each utterance measured once, no per-utterance "
           "warm-up (the model's first call is still reported apart)", _switch, default=False,
           default_text="off", switch=True),
    Option("asr-batch-size", "batch_size", "throughput mode: also transcribe each dataset in "
           "batches of N and report its RTFx beside the one-at-a-time RTFx", _off_or_at_least(1),
           default_text="off", metavar="N", cli_type=int),
    Option("asr-require-device", "require_devices", "fail the run unless at least one utterance "
           "was measured on DEVICE (cuda matches any cuda:N); repeatable", _required_devices,
           default=(), default_text="none required", metavar="DEVICE", repeatable=True),
    Option("asr-html", "html", "write the report as one self-contained HTML page to PATH, "
           "atomically", _path, metavar="PATH"),
    Option("asr-markdown", "markdown", "write the summary as Markdown to PATH, appended to what "
           "the file holds (point it at $GITHUB_STEP_SUMMARY)", _path, metavar="PATH"),
    Option("asr-stream", "stream", "streaming mode: also stream each utterance chunk by chunk "
           "and measure how soon each word appears (tests marked 'streaming')", _switch,
           default=False, default_text="off", switch=True),
    Option("asr-stream-clock", "stream_clock", "streaming clock: virtual (measured compute on "
           "a queue), unaware (compute costs nothing) or wall (sleep to real time, for services)",
           _clock, default="virtual", metavar="MODE"),
    Option("asr-chunk-ms", "chunk_ms", "streaming chunk size in milliseconds of audio",
           _milliseconds, default=100.0, metavar="MS", cli_type=float),
    Option("asr-align", "align", "derive reference word timings by forced alignment "
           "(pocketsphinx, cached by audio hash) for utterances whose dataset has none",
           _switch, default=False, default_text="off", switch=True),
    Option("asr-max-latency-p90", "max_latency_p90", "streaming threshold: p90 of the seconds "
           "from each word's end to its first appearance, per utterance", _seconds,
           default_text="no limit", metavar="SECONDS", cli_type=float),
    Option("asr-max-erasure", "max_erasure", "streaming threshold: words erased from partials "
           "per final word, per utterance", _rate, default_text="no limit", metavar="RATE",
           cli_type=float),
)


def tool_keys(options: Iterable[Option] = OPTIONS) -> list[str]:
    """The keys ``[tool.asrbench]`` accepts."""
    return [o.key for o in options if o.key is not None]


# -- precedence ----------------------------------------------------------------------------------

def resolve(option: Option, layers: Sequence[tuple[Source, Any]]) -> Any:
    """The parsed value of ``option`` from ``layers``, lowest precedence first.

    Callers pass (default, ``[tool.asrbench]``, ini, command line), leaving out absent ones. The
    highest layer present wins, except for threshold rules: those add up, later rules overriding
    earlier ones where both match, and the command line replaces only the default rule
    (``MODEL`` and ``DATASET`` both ``*``), keeping the per-model rules from the files.
    """
    if not option.rules:
        source, value = layers[-1]
        return option.parse(value, source)
    rules: list[Any] = []
    for source, value in layers:
        parsed = list(option.parse(value, source))
        if source.command_line:
            rules = parsed + [r for r in rules if (r.model, r.dataset) != ("*", "*")]
        else:
            rules += parsed
    return tuple(rules)


def present(value: Any) -> bool:
    """Whether a raw value was given at all (an empty ini value or list is not)."""
    return value is not None and value != "" and value != []


def default_layer(option: Option, base: Path) -> tuple[Source, Any]:
    """The lowest layer of every option: its default, relative paths read from ``base``."""
    return Source("default", base), option.default
