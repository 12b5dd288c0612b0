"""The built-in dataset formats, as ``trylast`` implementations of ``pytest_asrbench_load_dataset``.

``smoke``, a JSONL manifest, a LibriSpeech-layout folder and ``hf:PATH_OR_NAME[:SPLIT]`` are read
through the same hook a conftest implements to add its own format, so a plugin's format is seen
first and an unknown value gets one error listing every built-in form.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from asrbench.core.errors import ConfigError

if TYPE_CHECKING:
    from asrbench.data.datasets import Dataset

__all__ = ["BUILTIN_FORMS", "FileFormats", "HuggingFaceFormat", "SmokeFormat", "register",
           "resolve_dataset"]

#: How each built-in form is written, for error messages and ``--help``.
BUILTIN_FORMS = ("'smoke'", "a JSONL manifest", "a LibriSpeech-layout folder",
                 "'hf:PATH_OR_NAME[:SPLIT]'")
HF_PREFIX = "hf:"
SMOKE = "smoke"


class SmokeFormat:
    """``smoke``: the five bundled LibriVox clips."""

    @pytest.hookimpl(trylast=True)
    def pytest_asrbench_load_dataset(self, spec: str) -> Dataset | None:
        if spec != SMOKE:
            return None
        from asrbench.data.datasets import load_dataset

        return load_dataset(SMOKE)


class FileFormats:
    """A ``.jsonl`` manifest file or a LibriSpeech-layout folder, relative to ``base``."""

    @pytest.hookimpl(trylast=True)
    def pytest_asrbench_load_dataset(self, spec: str, base: Path) -> Dataset | None:
        if spec == SMOKE or spec.startswith(HF_PREFIX):  # those words are theirs, folder or not
            return None
        path = Path(spec).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.exists():
            return None
        from asrbench.data.datasets import load_dataset

        # audio outside the manifest's folder is refused later, unless --asr-allow-outside-paths
        return load_dataset(str(path), allow_outside_paths=True)


class HuggingFaceFormat:
    """``hf:PATH_OR_NAME[:SPLIT]``: a ``save_to_disk`` folder or a dataset in the local cache."""

    @pytest.hookimpl(trylast=True)
    def pytest_asrbench_load_dataset(self, spec: str, base: Path,
                                     config: pytest.Config) -> Dataset | None:
        if not spec.startswith(HF_PREFIX):
            return None
        from asrbench.data import hf  # imports `datasets` only now, for an hf: value

        return hf.load_hf_dataset(spec.removeprefix(HF_PREFIX), base=base,
                                  audio_column=_column(config, "audio"),
                                  text_column=_column(config, "text"))


def _column(config: pytest.Config, kind: str) -> str:
    from asrbench.config.options import option_value

    return str(option_value(config, f"asr-hf-{kind}-column"))


def register(pluginmanager: pytest.PytestPluginManager) -> None:
    """Register the built-in formats (once per plugin manager)."""
    for plugin in (SmokeFormat(), FileFormats(), HuggingFaceFormat()):
        name = f"asrbench-format-{type(plugin).__name__}"
        if pluginmanager.get_plugin(name) is None:
            pluginmanager.register(plugin, name)


def resolve_dataset(config: pytest.Config, spec: str, base: Path) -> Dataset:
    """The dataset a ``--asr-dataset`` value names, through the hook; a ConfigError if none."""
    from asrbench.data.datasets import Dataset, _checked

    dataset: Dataset | None = config.hook.pytest_asrbench_load_dataset(
        spec=spec, base=base, config=config)
    if dataset is None:
        raise ConfigError(
            f"--asr-dataset {spec!r}: no such file or folder ({base / Path(spec).expanduser()}) "
            f"and no plugin reads it; valid: {', '.join(BUILTIN_FORMS)}, or a form added by a "
            "pytest_asrbench_load_dataset hook")
    if not isinstance(dataset, Dataset):
        raise ConfigError(f"--asr-dataset {spec!r}: a pytest_asrbench_load_dataset hook returned "
                          f"{type(dataset).__name__}, not an asrbench Dataset")
    return _checked(dataset)
