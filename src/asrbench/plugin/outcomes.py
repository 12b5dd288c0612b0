"""How an asrbench failure shows in pytest: one line, a FAILED test, a record in the report.

An :class:`~asrbench.core.errors.AsrBenchError` (bad audio, an engine error, a timeout, a model that
did not load) is a fact about the input, not a bug in the test: its test fails with the one-line
message and no traceback (``--tb=long`` shows it anyway), also when it happened while setting up a
fixture, where pytest would otherwise call it an error. Every utterance test that ends without a
result is recorded in the run's :class:`~asrbench.bench.store.ResultStore`, so the report lists it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pytest

from asrbench.bench.results import RunKey
from asrbench.bench.store import ResultStore
from asrbench.core.errors import AsrBenchError

__all__ = ["Outcomes"]

#: Attribute set on a report whose failure is asrbench's own one-line kind.
MARK = "asrbench_failure"


class Outcomes:
    """A pytest plugin object, registered by the asrbench plugin with the run's result store."""

    def __init__(self, store: ResultStore, case_of: Callable[[pytest.Item], Any]) -> None:
        self.store = store
        self.case_of = case_of

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        excinfo = call.excinfo
        case = self.case_of(item)
        if excinfo is None or not report.failed or case is None or call.when == "teardown":
            return report
        if isinstance(excinfo.value, AsrBenchError):
            setattr(report, MARK, True)
            if item.config.getoption("tbstyle", "auto") != "long":
                report.longrepr = excinfo.getrepr(style="value", chain=False)
        if case.item is not None:
            self._record(case, excinfo.value)
        return report

    def _record(self, case: Any, error: BaseException) -> None:
        model = case.model.label if case.model is not None else "*"
        device = str(case.device) if case.device is not None else "*"
        key, uid = RunKey(model, device, case.dataset.name), case.item.id
        if self.store.result(key, uid) is None and not self.store.has_failed(key, uid):
            self.store.record_failure(key, uid, error, audio=str(case.item.path))

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, str] | None:
        """A bad input found while setting up its test is that test's failure, not an error."""
        if report.when == "setup" and report.failed and getattr(report, MARK, False):
            return "failed", "F", "FAILED"
        return None
