"""Memory per model × device, each figure labelled with exactly what it is.

A :class:`MemoryWatch` starts just before a model loads and stops when it is released:

- **cpu**: resident memory (RSS) of the whole process, read with psutil: the baseline before
  loading, the peak while the model was loaded, and the growth of the peak over the baseline. The
  peak is the kernel's high-water mark (``getrusage``) when that rose during the window, which makes
  it exact; otherwise the maximum of samples taken every 10 ms and after every call. The 10 ms
  sampler stops once the high-water mark has risen (usually as the model loads): from then on the
  mark is the figure, and the sampler would only wake beside the engine's threads.
- **cuda**, torch engines: torch's peak allocated bytes since loading (not the cached pool, not
  the CUDA context).
- **cuda**, CTranslate2 engines: torch cannot see CTranslate2's allocator, so the figure is this
  process's device memory as NVML reports it (``nvidia-ml-py``), the maximum over samples; it
  includes the CUDA context. When NVML lists no process with our pid (containers hide host pids),
  nothing is reported and the label says why.
- **mps**: the Metal driver's allocation for the process, a pool size and not a peak.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from asrbench.hardware import cputime, nvml
from asrbench.hardware.devices import Device
from asrbench.hardware.runtimes import get_runtime

__all__ = ["SAMPLE_SECONDS", "MemoryWatch"]

SAMPLE_SECONDS = 0.01


class MemoryWatch:
    """Memory of one model on one device, from before its load until it is released."""

    def __init__(self, device: Device, runtime: str | None, *,
                 interval: float = SAMPLE_SECONDS) -> None:
        self.device = device
        self.runtime = runtime
        self.interval = interval
        self.kind = "not measured"
        self.baseline: int | None = None
        self._peak: int | None = None
        self._reader: nvml.Reader | None = None
        self._device_runtime: Any = None
        self._rusage_start: int | None = None
        self._rusage_end: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        if self.device.kind == "cpu":
            import psutil

            process = psutil.Process()
            self._reader = lambda: int(process.memory_info().rss)
            self.baseline = self._reader()
            self._rusage_start = _max_rss()
            self.kind = f"cpu peak RSS of the process while loaded (sampled every " \
                        f"{self.interval * 1000:.0f} ms)"
            self._start_thread()
        elif self.device.kind == "cuda" and self.runtime == "ctranslate2":
            self._reader, self.kind = nvml.process_memory_reader(self.device.index or 0)
            if self._reader is not None:
                self._start_thread()
        else:  # cuda or mps: asked of the engine's runtime (torch's counters for torch engines)
            self._device_runtime = get_runtime(self.runtime or "torch")
            self._device_runtime.reset_peak_memory(self.device)
            if self.device.kind == "cuda" and self.runtime == "torch":
                self.kind = "cuda peak allocated by torch"
            elif self.device.kind == "mps":
                self.kind = "mps driver-allocated pool (not a peak)"

    def _start_thread(self) -> None:
        self.sample()
        self._thread = threading.Thread(target=self._run, name="asrbench-memory", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # the sampler's own CPU time is asrbench's, not the engine's: left out of cpu_seconds
        with cputime.excluded_thread("asrbench-memory") as handle:
            while not self._stop.wait(self.interval):
                self.sample()
                handle.tick()
                if self.kernel_peak_rose():
                    return  # figures() now reads the kernel's mark, the exact peak

    def kernel_peak_rose(self) -> bool:
        """Whether the process's high-water mark rose since :meth:`start` (CPU only): it is then
        this window's exact peak, and sampling adds nothing."""
        if self._rusage_start is None:
            return False
        now = _max_rss()
        return now is not None and now > self._rusage_start

    def sample(self) -> None:
        """Take one reading now (the session calls this after every transcription)."""
        if self._reader is not None:
            value = self._reader()
        elif self._device_runtime is not None:
            value, label = self._device_runtime.peak_memory(self.device)
            if self.kind == "not measured":
                self.kind = label
        else:
            return
        if value is not None:
            with self._lock:
                self._peak = value if self._peak is None else max(self._peak, value)

    def stop(self) -> None:
        """Stop sampling; the figures stay readable."""
        if self._thread is not None:
            self.sample()
            self._stop.set()
            self._thread.join()
            self._thread = None
        if self._rusage_start is not None and self._rusage_end is None:
            self._rusage_end = _max_rss()  # later models must not raise this model's figure

    def figures(self) -> dict[str, Any]:
        """``memory_bytes`` and ``memory_kind`` (plus baseline and growth on the CPU)."""
        with self._lock:
            peak = self._peak
        kind = self.kind
        if self.device.kind == "cpu" and self._rusage_start is not None:
            now = self._rusage_end if self._rusage_end is not None else _max_rss()
            if now is not None and now > self._rusage_start:
                peak = max(peak or 0, now)
                kind = "cpu peak RSS of the process while loaded (kernel high-water mark)"
        if peak is None and self._reader is not None and self.device.kind == "cuda":
            kind = ("cuda: not measured (NVML lists no process with this pid; containers hide "
                    "host pids)")
        out: dict[str, Any] = {"memory_kind": kind}
        if peak is not None:
            out["memory_bytes"] = peak
        if self.device.kind == "cpu" and self.baseline is not None and peak is not None:
            out["memory_baseline_bytes"] = self.baseline
            out["memory_growth_bytes"] = peak - self.baseline
        return out


def _max_rss() -> int | None:
    """The process's lifetime peak RSS in bytes (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(value if sys.platform == "darwin" else value * 1024)
