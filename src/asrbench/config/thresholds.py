"""WER threshold rules: parsed from options, ini lines and ``[tool.asrbench]``, looked up per run.

The options themselves (and :class:`~asrbench.config.options.Settings`) are declared in
:mod:`asrbench.config.options`; a mistake is a :class:`ConfigError` naming the option or key.

WER thresholds are rules ``PATTERN = VALUE`` where PATTERN is ``MODEL`` or ``MODEL@DATASET``, each a
shell-style glob over the model label (``faster_whisper:tiny.en``) and dataset name. The default
(``--asr-max-wer`` or a bare number) applies first; later matching rules override earlier ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from asrbench.core.errors import ConfigError

__all__ = ["DEFAULT_MAX_WER", "Rule", "Thresholds", "parse_number", "parse_rules"]

DEFAULT_MAX_WER = 0.5


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


def parse_number(value: Any, where: str) -> float:
    """A finite number >= 0 (not a bool, not NaN); ``where`` names the option or key in the error."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if math.isnan(number) or number < 0:
        raise ConfigError(f"{where}: expected a number >= 0, got {value!r}")
    if math.isinf(number):
        raise ConfigError(f"{where}: expected a finite number >= 0, got {value!r}")
    return number


def _rule(pattern: str, value: Any, where: str) -> Rule:
    model, _, dataset = pattern.strip().partition("@")
    if not model:
        raise ConfigError(f"{where}: pattern {pattern!r} names no model (use '*' for any)")
    return Rule(model, dataset or "*", parse_number(value, where))


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
