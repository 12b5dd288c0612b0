"""Settings: options, ini values and ``[tool.asrbench]`` read once, validated, frozen.

Everything a user can get wrong is checked here, at start-up, and reported as a
:class:`ConfigError` naming the option or key; nothing fails mid-run for a typo.

WER thresholds are rules ``PATTERN = VALUE`` where PATTERN is ``MODEL`` or ``MODEL@DATASET``, each a
shell-style glob over the model label (``faster_whisper:tiny.en``) and dataset name. The default
(``--asr-max-wer`` or a bare number) applies first; later matching rules override earlier ones.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from asrbench.datasets import Dataset, load_dataset
from asrbench.devices import DEFAULT_DEVICES, Device, parse_device
from asrbench.engines.base import ModelSpec, parse_model_spec
from asrbench.errors import ConfigError
from asrbench.metrics import NORMALISERS

__all__ = ["DEFAULT_MODELS", "Rule", "Settings", "Thresholds", "parse_rules", "read_tool_table"]

#: Engines benchmarked when no ``--asr-model`` is given: those with offline default weights.
DEFAULT_MODELS = ("faster_whisper", "whisper")
DEFAULT_MAX_WER = 0.5
TOOL_KEYS = ("max_wer", "max_corpus_wer", "cache_dir", "baseline_margin")


@dataclass(frozen=True)
class Rule:
    model: str
    dataset: str
    value: float

    def matches(self, model: str, dataset: str) -> bool:
        return fnmatchcase(model, self.model) and fnmatchcase(dataset, self.dataset)


@dataclass(frozen=True)
class Thresholds:
    """Utterance and corpus WER limits, looked up per model label and dataset."""

    utterance: tuple[Rule, ...]
    corpus: tuple[Rule, ...]

    def max_wer(self, model: str, dataset: str) -> float:
        return _lookup(self.utterance, model, dataset)

    def max_corpus_wer(self, model: str, dataset: str) -> float:
        return _lookup(self.corpus, model, dataset)


def _lookup(rules: Iterable[Rule], model: str, dataset: str) -> float:
    value = DEFAULT_MAX_WER
    for rule in rules:
        if rule.matches(model, dataset):
            value = rule.value
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if math.isnan(number) or number < 0:
        raise ConfigError(f"{where}: expected a number >= 0, got {value!r}")
    return number


def _rule(pattern: str, value: Any, where: str) -> Rule:
    model, _, dataset = pattern.strip().partition("@")
    if not model:
        raise ConfigError(f"{where}: pattern {pattern!r} names no model (use '*' for any)")
    return Rule(model, dataset or "*", _number(value, where))


def parse_rules(value: Any, where: str) -> list[Rule]:
    """A number (the default), a ``{pattern: number}`` table, or ini lines ``[PATTERN =] NUMBER``."""
    if isinstance(value, Mapping):
        return [_rule(str(k), v, f"{where}.{k!r}") for k, v in value.items()]
    if isinstance(value, list):
        rules: list[Rule] = []
        for line in value:
            pattern, sep, number = str(line).rpartition("=")
            rules.append(_rule(pattern if sep else "*", number, f"{where} line {line!r}"))
        return rules
    return [_rule("*", value, where)]


def read_tool_table(pyproject: Path | None) -> dict[str, Any]:
    """``[tool.asrbench]`` from ``pyproject``, with unknown keys rejected."""
    if pyproject is None or not pyproject.is_file():
        return {}
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: invalid TOML ({exc})") from exc
    table = data.get("tool", {}).get("asrbench", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.asrbench] must be a table")
    for key in table:
        if key not in TOOL_KEYS:
            raise ConfigError(
                f"{pyproject}: [tool.asrbench] unknown key {key!r}; valid: {', '.join(TOOL_KEYS)}"
            )
    return table


@dataclass(frozen=True)
class Settings:
    """Everything the plugin needs, resolved from names into validated values."""

    models: tuple[ModelSpec, ...]
    devices: tuple[Device, ...]
    datasets: tuple[Dataset, ...]
    thresholds: Thresholds
    normaliser: str = "whisper-english"
    rounds: int = 3
    warmup: int = 1
    report: Path | None = None
    cache_dir: Path | None = None
    baseline: str | None = None
    baseline_margin: float = 0.0

    @classmethod
    def build(
        cls,
        *,
        models: list[str],
        devices: list[str],
        datasets: list[str],
        max_wer: list[Rule],
        max_corpus_wer: list[Rule],
        base: Path,
        **rest: Any,
    ) -> Settings:
        specs = tuple(parse_model_spec(m) for m in _unique(models or DEFAULT_MODELS))
        parsed_devices = tuple(parse_device(d) for d in _unique(devices or DEFAULT_DEVICES))
        loaded = tuple(load_dataset(d, base=base) for d in _unique(datasets or ["smoke"]))
        names = [d.name for d in loaded]
        for name in names:
            if names.count(name) > 1:
                raise ConfigError(f"--asr-dataset: two datasets are both named {name!r}")
        if rest.get("normaliser", "whisper-english") not in NORMALISERS:
            raise ConfigError(
                f"--asr-normalizer {rest['normaliser']!r}: unknown; valid: {', '.join(NORMALISERS)}"
            )
        for key in ("rounds", "warmup"):
            if key in rest and int(rest[key]) < (1 if key == "rounds" else 0):
                raise ConfigError(f"--asr-{key} {rest[key]}: must be at least "
                                  f"{1 if key == 'rounds' else 0}")
        return cls(specs, parsed_devices, loaded, Thresholds(tuple(max_wer), tuple(max_corpus_wer)),
                   **rest)


def _unique(values: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen
