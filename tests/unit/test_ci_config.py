"""The CI workflow and the tox environments: linted, and each device leg selecting its marker."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
LEGS = {"cpu": "ubuntu", "mps": ["self-hosted", "macOS", "ARM64"],
        "cuda": ["self-hosted", "linux", "cuda"]}


def _workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return data


def _tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini", encoding="utf-8")
    return parser


def _tox_commands(env: str) -> list[str]:
    """An environment's commands, ``{env_name}`` filled in; generative sections expanded."""
    tox = _tox()
    for section in tox.sections():
        match = re.fullmatch(r"testenv:(?:\{(.+)\}|(.+))", section)
        if match and env in (match.group(1) or match.group(2)).split(","):
            text = tox[section].get("commands") or tox["testenv"]["commands"]
            break
    else:
        text = tox["testenv"]["commands"]
    text = text.replace("\\\n", " ").replace("{env_name}", env).replace("{/}", "/")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _pytest_commands(run: str) -> list[list[str]]:
    """The pytest command lines a workflow step runs, through ``tox -e ENV`` where it uses tox."""
    found = []
    for line in run.replace("\\\n", " ").splitlines():
        words = shlex.split(line)
        if words[:2] == ["tox", "-e"]:
            for env in words[2].split(","):
                found += [shlex.split(c) for c in _tox_commands(env) if c.startswith("pytest")]
        elif "pytest" in words:
            found.append(words[words.index("pytest"):])
    return found


def _leg_runs(job: dict[str, Any], leg: dict[str, Any]) -> list[str]:
    runs = []
    for step in job["steps"]:
        text = step.get("run", "")
        for key, value in leg.items():
            text = text.replace(f"${{{{ matrix.{key} }}}}", str(value))
        runs.append(text)
    return runs


def test_actionlint_passes_on_the_workflow():
    tool = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    assert tool, "actionlint is missing: install the test extra (pip install -e '.[test]')"
    result = subprocess.run([tool, str(WORKFLOW)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_device_leg_selects_its_own_marker_and_device():
    bench = _workflow()["jobs"]["bench"]
    legs = bench["strategy"]["matrix"]["include"]
    assert {leg["device"] for leg in legs} == set(LEGS)
    for leg in legs:
        device = leg["device"]
        commands = [c for run in _leg_runs(bench, leg) for c in _pytest_commands(run)]
        assert commands, f"the {device} leg runs no pytest"
        for words in commands:
            assert words[words.index("-m") + 1] == device, f"{device} leg: {words}"
            assert words[words.index("--asr-device") + 1] == device, f"{device} leg: {words}"
            assert words[words.index("--asr-require-device") + 1] == device, f"{device}: {words}"
            assert "tests/benchmarks" in words


@pytest.mark.parametrize("device", sorted(LEGS))
def test_each_leg_runs_on_hardware_with_that_device(device):
    [leg] = [leg for leg in _workflow()["jobs"]["bench"]["strategy"]["matrix"]["include"]
             if leg["device"] == device]
    expected = LEGS[device]
    assert "matrix.runner" in _workflow()["jobs"]["bench"]["runs-on"]
    if isinstance(expected, list):
        assert leg["runner"] == expected
    else:
        assert str(leg["runner"]).startswith(expected)


def test_legs_upload_their_reports_and_a_final_job_compares_them():
    jobs = _workflow()["jobs"]
    upload = [s for s in jobs["bench"]["steps"] if str(s.get("uses", "")).startswith(
        "actions/upload-artifact")]
    assert upload
    assert "reports/${{ matrix.device }}.json" in upload[0]["with"]["path"]
    assert "reports/${{ matrix.device }}-benchmark.json" in upload[0]["with"]["path"]
    compare = jobs["compare"]
    assert compare["needs"] == ["bench"]
    runs = "\n".join(s.get("run", "") for s in compare["steps"])
    assert "asrbench compare" in runs
    assert "$GITHUB_STEP_SUMMARY" in runs


def test_model_weights_are_cached_between_runs():
    for name in ("tests", "bench"):
        caches = [s["with"]["path"] for s in _workflow()["jobs"][name]["steps"]
                  if str(s.get("uses", "")).startswith("actions/cache")]
        assert any("~/.cache/huggingface" in p and "~/.cache/asrbench" in p for p in caches), name


def test_the_scheduled_job_installs_the_newest_releases_without_the_lock():
    workflow = _workflow()
    assert workflow[True]["schedule"]  # YAML 1.1 reads the key "on" as true
    newest = workflow["jobs"]["newest"]
    assert "schedule" in newest["if"]
    runs = "\n".join(s.get("run", "") for s in newest["steps"])
    assert "pip install --upgrade" in runs
    assert "requirements.lock" not in runs
    assert "PIP_CONSTRAINT" not in str(newest)


def test_tox_installs_every_environment_from_the_lock():
    tox = _tox()
    assert "PIP_CONSTRAINT = {tox_root}{/}requirements.lock" in tox["testenv"]["set_env"]
    for section in tox.sections():
        assert "set_env" not in tox[section] or section == "testenv", section
        assert "deps" not in tox[section], f"[{section}] deps would bypass the package's pins"
    assert {"lint", "py312", "cpu"} <= {e.strip() for e in tox["tox"]["env_list"].split(",")}
    lint = _tox_commands("lint")
    assert [c.split()[0] for c in lint] == ["ruff", "mypy", "lint-imports", "actionlint", "mkdocs"]


def test_device_legs_need_their_registered_runner_and_write_the_job_summary():
    bench = _workflow()["jobs"]["bench"]
    for device, variable in (("cuda", "ASRBENCH_CUDA_RUNNER"), ("mps", "ASRBENCH_MPS_RUNNER")):
        assert f"matrix.device == '{device}' && vars.{variable} == 'true'" in bench["runs-on"]
        assert f"vars.{variable}" in bench["env"]["DEVICE_RUNNER"]
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "macos-14" not in text  # hosted macOS runners are VMs without a usable MPS, said so
    assert "pytorch/pytorch#125197" in text
    assert "actions/runner-images#9918" in text
    [suite] = [s for s in bench["steps"] if str(s.get("name", "")).startswith("benchmark suite")]
    assert suite["if"] == "env.DEVICE_RUNNER == 'true'"
    assert '--asr-markdown "$GITHUB_STEP_SUMMARY"' in suite["run"]
    # without the runner the leg says in the job summary that it measured nothing
    notice = [s for s in bench["steps"] if s.get("if") == "env.DEVICE_RUNNER != 'true'"]
    assert notice
    assert "$GITHUB_STEP_SUMMARY" in notice[0]["run"]
