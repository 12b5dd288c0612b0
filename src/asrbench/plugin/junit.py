"""Figures in test reports: WER, CER and RTF as test properties, the alignment in pytest-html.

Each utterance test (one that produced a result) and each corpus test (one that asked for
``asr_corpus``) records ``wer``, ``cer`` and ``rtf`` in ``item.user_properties``, as
``record_property`` would, so ``--junitxml`` carries them as ``<property>`` elements; they are the
figures the JSON report states. When pytest-html is active, an utterance test's entry also shows
its word alignment (through pytest-html's extras); without pytest-html nothing of it is imported.
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

from asrbench.bench.results import RunKey
from asrbench.scoring.metrics import rtf, total

if TYPE_CHECKING:
    from asrbench.bench.results import UtteranceResult
    from asrbench.bench.store import ResultStore

__all__ = ["FIGURES", "Properties", "corpus_figures", "utterance_figures"]

#: The figures recorded per test, in this order.
FIGURES = ("wer", "cer", "rtf")


def utterance_figures(result: UtteranceResult) -> list[tuple[str, float]]:
    return [("wer", result.wer), ("cer", result.cer), ("rtf", result.rtf)]


def corpus_figures(store: ResultStore, key: RunKey) -> list[tuple[str, float]]:
    """The corpus figures of ``key`` as :func:`asrbench.bench.results.summarise` computes them."""
    rows = store.rows(key)
    if not rows:
        return []
    return [("wer", total(r.words for r in rows).rate), ("cer", total(r.chars for r in rows).rate),
            ("rtf", rtf(sum(r.latency for r in rows), sum(r.audio_seconds for r in rows)))]


class Properties:
    """A pytest plugin object, registered by the asrbench plugin with the run's result store."""

    def __init__(self, store: ResultStore, case_of: Callable[[pytest.Item], Any]) -> None:
        self.store = store
        self.case_of = case_of

    def _result(self, item: pytest.Item) -> tuple[UtteranceResult | None, list[tuple[str, float]]]:
        case = self.case_of(item)
        if case is None or case.model is None or case.device is None or case.dataset is None:
            return None, []
        key = RunKey(case.model.label, str(case.device), case.dataset.name)
        if case.item is not None:
            result = self.store.result(key, case.item.id)
            return result, utterance_figures(result) if result is not None else []
        if "asr_corpus" in getattr(item, "fixturenames", ()):
            return None, corpus_figures(self.store, key)
        return None, []

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        result: UtteranceResult | None = None
        if call.when == "call":
            result, figures = self._result(item)
            item.user_properties.extend(figures)  # before the report copies them
        report = yield
        if result is not None and item.config.pluginmanager.hasplugin("html"):
            # only when pytest-html is installed and active: no dependency on it otherwise
            extras = importlib.import_module("pytest_html.extras")
            text = (f"{result.model} on {result.device}, {result.dataset}/{result.id}: "
                    f"WER {result.wer:.1%}\n{result.alignment}")
            report.extras = [*getattr(report, "extras", []),  # type: ignore[attr-defined]
                             extras.html(f"<pre>{html.escape(text)}</pre>")]
        return report
