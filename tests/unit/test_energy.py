"""Energy from fake counters: a powercap tree (two sockets, DRAM, zones that must not be added, a
wrap-around), a fake NVML, and the gross/idle/net arithmetic done by hand."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from asrbench.hardware.energy import (
    AppleCounter,
    EnergyMeter,
    NvmlCounter,
    RaplCounter,
    counters_for,
    energy_figures,
)

MAX_UJ = 262_143_328_850  # a real package max_energy_range_uj


def zone(root: Path, folder: str, name: str, energy_uj: int, max_uj: int = MAX_UJ) -> Path:
    path = root / folder
    path.mkdir(parents=True)
    (path / "name").write_text(name + "\n")
    (path / "energy_uj").write_text(f"{energy_uj}\n")
    (path / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return path


def set_uj(path: Path, energy_uj: int) -> None:
    (path / "energy_uj").write_text(f"{energy_uj}\n")


@pytest.fixture
def powercap(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "powercap"
    return {
        "root": root,
        "pkg0": zone(root, "intel-rapl:0", "package-0", 1_000_000),
        "core0": zone(root, "intel-rapl:0:0", "core", 500_000),
        "dram0": zone(root, "intel-rapl:0:1", "dram", 2_000_000, max_uj=65_712_999_613),
        "pkg1": zone(root, "intel-rapl:1", "package-1", MAX_UJ - 1_000_000),  # about to wrap
        "psys": zone(root, "intel-rapl:2", "psys", 0),
        "mmio": zone(root, "intel-rapl-mmio:0", "package-0", 0),
    }


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rapl_sums_packages_and_dram_and_corrects_a_wrap(powercap):
    counter = RaplCounter(powercap["root"])
    assert sorted(counter.zones()) == ["dram-0:1", "package-0", "package-1"]
    clock = FakeClock()
    meter = EnergyMeter(counter, clock=clock)
    meter.start()
    set_uj(powercap["pkg0"], 1_000_000 + 40_000_000)  # +40 J
    set_uj(powercap["dram0"], 2_000_000 + 5_000_000)  # +5 J
    set_uj(powercap["pkg1"], 2_000_000)  # wrapped: +1 J to the top, +2 J after: 3 J
    set_uj(powercap["core0"], 900_000_000)  # inside the package figure: not added
    set_uj(powercap["psys"], 900_000_000)  # overlaps the packages: not added
    set_uj(powercap["mmio"], 900_000_000)  # the same package through MMIO: not added
    clock.now += 2.0
    reading = meter.stop()
    assert reading.reason is None
    assert reading.joules == pytest.approx(40 + 5 + 3)
    assert dict(reading.parts) == pytest.approx({"package-0": 40.0, "dram-0:1": 5.0, "package-1": 3.0})
    assert reading.seconds == pytest.approx(2.0)
    assert "RAPL" in reading.method
    assert "socket-wide" in reading.scope
    assert "wrap" in reading.sampling


def test_polling_between_reads_keeps_counting_across_several_wraps(powercap):
    meter = EnergyMeter(RaplCounter(powercap["root"]), clock=FakeClock())
    meter.start()
    value = MAX_UJ - 1_000_000
    for _ in range(3):  # three trips round the counter, 100 kJ at a time
        value = (value + 100_000_000_000) % MAX_UJ
        set_uj(powercap["pkg1"], value)
        meter.poll()
    reading = meter.stop()
    assert reading.joules == pytest.approx(300_000.0)


def test_rapl_unreadable_is_null_with_needs_root(powercap, monkeypatch):
    original = Path.read_text

    def guarded(self: Path, *args: object, **kwargs: object) -> str:
        if self.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(self))
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", guarded)
    meter = EnergyMeter(RaplCounter(powercap["root"]))
    meter.start()
    reading = meter.stop()
    assert reading.joules is None
    assert reading.reason == "RAPL not readable: needs root"
    assert reading.figure.as_dict("energy_joules") == {
        "energy_joules": None, "energy_joules_reason": "RAPL not readable: needs root"}


def test_no_powercap_is_null_with_the_reason(tmp_path):
    for root in (tmp_path / "absent", tmp_path):  # no folder; a folder without RAPL zones
        meter = EnergyMeter(RaplCounter(root))
        meter.start()
        reading = meter.stop()
        assert reading.joules is None
        assert reading.reason == "no RAPL powercap zones on this machine"


def fake_pynvml(millijoules: list[int], *, supported: bool = True) -> types.ModuleType:
    module = types.ModuleType("pynvml")
    calls = iter(millijoules)

    class NVMLError(Exception):
        pass

    def total_energy(handle: object) -> int:
        assert handle == ("gpu", 1)
        if not supported:
            raise NVMLError("Not Supported")
        return next(calls)

    module.nvmlInit = lambda: None  # type: ignore[attr-defined]
    module.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    module.nvmlDeviceGetHandleByIndex = lambda index: ("gpu", index)  # type: ignore[attr-defined]
    module.nvmlDeviceGetTotalEnergyConsumption = total_energy  # type: ignore[attr-defined]
    return module


def test_nvml_energy_is_a_delta_of_the_board_counter(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([5_000_000_000, 5_000_123_456]))
    clock = FakeClock()
    meter = EnergyMeter(NvmlCounter(1), clock=clock)
    meter.start()
    clock.now += 1.5
    reading = meter.stop()
    assert reading.joules == pytest.approx(123.456)
    assert reading.parts == (("gpu1", pytest.approx(123.456)),)
    assert reading.scope == "whole GPU board (all processes on this GPU)"


def test_nvml_unsupported_or_absent_is_null_with_the_reason(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([], supported=False))
    meter = EnergyMeter(NvmlCounter(1))
    meter.start()
    reading = meter.stop()
    assert reading.joules is None
    assert reading.reason == "NVML total energy not readable on GPU 1: Not Supported"

    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    meter = EnergyMeter(NvmlCounter(0))
    meter.start()
    assert meter.stop().reason == "NVML not available: nvidia-ml-py is not installed"


def test_apple_and_other_platforms_say_why(tmp_path):
    (apple,) = counters_for("mps", platform="darwin")
    assert isinstance(apple, AppleCounter)
    meter = EnergyMeter(apple)
    meter.start()
    assert "without sudo" in (meter.stop().reason or "")
    (other,) = counters_for("cpu", platform="win32")
    meter = EnergyMeter(other)
    meter.start()
    assert meter.stop().reason == "no CPU energy counter on win32"
    gpu, host = counters_for("cuda", 1, powercap=tmp_path, platform="linux")
    assert isinstance(gpu, NvmlCounter)
    assert gpu.index == 1
    assert isinstance(host, RaplCounter)


def test_idle_over_the_same_length_gives_gross_and_net_per_audio_hour(powercap):
    clock = FakeClock()
    pkg = powercap["pkg0"]
    state = {"uj": 1_000_000}

    def idle_sleep(seconds: float) -> None:  # 10 W while idle
        clock.now += seconds
        state["uj"] += int(10 * seconds * 1e6)
        set_uj(pkg, state["uj"])

    meter = EnergyMeter(RaplCounter(powercap["root"]), clock=clock, sleep=idle_sleep)
    idle = meter.measure_idle(5.0)
    assert idle.reading.joules == pytest.approx(50.0)
    assert idle.watts == pytest.approx(10.0)

    meter.start()
    clock.now += 5.0
    state["uj"] += 200_000_000  # 200 J over the 5 s run
    set_uj(pkg, state["uj"])
    run = meter.stop()
    figures = energy_figures(run, 36.0, idle=idle)  # 36 s of audio: 0.01 h
    assert figures.energy_joules.value == pytest.approx(200.0)
    assert figures.joules_per_audio_hour.value == pytest.approx(20_000.0)
    assert figures.idle_watts.value == pytest.approx(10.0)
    assert figures.net_joules.value == pytest.approx(200.0 - 10.0 * 5.0)
    assert figures.net_joules_per_audio_hour.value == pytest.approx(15_000.0)
    out = figures.as_dict("cpu_")
    assert out["cpu_energy_joules"] == pytest.approx(200.0)
    assert out["cpu_energy_scope"].startswith("CPU packages and DRAM")

    no_idle = energy_figures(run, 36.0)
    assert no_idle.net_joules.value is None
    assert no_idle.net_joules.reason == "no net figure: idle power not measured"
    assert no_idle.joules_per_audio_hour.value == pytest.approx(20_000.0)
    no_audio = energy_figures(run, 0.0, idle=idle)
    assert no_audio.joules_per_audio_hour.value is None


def test_a_missing_counter_leaves_every_figure_null_with_its_reason(tmp_path):
    meter = EnergyMeter(RaplCounter(tmp_path / "absent"))
    meter.start()
    figures = energy_figures(meter.stop(), 36.0, idle=meter.measure_idle(0.0))
    for name in ("energy_joules", "joules_per_audio_hour", "idle_watts", "net_joules",
                 "net_joules_per_audio_hour"):
        figure = getattr(figures, name)
        assert figure.value is None
        assert figure.reason == "no RAPL powercap zones on this machine"


def test_a_counter_that_goes_backwards_without_a_wrap_is_null_not_negative(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([9_000, 4_000]))  # the driver reloaded
    meter = EnergyMeter(NvmlCounter(1))
    meter.start()
    reading = meter.stop()
    assert reading.joules is None
    assert reading.reason == "gpu1: counter went backwards (9.0 → 4.0 J)"
