"""The cost figures through the plugin, each computed independently: CPU time with an engine that
burns a known amount of CPU, energy with a fake powercap tree that wraps around, time to first
text with an engine that marks its first text on a schedule under the fake clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tick_engine  # type: ignore[import-not-found]
from asrbench.bench import costs, protocol
from asrbench.cli import main
from asrbench.engines.first_text import WHOLE_TRANSCRIPT
from asrbench.hardware import energy
from asrbench.reporting.schema import validate
from conftest import SUITE  # type: ignore[import-not-found]

ARGS = ["--asr-device", "cpu", "--asr-dataset", "data/set.jsonl", "--asr-max-wer", "10",
        "--asr-report", "r.json", "--asr-fast", "--benchmark-disable", "-p", "no:cacheprovider"]
AUDIO = 1.0 + 1.5 + 2.0  # the project's three clips, seconds

ENGINES = """
import hashlib, os, threading, time
from pathlib import Path
from stub_engine import StubEngine
from asrbench.engines import register_engine
from asrbench.engines.first_text import mark_first_text
from tick_engine import CLOCK, TickEngine

BURN = 0.2

def burn(seconds):
    start, block = time.thread_time(), b"x" * (1 << 16)
    while time.thread_time() - start < seconds:
        hashlib.sha256(block).digest()  # releases the GIL: threads burn in parallel

class Burner(StubEngine):
    name = "burner"
    runtime = "ctranslate2"
    def transcribe(self, audio):
        threads = int(os.environ["BURN_THREADS"])
        workers = [threading.Thread(target=burn, args=(BURN / threads,)) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return super().transcribe(audio)

class Powered(StubEngine):
    name = "powered"
    runtime = "ctranslate2"
    def transcribe(self, audio):
        counter = Path(os.environ["FAKE_RAPL"]) / "intel-rapl:0" / "energy_uj"
        value = int(counter.read_text()) + 2_000_000  # 2 J a call
        counter.write_text(str(value % 10_000_000))  # wraps at 10 J
        return super().transcribe(audio)

class Streaming(TickEngine):
    name = "streaming"
    incremental = True
    def transcribe(self, audio):
        CLOCK.now += 0.25
        mark_first_text()
        mark_first_text()  # only the first mark counts
        CLOCK.now += 0.75
        return "the quick brown fox jumps over the lazy dog"

for cls in (StubEngine, Burner, Powered, Streaming, TickEngine):
    register_engine(cls.name, cls)
"""


@pytest.fixture
def engines(project):
    project.makeconftest(ENGINES)
    project.makepyfile(test_suite=SUITE.read_text())
    yield project
    from asrbench.engines import registry

    for name in ("burner", "powered", "streaming", "tick"):
        registry._registered.pop(name, None)
    registry.engine_class.cache_clear()


def _report(project: pytest.Pytester) -> tuple[dict, dict]:
    data = json.loads((project.path / "r.json").read_text())
    assert validate(data) == []
    return data["runs"][0], {u["id"]: u for u in data["utterances"]}


@pytest.mark.parametrize("threads", [1, 2])
def test_cpu_time_of_an_engine_that_burns_a_known_amount(engines, monkeypatch, threads):
    monkeypatch.setenv("BURN_THREADS", str(threads))
    result = engines.runpytest_inprocess("--asr-model", "burner:answers.json", *ARGS)
    result.assert_outcomes(passed=4)
    run, utts = _report(engines)
    for utt in utts.values():  # 0.2 s of CPU a call, plus a little of the stub's own
        assert 0.2 <= utt["cpu_seconds"] < 0.26
    burned = sum(u["cpu_seconds"] for u in utts.values())
    assert run["cpu_seconds"] == pytest.approx(burned)
    assert run["core_hours_per_audio_hour"] == pytest.approx(burned / AUDIO)
    assert 0.6 / AUDIO <= run["core_hours_per_audio_hour"] < 0.78 / AUDIO
    compute = sum(u["latency"] for u in utts.values())
    assert run["cpu_utilisation"] == pytest.approx(burned / compute)
    assert 0 < run["cpu_utilisation"] <= threads + 0.05
    assert "all threads" in run["cpu_time_method"]
    assert "synchronise" in run["cpu_time_method"]
    result.stdout.fnmatch_lines([f"*core-h/audio-h {run['core_hours_per_audio_hour']:.3g}*"])
    # asrbench plot: WER against core-hours per audio hour
    assert main(["plot", "--report", "r.json", "--out", "plots"]) == 0
    assert (engines.path / "plots" / "wer_vs_core_hours.png").stat().st_size > 0


def _powercap(root: Path, start_uj: int) -> None:
    zone = root / "intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "name").write_text("package-0\n")
    (zone / "energy_uj").write_text(f"{start_uj}\n")
    (zone / "max_energy_range_uj").write_text("10000000\n")


def test_energy_from_a_fake_powercap_tree_that_wraps(engines, monkeypatch, tmp_path):
    root = tmp_path / "powercap"
    _powercap(root, 9_500_000)  # the first measured call wraps past 10 J
    monkeypatch.setenv("FAKE_RAPL", str(root))
    real = energy.counters_for
    monkeypatch.setattr(energy, "counters_for",
                        lambda kind, index=None: real(kind, index, powercap=root, platform="linux"))
    monkeypatch.setattr(costs, "IDLE_CAP_SECONDS", 0.05)
    result = engines.runpytest_inprocess("--asr-model", "powered:answers.json", *ARGS)
    result.assert_outcomes(passed=4)
    run, utts = _report(engines)
    for utt in utts.values():
        assert utt["energy_joules"] == pytest.approx(2.0)  # 2 J a call, wrap-around corrected
    assert run["energy_joules"] == pytest.approx(6.0)
    assert run["joules_per_audio_hour"] == pytest.approx(6.0 / AUDIO * 3600)
    assert run["idle_watts"] == 0.0  # nothing counted while idle
    assert 0 < run["idle_seconds"] <= 0.2
    assert "capped at 0.05 s" in run["idle_method"]
    assert run["net_energy_joules"] == pytest.approx(6.0)
    assert run["energy_method"] == "RAPL via Linux powercap (energy_uj)"
    assert "socket-wide" in run["energy_scope"]
    assert "wrap-around" in run["energy_sampling"]
    assert run["host_energy_joules"] is None
    assert "no separate host counter" in run["host_energy_joules_reason"]
    result.stdout.fnmatch_lines([f"*J/audio-h {6.0 / AUDIO * 3600:.0f}*"])


def test_energy_is_null_with_the_reason_without_a_readable_counter(engines, monkeypatch, tmp_path):
    real = energy.counters_for
    monkeypatch.setattr(energy, "counters_for", lambda kind, index=None: real(
        kind, index, powercap=tmp_path / "none", platform="linux"))
    engines.runpytest_inprocess("--asr-model", "stub:answers.json", *ARGS).assert_outcomes(passed=4)
    run, _ = _report(engines)
    for name in ("energy_joules", "joules_per_audio_hour", "net_energy_joules", "idle_watts"):
        assert run[name] is None
        assert run[f"{name}_reason"] == "no RAPL powercap zones on this machine"


def test_idle_power_is_subtracted_for_the_net_figures(engines, monkeypatch, tmp_path):
    root = tmp_path / "powercap"
    _powercap(root, 0)
    monkeypatch.setenv("FAKE_RAPL", str(root))
    real = energy.counters_for
    monkeypatch.setattr(energy, "counters_for",
                        lambda kind, index=None: real(kind, index, powercap=root, platform="linux"))
    counter = root / "intel-rapl:0" / "energy_uj"

    def idle(self, seconds):  # the idle interval counts 0.5 J over its (real, short) length
        self.start()
        counter.write_text(str(int(counter.read_text()) + 500_000))
        return energy.IdleReading(self.stop())

    monkeypatch.setattr(energy.EnergyMeter, "measure_idle", idle)
    engines.runpytest_inprocess("--asr-model", "powered:answers.json", *ARGS).assert_outcomes(passed=4)
    run, utts = _report(engines)
    watts = 0.5 / run["idle_seconds"]
    assert run["idle_watts"] == pytest.approx(watts)
    compute = sum(u["latency"] for u in utts.values())
    assert run["net_energy_joules"] == pytest.approx(6.0 - watts * compute)
    assert run["net_joules_per_audio_hour"] == pytest.approx((6.0 - watts * compute) / AUDIO * 3600)


@pytest.fixture
def ticking(engines, monkeypatch):
    tick_engine.CLOCK.now = 0.0
    monkeypatch.setattr(protocol, "CLOCK", tick_engine.CLOCK)
    return engines


def test_first_text_on_a_schedule_under_the_fake_clock(ticking):
    result = ticking.runpytest_inprocess("--asr-model", "streaming", *ARGS, "--asr-rounds", "3")
    result.assert_outcomes(passed=4)
    run, utts = _report(ticking)
    for utt in utts.values():
        assert utt["first_text_latency"] == 0.25
        assert utt["latencies"] == [1.0]
    assert run["first_text_latency_p50"] == 0.25
    result.stdout.fnmatch_lines(["*1st text s 0.250*"])


def test_an_engine_with_whole_transcripts_only_has_no_first_text(ticking):
    ticking.runpytest_inprocess("--asr-model", "tick", *ARGS).assert_outcomes(passed=4)
    run, utts = _report(ticking)
    assert run["first_text_latency_p50"] is None
    assert run["first_text_latency_p50_reason"] == WHOLE_TRANSCRIPT
    assert all(u["first_text_latency_reason"] == WHOLE_TRANSCRIPT for u in utts.values())
