"""Without a browser on PATH the browser tests skip, naming what to install, and the suite's skip
rule allows that skip; ``ASRBENCH_REQUIRE_BROWSER=1`` (as ``.ci/run`` sets) makes it a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from headless import (  # type: ignore[import-not-found]
    NO_BROWSER,
    REQUIRE_BROWSER,
    browser_required,
    require_chromium,
)

TEST = '''
import pytest
from headless import NO_BROWSER, require_chromium


def test_page():
    require_chromium()


def test_skips_with_the_browser_reason_itself():
    pytest.skip(NO_BROWSER)
'''
#: The project registers the suite's own skip rule (tests/skip_audit.py), as tests/conftest.py does.
CONFTEST = '''
from skip_audit import SkipAudit


def pytest_configure(config):
    config.pluginmanager.register(SkipAudit(), "skip-audit")
'''


@pytest.fixture
def no_browser(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """PATH holds no browser; ASRBENCH_REQUIRE_BROWSER unset."""
    (tmp_path / "empty-bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)


@pytest.fixture
def browserless(pytester: pytest.Pytester, no_browser: None) -> pytest.Pytester:
    """A project whose tests need the browser, run with a PATH that holds none."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_page=TEST)
    return pytester


def test_no_browser_skips_with_what_to_install_and_the_run_passes(browserless):
    result = browserless.runpytest_inprocess("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=2)
    assert result.ret == pytest.ExitCode.OK
    # one line for every browser test: the reason is raised in tests/headless.py
    result.stdout.fnmatch_lines([f"SKIPPED [[]1[]] *headless.py:*: {NO_BROWSER}"])
    assert "apt install chromium" in NO_BROWSER
    assert "brew install --cask chromium" in NO_BROWSER
    assert "skips that are not absent hardware" not in result.stdout.str()


def test_require_browser_turns_the_skip_into_a_failure(browserless, monkeypatch):
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    result = browserless.runpytest_inprocess("-p", "no:cacheprovider")
    # require_chromium fails; a test skipping with the browser reason on its own is caught by the
    # suite's skip rule, which fails the run
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines([f"*{NO_BROWSER} ({REQUIRE_BROWSER}=1 requires one)",
                                 "*skips that are not absent hardware*",
                                 f"test_page.py::test_skips_with_the_browser_reason_itself: "
                                 f"*{NO_BROWSER}"])


def test_another_skip_still_fails_the_run(browserless):
    browserless.makepyfile(test_other="import pytest\n\ndef test_offline():\n"
                                      "    pytest.skip('no network today')\n")
    result = browserless.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(skipped=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*skips that are not absent hardware*",
                                 "test_other.py::test_offline: *no network today"])
    assert f"test_page.py::test_page: {NO_BROWSER}" not in result.stdout.str()


@pytest.mark.parametrize(("value", "required"), [("1", True), ("yes", True), ("0", False),
                                                 ("", False), (None, False)])
def test_only_a_set_value_other_than_0_requires_the_browser(monkeypatch, value, required):
    if value is None:
        monkeypatch.delenv(REQUIRE_BROWSER, raising=False)
    else:
        monkeypatch.setenv(REQUIRE_BROWSER, value)
    assert browser_required() is required


def test_a_browser_on_path_is_the_one_driven(no_browser, monkeypatch, tmp_path):
    fake = tmp_path / "bin" / "chromium"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    assert require_chromium() == str(fake)
