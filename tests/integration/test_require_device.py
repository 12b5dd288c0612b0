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
    assert page.startswith("<!DOCTYPE html>")
    assert "stub:answers.json" in page
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# earlier step\n")
    assert "| stub:answers.json" in text


def test_an_available_but_broken_mps_skips_and_fails_the_required_leg(
        project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """torch says MPS is there (as on a hosted macOS runner); the probe's matmul on it fails."""
    import torch

    from asrbench.hardware import runtimes
    from stub_engine import StubEngine  # type: ignore[import-not-found]

    monkeypatch.setitem(runtimes._RUNTIMES, "torch", runtimes.TorchRuntime())  # a fresh cache
    monkeypatch.setattr(StubEngine, "runtime", "torch")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    original = torch.Tensor.to

    def to(self: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:
        if args and str(args[0]) == "mps":
            raise RuntimeError("MPS backend out of memory (MPS allocated: 0 bytes)")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(torch.Tensor, "to", to)
    result = project.runpytest_inprocess(*BASE, "--asr-device", "mps", "--asr-require-device",
                                         "mps", "--benchmark-disable", "-rs")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(skipped=4)
    result.stdout.fnmatch_lines([
        "*mps: torch reports it available but a 64x64 matmul on it raised RuntimeError: MPS "
        "backend out of memory*GitHub-hosted macOS runners are virtual machines*",
        "*--asr-require-device mps: no utterance was measured on mps; skipped: stub:answers.json "
        "on mps: mps: torch reports it available but*the run fails"])
    assert StubEngine.loads == []  # refused before any model loaded
