"""asrbench's own hooks: add a normaliser, a dataset format or report fields from a conftest.

Each hook's docstring is a ready ``conftest.py`` example. The hooks are registered by the plugin
(``pytest_addhooks``), so a conftest or an installed pytest plugin implements them like any pytest
hook: a function of the same name taking any subset of the arguments. Hook names start with
``pytest_`` because pytest only looks for hook implementations under that prefix. Normalisers and
datasets are resolved once, when the first test using an asrbench fixture is collected, so
implement those hooks in a plugin or in a conftest pytest has read by then (the root one is safest).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy
import pytest

if TYPE_CHECKING:
    from asrbench.bench.results import RunSummary
    from asrbench.data.datasets import Dataset

__all__ = [
    "pytest_asrbench_load_dataset",
    "pytest_asrbench_register_normalisers",
    "pytest_asrbench_report_fields",
]

_spec = pluggy.HookspecMarker("pytest")


@_spec()
def pytest_asrbench_register_normalisers(
    register: Callable[..., None], config: pytest.Config
) -> None:
    """Add text normalisers, selectable with ``--asr-normalizer NAME``.

    ``register(name, normalise, *, package=None)`` takes a function from text to text; ``package``
    (a distribution name) puts its version into the normaliser label recorded with every score.
    The built-in normalisers (``whisper-english``, ``whisper-basic``, ``none``) are registered the
    same way; registering one of their names replaces it for this run. Example::

        # conftest.py
        import unicodedata

        def pytest_asrbench_register_normalisers(register):
            def fold(text):
                text = unicodedata.normalize("NFKD", text).casefold()
                return "".join(c for c in text if c.isalnum() or c.isspace())

            register("folded", fold)

    then ``pytest --asr-normalizer folded``.
    """


@_spec(firstresult=True)
def pytest_asrbench_load_dataset(spec: str, base: Path, config: pytest.Config,
                                 hf_audio_column: str, hf_text_column: str) -> Dataset | None:
    """Read one ``--asr-dataset`` value into a :class:`asrbench.data.datasets.Dataset`, or return None.

    The first implementation that returns a dataset wins; the built-in forms (``smoke``, a JSONL
    manifest, a LibriSpeech folder, ``hf:PATH_OR_NAME[:SPLIT]``) are implemented ``trylast``, so a
    conftest sees every value first. ``base`` is the folder relative paths are read from;
    ``hf_audio_column`` and ``hf_text_column`` are the run's ``--asr-hf-audio-column`` and
    ``--asr-hf-text-column``, for a format with named columns. Called once per value, after the
    options are read and before any test runs. Raise
    :class:`asrbench.core.errors.ConfigError` for a value of your form that is wrong. Items whose audio
    is a file need only a path; a format that stores audio otherwise subclasses ``Dataset`` and
    overrides ``load``. Example: a TSV of ``path<TAB>text`` lines as ``tsv:FILE``::

        # conftest.py
        from asrbench.data.datasets import Dataset, UtteranceSpec

        def pytest_asrbench_load_dataset(spec, base):
            if not spec.startswith("tsv:"):
                return None
            table = base / spec.removeprefix("tsv:")
            items = []
            for line in table.read_text().splitlines():
                audio, text = line.split("\\t", 1)
                items.append(UtteranceSpec(id=audio.rsplit(".", 1)[0], path=table.parent / audio,
                                           text=text))
            return Dataset(name=table.stem, source=str(table), items=tuple(items))

    then ``pytest --asr-dataset tsv:data/dev.tsv``.
    """


@_spec()
def pytest_asrbench_report_fields(summary: RunSummary, config: pytest.Config) -> dict[str, Any] | None:
    """Extra figures for one model × device × dataset run, kept under ``"extra"`` in its report.

    Called once per run summary when the JSON report (``--asr-report``, and the ``asrbench`` part
    of pytest-benchmark's JSON) is built; the dictionaries every implementation returns are merged
    (later plugins win on a clash) and must be JSON-serialisable. Example: words per second::

        # conftest.py
        def pytest_asrbench_report_fields(summary):
            seconds = summary.rtf * summary.audio_seconds
            return {"words_per_second": summary.words.reference / seconds if seconds else None}
    """
