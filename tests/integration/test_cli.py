"""The ``asrbench`` command on runs made by pytester: compare, plot, doctor, convert."""

from __future__ import annotations

import csv
import io
import json

import pytest

from asrbench.cli import main
from asrbench.core import identity
from asrbench.engines.base import Engine
from asrbench.hardware.devices import Device
from asrbench.hardware.runtimes import CTranslate2Runtime, TorchRuntime
from conftest import BASE, write_answers  # type: ignore[import-not-found]

RUN = [*BASE, "--asr-device", "cpu", "--benchmark-autosave", "--asr-max-wer", "1",
       "--asr-rounds", "2"]


@pytest.fixture
def two_runs(project):
    """Run 0001 perfect, run 0002 with two word errors on utterance two."""
    project.runpytest_inprocess(*RUN).assert_outcomes(passed=4)
    write_answers(project, two="he was an ill posed young man")
    project.runpytest_inprocess(*RUN).assert_outcomes(passed=4)
    return project


def test_compare_shows_wer_and_rtf_for_both_runs_with_deltas(two_runs, capsys):
    assert main(["compare", "--storage", str(two_runs.path / ".benchmarks")]) == 0
    out = capsys.readouterr().out
    assert "stub:answers.json / cpu / set" in out
    machine = identity.machine_folder()
    assert f"  {machine}/0001  WER   0.0%" in out
    assert f"  {machine}/0002  WER   8.0%" in out
    # one utterance of three changed: the paired bootstrap cannot tell it from chance
    assert "ΔWER +8.00 pt [95% CI +0.00, +25.00]" in out
    assert "not significant (3 paired utterances)" in out
    assert "ΔRTF" in out
    assert "not like for like" not in out  # same machine
    assert "RTF " in out


def test_compare_csv_parses(two_runs, capsys):
    main(["compare", "0001", "0002", "--storage", str(two_runs.path / ".benchmarks"), "--csv"])
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    machine = identity.machine_folder()
    assert [r["run"] for r in rows] == [f"{machine}/0001", f"{machine}/0002"]
    assert [r["machine"] for r in rows] == [machine, machine]
    assert float(rows[1]["wer"]) == pytest.approx(2 / 25)
    assert float(rows[1]["delta_wer_pt"]) == pytest.approx(8.0)  # points
    assert rows[1]["significant"] == "False"
    assert float(rows[1]["p_value"]) > 0.05
    assert rows[1]["timing_like_for_like"] == "True"


def test_fail_on_wer_exits_non_zero_when_worse(two_runs, capsys):
    storage = str(two_runs.path / ".benchmarks")
    assert main(["compare", "--storage", storage, "--fail-on", "wer:+0"]) == 1
    err = capsys.readouterr().err
    assert "wer 0.0% → 8.0% in run " in err
    assert "0002 (baseline " in err
    assert "breaks wer:+0 (ΔWER +8.00 pt" in err
    # not significant on three utterances: the significance gate lets it through
    assert main(["compare", "--storage", storage, "--fail-on", "wer:+0", "--significant"]) == 0
    assert main(["compare", "--storage", storage, "--fail-on", "wer:+10"]) == 0
    assert main(["compare", "0002", "0001", "--storage", storage, "--fail-on", "wer:+0"]) == 0


def test_compare_errors_are_clear(tmp_path, capsys):
    assert main(["compare", "--storage", str(tmp_path)]) == 2
    assert "no saved runs" in capsys.readouterr().err
    assert main(["compare", "--storage", str(tmp_path), "--fail-on", "speed:+1"]) == 2
    assert "--fail-on 'speed:+1'" in capsys.readouterr().err


def test_plot_writes_png_and_svg(two_runs, tmp_path):
    assert main(["plot", "--storage", str(two_runs.path / ".benchmarks"),
                 "--out", str(tmp_path)]) == 0
    for name in ("wer_vs_speed", "latency"):
        png = tmp_path / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 10_000
        assert (tmp_path / f"{name}.svg").read_text().lstrip().startswith("<?xml")


def test_doctor_on_this_machine(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "cpu     yes" in out
    assert "faster_whisper on mps: " in out
    assert "CTranslate2 has no MPS backend" in out
    assert "CTranslate2 Whisper tiny.en" in out


def test_doctor_with_simulated_cuda_and_mps(monkeypatch, capsys):
    monkeypatch.setattr(TorchRuntime, "unavailable_reason", lambda self, d: None)
    monkeypatch.setattr(TorchRuntime, "describe", lambda self, d: f"Simulated {d.kind.upper()}")
    monkeypatch.setattr(CTranslate2Runtime, "cuda_device_count", lambda self: 1)
    monkeypatch.setattr("asrbench.cli.doctor._cuda_devices", lambda: [Device("cuda", 0)])
    import torch

    class Props:
        total_memory = 80 * 2**30

    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: Props())
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "cuda:0  yes  Simulated CUDA, 80 GiB" in out
    assert "mps     yes  Simulated MPS" in out
    matrix = {line.split()[0]: line.split()[1:] for line in out.splitlines()
              if line.split()[-1:] in (["yes"], ["no"]) and " on " not in line}
    assert matrix["faster_whisper"] == ["yes", "yes", "no"]  # no MPS for CTranslate2
    assert matrix["whisper"] == ["yes", "yes", "yes"]


def test_doctor_exits_one_when_nothing_can_run(monkeypatch, capsys):
    monkeypatch.setattr(TorchRuntime, "unavailable_reason", lambda self, d: "simulated absence")
    # every engine asks its own runtime: none of them has a device either
    monkeypatch.setattr(Engine, "device_unavailable", classmethod(lambda cls, d: "simulated absence"))
    assert main(["doctor"]) == 1


def test_baseline_gate_fails_a_corpus_regression(two_runs):
    result = two_runs.runpytest_inprocess(*BASE, "--asr-device", "cpu", "--asr-max-wer", "1",
                                          "--asr-baseline", "0001", "--benchmark-disable")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*corpus WER 8.0% regressed from 0.0% in baseline run "
                                 "*/0001 by +8.00 pt (margin 0 pt); ΔWER +8.00 pt*not significant*"])
    # the margin is in points: 10 points allow the 8-point rise, 5 points do not
    result = two_runs.runpytest_inprocess(*BASE, "--asr-device", "cpu", "--asr-max-wer", "1",
                                          "--asr-baseline", "0001", "--asr-baseline-margin", "10",
                                          "--benchmark-disable")
    result.assert_outcomes(passed=4)
    result = two_runs.runpytest_inprocess(*BASE, "--asr-device", "cpu", "--asr-max-wer", "1",
                                          "--asr-baseline", "0001", "--asr-baseline-margin", "5",
                                          "--benchmark-disable")
    result.assert_outcomes(passed=3, failed=1)
    # with --asr-baseline-significant, a rise the paired test cannot separate from chance passes
    result = two_runs.runpytest_inprocess(*BASE, "--asr-device", "cpu", "--asr-max-wer", "1",
                                          "--asr-baseline", "0001", "--asr-baseline-significant",
                                          "--benchmark-disable")
    result.assert_outcomes(passed=4)


def test_baseline_gate_on_rtf_fails_a_slowdown_beyond_its_margin(project, monkeypatch):
    args = [*BASE, "--asr-device", "cpu", "--asr-max-wer", "1", "--asr-rounds", "2"]
    monkeypatch.setenv("STUB_SLEEP", "0.005")
    project.runpytest_inprocess(*args, "--benchmark-autosave").assert_outcomes(passed=4)
    monkeypatch.setenv("STUB_SLEEP", "0.05")  # every call about ten times slower
    gated = [*args, "--asr-baseline", "0001", "--benchmark-disable"]
    result = project.runpytest_inprocess(*gated, "--asr-baseline-rtf-margin", "50%")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*RTF * regressed from * in baseline run */0001 by +*% "
                                 "(margin 50%); ΔRTF +*% [[]95% CI *], p=*, significant "
                                 "(3 paired utterances)*"])
    # without the option RTF is not gated; a margin wide enough lets the slowdown through
    project.runpytest_inprocess(*gated).assert_outcomes(passed=4)
    result = project.runpytest_inprocess(*gated, "--asr-baseline-rtf-margin", "100000")
    result.assert_outcomes(passed=4)
    result = project.runpytest_inprocess(*args, "--asr-baseline-rtf-margin", "10")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--asr-baseline-rtf-margin: needs --asr-baseline RUN*"])
    # the same run, as if saved by another machine: its timings cannot gate this one's
    [saved] = (project.path / ".benchmarks").glob("*/0001_*.json")
    data = json.loads(saved.read_text(encoding="utf-8"))
    data["asrbench"]["machine"].update(id="0000other", node="elsewhere")
    saved.write_text(json.dumps(data), encoding="utf-8")
    result = project.runpytest_inprocess(*gated, "--asr-baseline-rtf-margin", "100000")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*baseline run */0001 was timed on another machine (elsewhere); "
                                 "timings are not like for like*"])
    project.runpytest_inprocess(*gated).assert_outcomes(passed=4)  # WER still compares


def test_unknown_baseline_is_a_usage_error(project):
    result = project.runpytest_inprocess(*BASE, "--asr-baseline", "0042")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--asr-baseline: *"])


def test_timing_regression_fails_cleanly_without_a_traceback(project, monkeypatch):
    args = [*BASE, "--asr-device", "cpu", "--asr-rounds", "3", "--benchmark-autosave"]
    monkeypatch.setenv("STUB_SLEEP", "0")
    project.runpytest_inprocess(*args).assert_outcomes(passed=4)
    monkeypatch.setenv("STUB_SLEEP", "0.02")
    result = project.runpytest_inprocess(*args, "--benchmark-compare",
                                         "--benchmark-compare-fail=mean:100%")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*timings regressed beyond --benchmark-compare-fail*"])
    assert "Traceback" not in result.stdout.str()
    assert "INTERNALERROR" not in result.stdout.str()


TORCHAUDIO_MISMATCH = RuntimeError(
    "Detected that PyTorch and TorchAudio were compiled with different CUDA versions. "
    "PyTorch has CUDA version 13.2 whereas TorchAudio has CUDA version 13.0.")


def test_doctor_shows_a_broken_engine_and_fails(break_import, capsys):
    break_import("liquid_audio", TORCHAUDIO_MISMATCH)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "lfm2_5_audio    BROKEN" in out
    assert ("lfm2_5_audio: liquid-audio 1.3.0 is installed but cannot be imported (RuntimeError: "
            "Detected that PyTorch and TorchAudio were compiled with different CUDA versions.") in out
    matrix = {line.split()[0]: line.split()[1:] for line in out.splitlines()
              if line.split()[-1:] in (["yes"], ["no"]) and " on " not in line}
    assert matrix["lfm2_5_audio"] == ["no", "no", "no"]
    assert matrix["faster_whisper"][0] == "yes"


def test_doctor_flags_a_torch_torchaudio_pair_that_does_not_match(monkeypatch, capsys):
    from asrbench.cli import doctor

    versions = {"torch": "2.15.0", "torchaudio": "2.11.0"}
    monkeypatch.setattr(doctor, "_version", versions.get)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "torch 2.15.0 and torchaudio 2.11.0 are not a release pair" in out


def test_doctor_is_healthy_on_the_locked_environment(capsys):
    assert main(["doctor"]) == 0
    assert "Broken:" not in capsys.readouterr().out


def test_timing_regression_is_ored_into_the_exit_status(project, monkeypatch):
    from asrbench.plugin import failed_status

    assert failed_status(pytest.ExitCode.OK) == pytest.ExitCode.TESTS_FAILED
    assert failed_status(pytest.ExitCode.TESTS_FAILED) == pytest.ExitCode.TESTS_FAILED
    assert failed_status(pytest.ExitCode.INTERRUPTED) == pytest.ExitCode.INTERRUPTED
    args = [*BASE, "--asr-device", "cpu", "--asr-rounds", "3", "--benchmark-autosave"]
    monkeypatch.setenv("STUB_SLEEP", "0")
    project.runpytest_inprocess(*args).assert_outcomes(passed=4)
    monkeypatch.setenv("STUB_SLEEP", "0.02")
    # another plugin's status is kept, not overwritten by the regression's
    project.makeconftest(
        (project.path / "conftest.py").read_text()
        + "\ndef pytest_sessionfinish(session):\n"
          "    session.exitstatus = 2\n")
    result = project.runpytest_inprocess(*args, "--benchmark-compare",
                                         "--benchmark-compare-fail=mean:100%")
    result.stdout.fnmatch_lines(["*timings regressed beyond --benchmark-compare-fail*"])
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_significant_baseline_gate_fires_on_a_regression_of_every_utterance(two_runs):
    write_answers(two_runs, one="the quick brown fox jumps over the dog",
                  two="he was an ill disposed young man", three="she sells shells by the sea shore")
    args = [*BASE, "--asr-device", "cpu", "--asr-max-wer", "1", "--asr-baseline", "0001",
            "--asr-baseline-significant", "--benchmark-disable"]
    result = two_runs.runpytest_inprocess(*args)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*regressed from 0.0% in baseline run */0001 by +12.00 pt*"
                                 "significant (3 paired utterances)*"])
    # the corpus test alone transcribes its utterances itself and is tested on them all the same
    result = two_runs.runpytest_inprocess(*args, "-k", "corpus")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*, significant (3 paired utterances)*"])
