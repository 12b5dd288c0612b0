"""Energy, only from real counters, each reading labelled with its method, scope and sampling.

Sources (never an estimate, never a constant-TDP guess; where none is readable the figure is
``None`` with the reason):

- **RAPL** (Linux, Intel and AMD CPUs) through powercap: ``/sys/class/powercap/intel-rapl:*``, the
  package zones and their DRAM sub-zones (core and uncore sub-zones are inside the package figure,
  ``psys`` overlaps the packages: neither is added). Socket-wide: every process on the socket
  counts. ``energy_uj`` wraps at ``max_energy_range_uj``; one wrap between two reads is corrected,
  so read at least once per wrap period (minutes to hours: :meth:`EnergyMeter.poll`). Usually
  readable only by root.
- **NVML** (NVIDIA, Volta and later): ``nvmlDeviceGetTotalEnergyConsumption``, millijoules the whole
  board used since the driver loaded, as a delta.
- **Apple silicon**: the only counters (``powermetrics``) need sudo; nothing is read.

An :class:`EnergyMeter` reads one counter at ``start`` and ``stop`` (and at any ``poll`` between);
:meth:`EnergyMeter.measure_idle` measures the same counter over a quiet interval before the run, so
:func:`energy_figures` can give gross and net (of idle) joules per audio hour side by side.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from asrbench.core.figures import Figure

__all__ = [
    "POWERCAP",
    "AppleCounter",
    "Counter",
    "CounterUnavailable",
    "EnergyFigures",
    "EnergyMeter",
    "EnergyReading",
    "IdleReading",
    "NvmlCounter",
    "RaplCounter",
    "counters_for",
    "energy_figures",
]

POWERCAP = Path("/sys/class/powercap")
_RAPL_PREFIX = "intel-rapl:"  # the powercap driver uses this name on AMD CPUs too


class CounterUnavailable(Exception):
    """A counter cannot be read here; the message is the reason shown in the report."""


class Counter(Protocol):
    """A cumulative energy counter: ``read()`` returns its raw value per part, in joules."""

    method: str
    scope: str
    sampling: str

    def read(self) -> dict[str, float]:
        """Raw cumulative joules per part (zone or board); raises :class:`CounterUnavailable`."""
        ...

    def wrap(self, part: str) -> float | None:
        """The joules at which ``part`` wraps to zero, or ``None`` if it never does."""
        ...


@dataclass(frozen=True)
class EnergyReading:
    """Joules over a region (``None`` with the reason), and what exactly they cover."""

    joules: float | None
    method: str
    scope: str
    sampling: str
    reason: str | None = None
    seconds: float | None = None
    parts: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if (self.joules is None) == (self.reason is None):
            raise ValueError("an energy reading has joules or the reason it has none, not both")

    @property
    def figure(self) -> Figure:
        return Figure(self.joules) if self.joules is not None else Figure.missing(str(self.reason))


@dataclass(frozen=True)
class IdleReading:
    """The same counter over a quiet interval: joules and the mean power, in watts."""

    reading: EnergyReading

    @property
    def watts(self) -> float | None:
        r = self.reading
        return r.joules / r.seconds if r.joules is not None and r.seconds else None


class RaplCounter:
    """CPU package and DRAM energy from Linux powercap; ``root`` is a parameter so tests fake it."""

    method = "RAPL via Linux powercap (energy_uj)"
    scope = "CPU packages and DRAM, socket-wide (all processes on the sockets)"
    sampling = "cumulative counter read at start, stop and each poll; one wrap-around per read corrected"

    def __init__(self, root: Path | str = POWERCAP) -> None:
        self.root = Path(root)
        self._wraps: dict[str, float] = {}

    def zones(self) -> dict[str, Path]:
        """``{name: folder}``: each package zone and each DRAM zone (top-level or sub-zone)."""
        if not self.root.is_dir():
            raise CounterUnavailable("no RAPL powercap zones on this machine")
        found: dict[str, Path] = {}
        for folder in sorted(self.root.glob(f"{_RAPL_PREFIX}*")):
            if not (folder / "energy_uj").exists():
                continue
            try:
                name = (folder / "name").read_text(encoding="utf-8").strip()
            except OSError:
                continue
            if name.startswith("package") or name == "dram":
                label = name if name.startswith("package") else f"dram-{folder.name[len(_RAPL_PREFIX):]}"
                found[label] = folder
        if not found:
            raise CounterUnavailable("no RAPL powercap zones on this machine")
        return found

    def read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for label, folder in self.zones().items():
            try:
                out[label] = int((folder / "energy_uj").read_text(encoding="utf-8")) / 1e6
                if label not in self._wraps:
                    text = (folder / "max_energy_range_uj").read_text(encoding="utf-8")
                    self._wraps[label] = int(text) / 1e6
            except PermissionError as exc:
                raise CounterUnavailable("RAPL not readable: needs root") from exc
            except (OSError, ValueError) as exc:
                raise CounterUnavailable(f"RAPL not readable: {folder}: {exc}") from exc
        return out

    def wrap(self, part: str) -> float | None:
        return self._wraps.get(part)


class NvmlCounter:
    """Whole-board energy of the GPU CUDA numbers ``index``, from NVML (``nvidia-ml-py``)."""

    method = "NVML nvmlDeviceGetTotalEnergyConsumption (mJ)"
    scope = "whole GPU board (all processes on this GPU)"
    sampling = "cumulative counter since driver load, read at start and stop"

    def __init__(self, index: int = 0) -> None:
        self.index = index
        self._handle: Any = None
        self._pynvml: Any = None

    def _open(self) -> tuple[Any, Any]:
        if self._handle is None:
            try:
                import pynvml
            except ImportError as exc:
                raise CounterUnavailable("NVML not available: nvidia-ml-py is not installed") from exc
            from asrbench.hardware import nvml

            try:
                pynvml.nvmlInit()
                self._handle = nvml.cuda_handle(pynvml, self.index)  # CUDA_VISIBLE_DEVICES honoured
            except Exception as exc:  # NVMLError subclasses, one per cause
                raise CounterUnavailable(f"NVML not available: {exc}") from exc
            self._pynvml = pynvml
        return self._pynvml, self._handle

    def read(self) -> dict[str, float]:
        pynvml, handle = self._open()
        try:
            millijoules = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        except Exception as exc:  # NVMLError_NotSupported before Volta
            raise CounterUnavailable(f"NVML total energy not readable on GPU {self.index}: {exc}") from exc
        return {f"gpu{self.index}": int(millijoules) / 1e3}

    def wrap(self, part: str) -> float | None:
        return None  # an unsigned 64-bit count of millijoules


class AppleCounter:
    """Apple silicon: nothing to read without sudo, and the reason says so."""

    method = "none"
    scope = "Apple silicon SoC"
    sampling = "none"

    def read(self) -> dict[str, float]:
        raise CounterUnavailable("Apple silicon: no energy counter readable without sudo "
                                 "(powermetrics needs root)")

    def wrap(self, part: str) -> float | None:
        return None


class _NoCounter:
    method = "none"
    scope = "CPU"
    sampling = "none"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def read(self) -> dict[str, float]:
        raise CounterUnavailable(self.reason)

    def wrap(self, part: str) -> float | None:
        return None


def counters_for(device_kind: str, index: int | None = None, *,
                 powercap: Path | str = POWERCAP, platform: str = sys.platform) -> list[Counter]:
    """The counters that speak for a run on ``device_kind``: the host CPU's, plus the GPU's on cuda."""
    host: Counter
    if platform.startswith("linux"):
        host = RaplCounter(powercap)
    elif platform == "darwin":
        host = AppleCounter()
    else:
        host = _NoCounter(f"no CPU energy counter on {platform}")
    if device_kind == "cuda":
        return [NvmlCounter(index or 0), host]
    return [host]


class EnergyMeter:
    """Joules one counter saw over a region: ``start()``, optionally ``poll()``, ``stop()``."""

    def __init__(self, counter: Counter, *, clock: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.counter = counter
        self.clock = clock
        self.sleep = sleep
        self._last: dict[str, float] | None = None
        self._total: dict[str, float] = {}
        self._started: float | None = None
        self._reason: str | None = None

    def start(self) -> None:
        self._total, self._reason, self._last = {}, None, None
        self._started = self.clock()
        self.poll()

    def poll(self) -> None:
        """Read the counter now and add what it counted since the last read (wrap corrected)."""
        if self._reason is not None:
            return
        try:
            now = self.counter.read()
        except CounterUnavailable as exc:
            self._reason = str(exc)
            return
        if self._last is not None:
            for part, value in now.items():
                delta = value - self._last.get(part, value)
                if delta < 0:
                    wrap = self.counter.wrap(part)
                    if wrap is None:
                        self._reason = f"{part}: counter went backwards ({self._last[part]} → {value} J)"
                        return
                    delta += wrap
                self._total[part] = self._total.get(part, 0.0) + delta
        self._last = now

    def stop(self) -> EnergyReading:
        self.poll()
        seconds = self.clock() - self._started if self._started is not None else None
        c = self.counter
        if self._reason is not None:
            return EnergyReading(None, c.method, c.scope, c.sampling, reason=self._reason,
                                 seconds=seconds)
        parts = tuple(sorted(self._total.items()))
        return EnergyReading(sum(self._total.values()), c.method, c.scope, c.sampling,
                             seconds=seconds, parts=parts)

    def measure_idle(self, seconds: float) -> IdleReading:
        """The counter over ``seconds`` of doing nothing (before the run, as long as the run)."""
        self.start()
        self.sleep(seconds)
        return IdleReading(self.stop())


@dataclass(frozen=True)
class EnergyFigures:
    """A run's energy: gross, idle over the same length, net of idle, each per audio hour too."""

    method: str
    scope: str
    sampling: str
    energy_joules: Figure
    joules_per_audio_hour: Figure
    idle_watts: Figure
    net_joules: Figure
    net_joules_per_audio_hour: Figure

    def as_dict(self, prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {f"{prefix}energy_method": self.method,
                               f"{prefix}energy_scope": self.scope,
                               f"{prefix}energy_sampling": self.sampling}
        for name in ("energy_joules", "joules_per_audio_hour", "idle_watts", "net_joules",
                     "net_joules_per_audio_hour"):
            out.update(getattr(self, name).as_dict(prefix + name))
        return out


def energy_figures(run: EnergyReading, audio_seconds: float, *,
                   idle: IdleReading | None = None) -> EnergyFigures:
    """Gross joules and joules per audio hour, and the same net of idle power over the run's length."""
    hours = audio_seconds / 3600.0
    gross = run.figure
    per_hour = (Figure(gross.value / hours) if gross.value is not None and hours > 0
                else Figure.missing(gross.reason or f"audio seconds is {audio_seconds}"))
    watts = (None if idle is None else idle.watts)
    if idle is None:
        idle_figure = Figure.missing("idle power not measured")
    elif watts is None:
        idle_figure = Figure.missing(idle.reading.reason or "idle interval had no length")
    else:
        idle_figure = Figure(watts)
    if gross.value is None:
        net = gross
    elif idle_figure.value is None or run.seconds is None:
        net = Figure.missing(f"no net figure: {idle_figure.reason or 'run length unknown'}")
    else:
        net = Figure(gross.value - idle_figure.value * run.seconds)
    net_per_hour = (Figure(net.value / hours) if net.value is not None and hours > 0
                    else Figure.missing(net.reason or f"audio seconds is {audio_seconds}"))
    return EnergyFigures(run.method, run.scope, run.sampling, gross, per_hour, idle_figure, net,
                         net_per_hour)
