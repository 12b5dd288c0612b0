"""The suite's skip rule: a skip must mean absent hardware (CUDA/MPS) or, unless
``ASRBENCH_REQUIRE_BROWSER`` is set, an absent system browser; any other skip fails the run.

tests/conftest.py registers one :class:`SkipAudit` per run; a pytester project can register its own.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from headless import NO_BROWSER, browser_required  # type: ignore[import-not-found]

__all__ = ["DEVICE_SKIP", "SkipAudit", "allowed_skip"]

#: Skip reasons that mean "this machine lacks the hardware".
DEVICE_SKIP = re.compile(
    r"CUDA is not available|only \d+ CUDA device|Apple MPS is not available|"
    r"has no MPS backend|not on this test machine", re.IGNORECASE)


def allowed_skip(reason: str) -> bool:
    """Absent CUDA/MPS hardware, or an absent browser while ``ASRBENCH_REQUIRE_BROWSER`` is unset."""
    return bool(DEVICE_SKIP.search(reason)) or (NO_BROWSER in reason and not browser_required())


class SkipAudit:
    """Collects the skips the rule does not allow, lists them, and fails an otherwise green run."""

    def __init__(self) -> None:
        self.bad: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            longrepr = report.longrepr
            reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
            if not allowed_skip(reason):
                self.bad.append(f"{report.nodeid}: {reason}")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.bad:
            terminalreporter.section("skips that are not absent hardware", red=True)
            for line in self.bad:
                terminalreporter.write_line(line)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.bad and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
