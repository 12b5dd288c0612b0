"""Dataset values: what ``--asr-dataset`` names (:class:`DatasetSpec`), the built-in formats, and
the run's datasets once loaded (:func:`load_datasets` → :class:`LoadedDatasets`).

The built-in forms (``smoke``, a JSONL manifest, a LibriSpeech-layout folder,
``hf:PATH_OR_NAME[:SPLIT]``) are one ``trylast`` implementation of the
``pytest_asrbench_load_dataset`` hook (:class:`BuiltinFormats`), so a conftest's format is asked
first, and an unknown value gets one error listing every built-in form. The plugin passes that hook
as ``load``; without it (a script, a unit test) the built-in forms are read directly. Everything a
format needs, the ``hf:`` column names included, comes in as arguments: this module reads no option.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from asrbench.core.errors import ConfigError

if TYPE_CHECKING:
    from asrbench.data.datasets import Dataset
    from asrbench.data.shards import Shard

__all__ = ["BUILTIN_FORMS", "HF_PREFIX", "BuiltinFormats", "DatasetSpec", "LoadedDatasets",
           "load_builtin", "load_datasets", "parse_dataset_spec", "register"]

#: How each built-in form is written, for error messages and ``--help``.
BUILTIN_FORMS = ("'smoke'", "a JSONL manifest", "a LibriSpeech-layout folder",
                 "'hf:PATH_OR_NAME[:SPLIT]'")
HF_PREFIX = "hf:"

#: The same marker as ``pytest.hookimpl`` (project name ``pytest``), without importing pytest.
_hookimpl = pluggy.HookimplMarker("pytest")

#: Reads one value: called with ``spec``, ``base``, ``hf_audio_column`` and ``hf_text_column``
#: (the plugin passes the hook relay, which adds ``config``); returns a dataset or ``None``.
Loader = Callable[..., Any]


@dataclass(frozen=True)
class DatasetSpec:
    """One ``--asr-dataset`` value as written: not read yet, only checked for form.

    ``base`` is the folder relative paths are read from, ``where`` names the option or file it came
    from in errors.
    """

    value: str
    base: Path
    where: str = "--asr-dataset"

    def __str__(self) -> str:
        return self.value


def parse_dataset_spec(value: object, *, base: Path, where: str = "--asr-dataset") -> DatasetSpec:
    """A :class:`DatasetSpec`, or :class:`ConfigError` naming ``where`` for a value of no form."""
    if not isinstance(value, str | Path):
        raise ConfigError(f"{where} {value!r}: expected a text value, got {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise ConfigError(f"{where}: a dataset value cannot be empty; valid: "
                          f"{', '.join(BUILTIN_FORMS)}")
    if text.startswith(HF_PREFIX) and not text.removeprefix(HF_PREFIX).strip(":"):
        raise ConfigError(f"{where} {text!r}: hf: needs a folder or dataset name; valid: "
                          "hf:PATH_OR_NAME[:SPLIT]")
    return DatasetSpec(text, base, where)


@dataclass(frozen=True)
class LoadedDatasets:
    """The run's datasets: only this run's shard of each, with each whole dataset's identity."""

    datasets: tuple[Dataset, ...] = ()
    #: Dataset name → short hash of its whole manifest (before sharding).
    digests: Mapping[str, str] = field(default_factory=dict)
    #: Dataset name → every utterance id of the whole dataset (before sharding).
    ids: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def load_builtin(spec: str, base: Path, hf_audio_column: str = "audio",
                 hf_text_column: str = "text") -> Dataset | None:
    """A built-in form, or ``None`` when ``spec`` is none of them (no such file or folder)."""
    from asrbench.data.datasets import SMOKE, load_dataset

    if spec == SMOKE:
        return load_dataset(SMOKE)
    if spec.startswith(HF_PREFIX):
        from asrbench.data import hf  # imports `datasets` only now, for an hf: value

        return hf.load_hf_dataset(spec.removeprefix(HF_PREFIX), base=base,
                                  audio_column=hf_audio_column, text_column=hf_text_column)
    path = Path(spec).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.exists():
        return None
    # audio outside the manifest's folder is refused by load_datasets, unless allowed
    return load_dataset(str(path), allow_outside_paths=True)


class BuiltinFormats:
    """The built-in forms as the last implementation of ``pytest_asrbench_load_dataset``."""

    @_hookimpl(trylast=True)
    def pytest_asrbench_load_dataset(self, spec: str, base: Path, hf_audio_column: str,
                                     hf_text_column: str) -> Dataset | None:
        return load_builtin(spec, base, hf_audio_column, hf_text_column)


def register(pluginmanager: pluggy.PluginManager) -> None:
    """Register the built-in formats (once per plugin manager)."""
    name = "asrbench-format-builtin"
    if pluginmanager.get_plugin(name) is None:
        pluginmanager.register(BuiltinFormats(), name)


def load_datasets(specs: Iterable[DatasetSpec], *, load: Loader | None = None,
                  shard: Shard | None = None, hf_audio_column: str = "audio",
                  hf_text_column: str = "text", allow_outside_paths: bool = False) -> LoadedDatasets:
    """Read every spec through ``load`` (default: the built-in forms), check each dataset, record
    each whole dataset's identity, then keep only ``shard`` of it.

    :class:`ConfigError`, naming the option, for a value no format reads, a loader's answer that is
    not a :class:`Dataset`, an empty dataset or one id twice, two datasets of one name, and items
    outside their manifest's folder unless ``allow_outside_paths``.
    """
    from asrbench.core.identity import dataset_digest
    from asrbench.data.datasets import check_outside

    read = load if load is not None else load_builtin
    full: list[Dataset] = []
    for spec in specs:
        dataset = _load_one(read, spec, hf_audio_column=hf_audio_column,
                            hf_text_column=hf_text_column)
        if any(d.name == dataset.name for d in full):
            raise ConfigError(f"{spec.where}: two datasets are both named {dataset.name!r}")
        full.append(dataset)
    check_outside(full, allowed=allow_outside_paths)
    digests = {d.name: dataset_digest((i.id, i.path.name, i.text) for i in d.items) for d in full}
    ids = {d.name: tuple(i.id for i in d.items) for d in full}
    if shard is not None:
        from asrbench.data.shards import shard_dataset

        full = [shard_dataset(d, shard) for d in full]
    return LoadedDatasets(tuple(full), digests, ids)


def _load_one(read: Loader, spec: DatasetSpec, *, hf_audio_column: str,
              hf_text_column: str) -> Dataset:
    from asrbench.data.datasets import Dataset, check_dataset

    dataset = read(spec=spec.value, base=spec.base, hf_audio_column=hf_audio_column,
                   hf_text_column=hf_text_column)
    if dataset is None:
        raise ConfigError(
            f"{spec.where} {spec.value!r}: no such file or folder "
            f"({spec.base / Path(spec.value).expanduser()}) and no plugin reads it; valid: "
            f"{', '.join(BUILTIN_FORMS)}, or a form added by a pytest_asrbench_load_dataset hook")
    if not isinstance(dataset, Dataset):
        raise ConfigError(f"{spec.where} {spec.value!r}: a pytest_asrbench_load_dataset hook "
                          f"returned {type(dataset).__name__}, not an asrbench Dataset")
    return check_dataset(dataset)
