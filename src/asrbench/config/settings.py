"""The run's settings: one frozen, typed value with one field per :data:`~asrbench.config.table.OPTIONS`
entry, built once per run.

The fields are written out so that type checkers see them; a test checks they are exactly the
table's fields, so an option cannot be added to one and not the other. Datasets are held as
:class:`~asrbench.data.formats.DatasetSpec` values: reading them is a later step
(:func:`asrbench.data.formats.load_datasets`), which needs the ``hf:`` column settings and the
plugins' formats.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asrbench.config.table import OPTIONS, Source, default_layer, present, resolve

if TYPE_CHECKING:
    from asrbench.config.thresholds import Rule, Thresholds
    from asrbench.data.formats import DatasetSpec
    from asrbench.data.shards import Shard
    from asrbench.engines.spec import ModelSpec
    from asrbench.hardware.devices import Device

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    """Every option's parsed value, by its table ``field`` (see :data:`OPTIONS` for each one's
    meaning and default)."""

    models: tuple[ModelSpec, ...]
    devices: tuple[Device, ...]
    datasets: tuple[DatasetSpec, ...]
    max_wer: tuple[Rule, ...]
    max_corpus_wer: tuple[Rule, ...]
    report: Path | None
    rounds: int
    warmup: int
    normaliser: str
    baseline: str | None
    baseline_margin: float
    baseline_significant: bool
    baseline_rtf_margin: float | None
    shard: Shard | None
    cache_dir: Path | None
    hf_audio_column: str
    hf_text_column: str
    timeout: float | None
    allow_outside_paths: bool
    report_overwrite: bool
    threads: int | None
    fast: bool
    batch_size: int | None
    require_devices: tuple[Device, ...]
    html: Path | None
    markdown: Path | None
    stream: bool
    stream_clock: str
    chunk_ms: float
    align: bool
    max_latency_p90: float | None
    max_erasure: float | None

    @property
    def thresholds(self) -> Thresholds:
        """Utterance rules; corpus rules are the utterance rules overridden by the corpus ones."""
        from asrbench.config.thresholds import Thresholds

        return Thresholds(tuple(self.max_wer), (*self.max_wer, *self.max_corpus_wer))

    @classmethod
    def build(cls, *, base: Path | None = None, **raw: Any) -> Settings:
        """Settings from raw values by field name, parsed like command-line values; defaults
        for the rest. ``base`` anchors relative paths (default: the current folder)."""
        here = base if base is not None else Path.cwd()
        by_field = {o.field: o for o in OPTIONS}
        unknown = sorted(set(raw) - set(by_field))
        if unknown:
            raise TypeError(f"Settings.build: unknown field(s) {', '.join(unknown)}")
        values = {}
        for name, option in by_field.items():
            layers = [default_layer(option, here)]
            if name in raw and present(raw[name]):
                layers.append((Source(option.flag, here, command_line=True), raw[name]))
            values[name] = resolve(option, layers)
        return cls(**values)
