"""``asrbench ab``: two pytest commands run alternately (the stub engine; a plugin module makes
side B sleep longer on every call). The verdicts are tested on runs made in-process (seconds, not
minutes); one test launches real fresh processes."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest

import asrbench
from asrbench.cli import main
from asrbench.cli.ab import pair_orders
from conftest import BASE  # type: ignore[import-not-found]

TESTS = Path(__file__).parents[1]
ARGS = shlex.join([*BASE, "--asr-device", "cpu", "--asr-max-wer", "1", "--asr-rounds", "1"])


SLOWER = """import os

def pytest_configure(config):
    os.environ["STUB_SLEEP"] = "0.06"

def pytest_unconfigure(config):
    os.environ["STUB_SLEEP"] = "0.02"
"""


@pytest.fixture
def ab_project(project, monkeypatch):
    """The stub project, runnable by a fresh ``python -m pytest``; ``-p slower`` makes every
    transcription sleep 60 ms instead of 20 ms."""
    path = [str(Path(asrbench.__file__).parents[1]), str(TESTS), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in path if p))
    monkeypatch.setenv("STUB_SLEEP", "0.02")
    (project.path / "slower.py").write_text(SLOWER)
    monkeypatch.chdir(project.path)
    monkeypatch.syspath_prepend(project.path)
    return project


@pytest.fixture
def in_process(ab_project, monkeypatch, capsys):
    """ab's runs made by ``runpytest_inprocess`` instead of a fresh interpreter each."""
    launched: list[list[str]] = []

    def launch(argv: list[str], cwd: Path, log: Path) -> int:
        assert argv[1:3] == ["-m", "pytest"]
        launched.append(argv)
        result = ab_project.runpytest_inprocess(*argv[3:])
        log.write_text(result.stdout.str())
        capsys.readouterr()  # pytester echoes the run's output: keep ab's own apart
        return int(result.ret)

    monkeypatch.setattr("asrbench.cli.ab._launch", launch)
    return launched


def test_identical_commands_never_answer_slower_or_faster_and_a_slowdown_is_slower(
        ab_project, in_process, capsys):
    out = ab_project.path / "same"
    code = main(["ab", "--pairs", "3", "--a", ARGS, "--b", ARGS, "--seed", "7", "--out", str(out),
                 "--json", "--fail-on", "rtf:+50%"])
    captured = capsys.readouterr()
    [record] = json.loads(captured.out)
    for name, change in record["timing"].items():
        assert change["verdict"] in ("equivalent", "no decision"), (name, change)
        assert change["paired"] is True
        assert (change["runs_base"], change["runs_new"]) == (3, 3)
    assert record["timing"]["rtf"]["verdict"] == "equivalent"  # within 50 %: identical commands
    assert code == 0
    manifest = json.loads((out / "ab.json").read_text())
    assert manifest["seed"] == 7
    assert manifest["orders"] == pair_orders(3, 7)
    assert sorted(p.name for p in out.glob("*.json")) == [
        "a-01.json", "a-02.json", "a-03.json", "ab.json", "b-01.json", "b-02.json", "b-03.json"]
    assert "seed 7" in captured.err
    firsts = [argv[argv.index("--asr-report") + 1][-9] for argv in in_process[::2]]
    assert "".join(firsts) == "".join(order[0] for order in pair_orders(3, 7)).lower()
    assert f"asrbench compare {out}/a-*.json --vs {out}/b-*.json --paired" in captured.err
    # each run was also saved into the storage under its label
    saved = sorted(p.name.split("_", 1)[1] for p in (ab_project.path / ".benchmarks").glob("*/*"))
    assert saved == ["ab-7-a.json"] * 3 + ["ab-7-b.json"] * 3

    slow = ab_project.path / "slow"
    code = main(["ab", "--pairs", "3", "--a", ARGS, "--b", f"{ARGS} -p slower", "--out", str(slow),
                 "--fail-on", "rtf:+5%", "--no-save"])
    captured = capsys.readouterr()
    assert code == 1
    assert "RTF +" in captured.out
    assert "over 3 paired runs: SLOWER (margin 5%)" in captured.out
    assert "FAIL " in captured.err
    # the same reports through compare, from the line ab printed
    assert main(["compare", f"{slow}/a-*.json", "--vs", f"{slow}/b-*.json", "--paired",
                 "--json"]) == 0
    [again] = json.loads(capsys.readouterr().out)
    assert again["timing"]["rtf"]["verdict"] == "slower"
    assert 2 < again["timing"]["rtf"]["ratio"] < 4  # 60 ms against 20 ms per call, plus overhead


def test_fresh_processes_and_a_side_that_writes_no_report(ab_project, capsys):
    out = ab_project.path / "broken"
    seed = next(s for s in range(100) if pair_orders(1, s) == ["AB"])
    code = main(["ab", "--pairs", "1", "--a", ARGS, "--b", f"{ARGS} --asr-model nosuch:x",
                 "--out", str(out), "--seed", str(seed), "--no-save"])
    assert code == 2
    err = capsys.readouterr().err
    assert "b-01.log: side B's pytest (exit 4) wrote no report" in err
    assert "nosuch" in (out / "b-01.log").read_text()
    report = json.loads((out / "a-01.json").read_text())  # side A ran in its own process
    assert report["runs"][0]["model"] == "stub:answers.json"
    assert "4 passed" in (out / "a-01.log").read_text()
    assert main(["ab", "--pairs", "0", "--a", ARGS, "--b", ARGS]) == 2
    assert "--pairs 0: expected 1 or more" in capsys.readouterr().err


def test_pair_orders_are_shuffled_and_reproducible():
    orders = pair_orders(40, 3)
    assert orders == pair_orders(40, 3)
    assert set(orders) == {"AB", "BA"}
    assert orders != pair_orders(40, 4)
