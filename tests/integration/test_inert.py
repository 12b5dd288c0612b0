"""The plugin is inert in a project that uses no asrbench fixture: it reads and loads nothing."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def plain(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with one ordinary test, a broken [tool.asrbench] table and a missing dataset."""
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    pytester.makepyprojecttoml("[tool.asrbench]\nno_such_key = 1\n")
    pytester.makeconftest(
        "import json, sys\n"
        "def pytest_unconfigure(config):\n"
        "    with open('modules.json', 'w') as f:\n"
        "        json.dump(sorted(m for m in sys.modules if m.startswith('asrbench')), f)\n")
    return pytester


def test_unused_plugin_reads_no_config_and_imports_nothing_heavy(plain):
    result = plain.runpytest_subprocess("--asr-dataset", "missing.jsonl", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "asrbench:" not in result.stdout.str()  # no header line, no summary
    modules = set(json.loads((plain.path / "modules.json").read_text()))
    # the subpackages' own __init__ modules hold docstrings only
    packages = {"asrbench.core", "asrbench.hardware", "asrbench.config", "asrbench.data",
                "asrbench.engines", "asrbench.engines.registry"}
    assert modules <= packages | {"asrbench", "asrbench.core.errors", "asrbench.hardware.devices",
                       "asrbench.plugin.markers", "asrbench.config.options", "asrbench.plugin",
                       "asrbench.config.table", "asrbench.config.settings",  # options' table, Settings
                       # asrbench's hooks, declared at start-up, and its built-in dataset formats
                       "asrbench.hookspec", "asrbench.data.formats",
                       "asrbench.plugin.heap"}, modules  # gc only: it acts once asrbench is used


def test_the_same_mistakes_are_usage_errors_once_a_test_uses_asrbench(plain):
    plain.makepyfile(test_asr="def test_asr(asr_dataset):\n    pass\n")
    result = plain.runpytest_inprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown key 'no_such_key'*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
