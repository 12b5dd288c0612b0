"""Calling asrbench's own hooks (see :mod:`asrbench.hookspec`) at the points the plugin needs.

Normalisers a conftest registers last for one pytest run: they are removed again (and any
built-in they replaced put back) when the run's config is cleaned up, so in-process runs do not
leak into each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from asrbench.core.errors import ConfigError
from asrbench.core.jsonsafe import clean_json

if TYPE_CHECKING:
    from asrbench.bench.results import RunSummary
    from asrbench.config.settings import Settings
    from asrbench.data.formats import LoadedDatasets
    from asrbench.scoring.metrics import Normaliser

__all__ = ["load_datasets", "register_normalisers", "report_fields"]


def load_datasets(config: pytest.Config, settings: Settings) -> LoadedDatasets:
    """The run's datasets, each value read through ``pytest_asrbench_load_dataset``, sharded."""
    from functools import partial

    from asrbench.data import formats

    return formats.load_datasets(
        settings.datasets, load=partial(config.hook.pytest_asrbench_load_dataset, config=config),
        shard=settings.shard, hf_audio_column=settings.hf_audio_column,
        hf_text_column=settings.hf_text_column, allow_outside_paths=settings.allow_outside_paths)


def register_normalisers(config: pytest.Config) -> None:
    """Let every plugin and conftest add normalisers for this run."""
    from asrbench.scoring import metrics

    replaced: dict[str, Normaliser | None] = {}

    def register(name: str, normalise: Callable[[str], str], *, package: str | None = None) -> None:
        if name not in replaced:
            replaced[name] = (metrics.get_normaliser(name)
                              if name in metrics.normaliser_names() else None)
        metrics.register_normaliser(name, normalise, package=package)

    def restore() -> None:
        for name, previous in replaced.items():
            metrics.unregister_normaliser(name, previous)

    config.add_cleanup(restore)
    config.hook.pytest_asrbench_register_normalisers(register=register, config=config)


def report_fields(config: pytest.Config, summaries: Sequence[RunSummary],
                  runs: list[dict[str, Any]]) -> None:
    """Merge each run's ``pytest_asrbench_report_fields`` results into its report dict's ``extra``."""
    for summary, run in zip(summaries, runs, strict=True):
        extra: dict[str, Any] = {}
        for fields in reversed(config.hook.pytest_asrbench_report_fields(summary=summary,
                                                                         config=config)):
            if fields is None:
                continue
            if not isinstance(fields, dict):
                raise ConfigError(f"pytest_asrbench_report_fields returned "
                                  f"{type(fields).__name__}, not a dict")
            extra.update(fields)
        if extra:
            run["extra"] = clean_json(extra)
