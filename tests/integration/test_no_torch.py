"""No torch where no torch is needed: importing the plugin, and a faster-whisper run on the CPU.

Checked in fresh interpreters (this test process imports torch in ``tests/conftest.py``). torch
alone costs hundreds of megabytes and seconds of start-up; faster-whisper runs on CTranslate2.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SUITE = Path(__file__).parents[1] / "benchmarks" / "test_transcribe.py"

HEAVY = ("torch", "torchaudio", "whisper", "transformers", "liquid_audio")

REPORTER = f"""
import sys

def pytest_terminal_summary(terminalreporter):
    loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)
    terminalreporter.write_line(f"heavy modules loaded: {{loaded or 'none'}}")
"""


def test_importing_the_plugin_imports_no_torch():
    code = (f"import sys, asrbench, asrbench.plugin; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_faster_whisper_cpu_run_imports_no_torch(pytester: pytest.Pytester):
    pytester.makeconftest(REPORTER)
    pytester.makepyfile(test_suite=SUITE.read_text())
    # all three devices requested: the cuda and mps checks are asked of CTranslate2, not torch
    result = pytester.runpytest_subprocess(
        "--asr-model", "faster_whisper", "--asr-device", "cpu", "--asr-device", "cuda",
        "--asr-device", "mps", "--asr-rounds", "1", "--asr-warmup", "0", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["heavy modules loaded: none", "*faster_whisper:tiny.en / cpu / smoke*"])
