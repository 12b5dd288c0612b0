"""The shipped examples are valid: the GitHub Actions shard matrix and the A/B timing gate pass
actionlint."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_github_actions_shard_example_passes_actionlint():
    exe = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    workflow = EXAMPLES / "github-actions-shards.yml"
    result = subprocess.run([exe, str(workflow)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    text = workflow.read_text()
    assert "--asr-shard ${{ matrix.shard }}/4" in text
    assert "asrbench merge" in text


def test_github_actions_ab_example_passes_actionlint_and_runs_base_against_the_branch():
    exe = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    workflow = EXAMPLES / "github-actions-ab.yml"
    result = subprocess.run([exe, str(workflow)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    text = workflow.read_text()
    assert "ref: ${{ github.base_ref }}" in text
    assert "asrbench ab --pairs 5" in text
    for side in ("--a-python base-env/bin/python --a-cwd base", "--b-python pr-env/bin/python --b-cwd pr"):
        assert side in text
    assert "--fail-on rtf:+10%" in text
