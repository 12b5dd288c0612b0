"""``--asr-require-device``, ``--asr-html`` and ``--asr-markdown`` through a real pytest run.

The host is a simulated CPU-only machine (tests/conftest.py): a CUDA leg cannot pass here.
"""

from __future__ import annotations

import pytest

from conftest import BASE  # type: ignore[import-not-found]


def test_a_required_cuda_on_a_cpu_machine_fails_naming_why(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess(*BASE, "--asr-device", "cpu", "--asr-device", "cuda",
                                         "--asr-require-device", "cuda", "--benchmark-disable")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=4, skipped=4)
    result.stdout.fnmatch_lines([
        "*asrbench: --asr-require-device cuda: no utterance was measured on cuda; skipped: "
        "stub:answers.json on cuda: cuda: CUDA is not available*; the run fails"])


def test_a_required_device_not_run_at_all_says_so(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess(*BASE, "--asr-device", "cpu",
                                         "--asr-require-device", "mps", "--benchmark-disable")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*--asr-require-device mps: no utterance was measured on mps; "
                                 "it is not among the devices run (--asr-device cpu)*"])


def test_a_required_cpu_passes_and_the_ini_mirror_is_read(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nasr_require_device =\n    cpu\n")
    result = project.runpytest_inprocess(*BASE, "--asr-device", "cpu", "--benchmark-disable")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=4)
    assert "asr-require-device" not in result.stdout.str()


def test_a_required_device_that_is_not_a_device_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess(*BASE, "--asr-require-device", "tpu")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--asr-require-device 'tpu': unknown device; valid: cpu, cuda, "
                                 "cuda:N, mps*"])


def test_html_and_markdown_are_written_and_markdown_appends(project: pytest.Pytester) -> None:
    summary = project.path / "summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    result = project.runpytest_inprocess(*BASE, "--asr-device", "cpu", "--benchmark-disable",
                                         "--asr-html", "page.html", "--asr-markdown", "summary.md")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["HTML report written to */page.html",
                                 "Markdown summary appended to */summary.md"])
    page = (project.path / "page.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "stub:answers.json" in page
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# earlier step\n") and "| stub:answers.json" in text
