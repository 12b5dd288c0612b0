"""Parallel runs under pytest-xdist: each worker pinned to its share of the cores, one summary.

Registered only when xdist distributes the run (:func:`register`): a :class:`Worker` on each worker,
a :class:`Controller` on the controller. A worker pins itself (``sched_setaffinity``, where the
platform has it) to its own contiguous share of the cores the run may use, sets its thread count
to that share, writes no file, and sends its whole report to the controller through xdist's
``workeroutput``. The controller combines the workers' reports into one run (every figure
recomputed from the utterances, as a shard merge does), prints the one summary, and writes the one
report. When workers had to share a device (an accelerator measured by two workers at once, or more
workers than cores) the runs' timings are marked ``timings_shared`` with the reason.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from asrbench.bench.results import RunSummary
    from asrbench.bench.session import BenchSession
    from asrbench.config.settings import Settings

__all__ = ["Controller", "Worker", "combine", "distributed", "notes", "register", "share", "shared_timings"]

#: The key of asrbench's part of a worker's ``workeroutput``.
OUTPUT = "asrbench"
#: The key of a worker's usage error (a settings mistake found while collecting).
USAGE = "asrbench_usage_error"


def register(config: pytest.Config) -> None:
    """Register the worker or controller part when xdist distributes this run; nothing otherwise."""
    if hasattr(config, "workerinput"):
        config.pluginmanager.register(Worker(config), "asrbench-xdist-worker")
    elif config.pluginmanager.hasplugin("xdist") and _distributed(config):
        config.pluginmanager.register(Controller(config), "asrbench-xdist-controller")


def distributed(config: pytest.Config) -> bool:
    """Whether this process is an xdist worker, or a controller that hands tests to workers."""
    return hasattr(config, "workerinput") or _distributed(config)


def _distributed(config: pytest.Config) -> bool:
    return bool(config.getoption("dist", "no") != "no" and (
        config.getoption("numprocesses", None) or config.getoption("tx", None)))


def _cores() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS and Windows: no affinity to read or set
        return list(range(os.cpu_count() or 1))


def share(cores: Sequence[int], index: int, count: int) -> tuple[list[int], bool]:
    """Worker ``index`` of ``count``'s cores (a contiguous share) and whether it shares them."""
    if count <= len(cores):
        size, extra = divmod(len(cores), count)
        start = index * size + min(index, extra)
        return list(cores[start:start + size + (1 if index < extra else 0)]), False
    return [cores[index % len(cores)]], True


def _pin(cores: Sequence[int]) -> str:
    """Pin every thread of this process to ``cores``; how it went."""
    setter = getattr(os, "sched_setaffinity", None)
    if setter is None:
        return "not pinned: this platform has no sched_setaffinity"
    tasks = os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else ["0"]
    for task in tasks:
        try:
            setter(int(task), cores)
        except OSError:
            pass  # a thread that ended meanwhile
    return "sched_setaffinity"


class Worker:
    """On an xdist worker: pinned to its share of the cores; its report goes to the controller."""

    def __init__(self, config: pytest.Config) -> None:
        from asrbench.plugin import ADJUST

        self.config = config
        workerinput: dict[str, Any] = config.workerinput  # type: ignore[attr-defined]
        worker = str(workerinput.get("workerid", "gw0"))
        count = int(workerinput.get("workercount", 1))
        index = int(worker.removeprefix("gw")) if worker.removeprefix("gw").isdigit() else 0
        # a replacement for a crashed worker (gw2 of 2) takes a share another worker may hold
        cores, overlapping = share(_cores(), index % count, count)
        overlapping = overlapping or index >= count
        method = _pin(cores)
        os.environ["OMP_NUM_THREADS"] = str(len(cores))
        self.pinning = {"worker": worker, "cpus": cores, "threads": len(cores),
                        "cpus_shared": overlapping, "method": method}
        config.stash[ADJUST] = self.local_settings

    @staticmethod
    def local_settings(settings: Any) -> Any:
        """A worker writes no file and judges no device gate: the controller does, once."""
        from dataclasses import replace

        return replace(settings, report=None, html=None, markdown=None, require_devices=())

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> Generator[None]:
        """A settings mistake found while collecting (a dataset, the baseline, a gate) goes to the
        controller, which reports it as a usage error; this worker runs nothing."""
        try:
            return (yield)
        except pytest.UsageError as exc:
            self.config.workeroutput[USAGE] = str(exc)  # type: ignore[attr-defined]
            items[:] = []
            return None

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from asrbench.core.jsonsafe import builtin_types
        from asrbench.plugin import COMPLETE, bench, in_use, outputs

        output: dict[str, Any] = self.config.workeroutput  # type: ignore[attr-defined]
        output["asrbench_pinning"] = self.pinning
        if in_use(self.config):
            data = outputs.report_data(self.config, bench(self.config),
                                       complete=self.config.stash.get(COMPLETE, False))
            # built-in types only: execnet refuses a str subclass (torch's version) and the
            # worker would crash at its very end, its measured results lost
            output[OUTPUT] = builtin_types({**data, "worker": self.pinning["worker"]})


class Controller:
    """On the xdist controller: the workers' reports, combined into the run's one report.

    asrbench is in use here only once a worker has used it (:meth:`activate`): a plain
    ``pytest -n`` run is left alone. The controller checks the settings and outputs at start-up;
    what only a run that uses asrbench needs (datasets, the baseline, its gates) is checked by the
    workers, whose mistakes come back as one usage error.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.reports: list[dict[str, Any]] = []
        self.pinning: list[dict[str, Any]] = []
        self.data: dict[str, Any] | None = None
        self.usage_error: str | None = None
        self.crashed: list[str] = []
        self.settings: Settings | None = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from asrbench.config import options
        from asrbench.core.errors import ConfigError
        from asrbench.plugin import RESULTS, hookcalls, outputs, persist
        from asrbench.reporting import disclosure

        try:
            hookcalls.register_normalisers(self.config)
            self.settings = options.settings_from_config(self.config)
            persist.check_outputs(self.config, self.settings.report,
                                  overwrite=self.settings.report_overwrite)
        except ConfigError as exc:
            raise pytest.UsageError(f"asrbench: {exc}") from None
        self.config.stash[outputs.DISCLOSED] = disclosure.before_run()  # the load before the run
        self.config.stash[RESULTS] = self

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        worker = str(getattr(getattr(node, "gateway", None), "id", "a worker"))
        if error is not None:
            self.crashed.append(f"xdist worker {worker} crashed ({str(error).strip()[:200]}); "
                                "the results it had measured are lost")
        if output.get(USAGE):
            self.usage_error = str(output[USAGE])
        if output.get("asrbench_pinning"):
            self.pinning.append(output["asrbench_pinning"])
        if output.get(OUTPUT):
            self.reports.append(output[OUTPUT])

    def activate(self) -> None:
        """Once a worker has used asrbench: the controller's session, holding the settings and,
        after :meth:`results`, the combined results."""
        from asrbench.bench.session import BenchSession
        from asrbench.plugin import BENCH

        if BENCH not in self.config.stash and self.reports and self.settings is not None:
            self.config.stash[BENCH] = BenchSession(self.settings)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.usage_error is not None:
            sys.stderr.write(f"ERROR: {self.usage_error}\n")
            session.exitstatus = pytest.ExitCode.USAGE_ERROR

    def results(self, session: BenchSession, *, complete: bool) -> tuple[list[RunSummary],
                                                                            dict[str, Any]]:
        """The combined summaries and report; the store gets the skips and failures to print."""
        from asrbench.bench.results import FailedUtterance, ThroughputResult

        summaries, data = combine(self.reports, self.pinning,
                                  complete=complete and not self.crashed,
                                  datasets=list(self.reports[0].get("datasets") or []))
        data["parallel"]["crashed"] = list(self.crashed)
        self.data = data
        self._benchmark_json(data)
        from asrbench.plugin import NOTES

        self.config.stash[NOTES] = notes(data["parallel"])
        store = session.store
        for skip in data.get("skipped", []):
            store.skipped[(skip["model"], skip["device"])] = skip["reason"]
        for record in data.get("throughput", []):
            result = ThroughputResult.from_dict(record)
            store.throughput[result.key] = result
        store.failures[:] = [FailedUtterance(f["id"], f["model"], f["device"], f["dataset"],
                                             f["error_type"], f["message"], f.get("audio"))
                             for f in data.get("failures", [])]
        return summaries, data


    def _benchmark_json(self, data: Mapping[str, Any]) -> None:
        """``--benchmark-json``: pytest-benchmark times nothing under xdist and writes no file, so
        the controller writes it, holding the combined run (atomically)."""
        path = self.config.getoption("benchmark_json", None)
        if path is None:
            return
        import json
        from datetime import UTC, datetime
        from pathlib import Path

        from asrbench.core import identity
        from asrbench.core.files import write_atomic

        write_atomic(Path(path), json.dumps({
            "machine_info": {"node": identity.machine_fingerprint().get("node")},
            "commit_info": {}, "benchmarks": [], "datetime": datetime.now(UTC).isoformat(),
            "version": "asrbench-xdist", "asrbench": data}, indent=2, allow_nan=False))


def notes(parallel: Mapping[str, Any]) -> list[str]:
    """The summary's lines on the workers: their pinning, and whether timings were shared."""
    pins = "; ".join(f"{p['worker']} cpus {','.join(map(str, p['cpus']))} ({p['threads']} "
                     f"threads)" for p in parallel["pinning"])
    lines = [f"pytest-xdist: {parallel['workers']} workers, each pinned to its cores ({pins}); "
             "every figure recomputed from all workers' utterances"]
    if parallel["timings_shared"]:
        lines.append(f"timings shared: {parallel['timings_shared_reason']}; these timings are "
                     "not like-for-like with a run that had the device to itself")
    return [*lines, *parallel.get("crashed", [])]


def shared_timings(devices_by_worker: Mapping[str, Iterable[str]],
                   pinning: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Per device, why its timings were taken while another worker competed for it."""
    users: dict[str, set[str]] = {}
    for worker, devices in devices_by_worker.items():
        for device in devices:
            users.setdefault(device, set()).add(worker)
    why: dict[str, str] = {}
    overlapping = [p["worker"] for p in pinning if p.get("cpus_shared")]
    for device, workers in users.items():
        if device != "cpu" and len(workers) > 1:
            why[device] = (f"{len(workers)} xdist workers measured on {device} at the same time "
                           f"({', '.join(sorted(workers))})")
        elif device == "cpu" and overlapping:
            why[device] = (f"{len(pinning)} xdist workers on {len(_cores())} cores: workers "
                           f"{', '.join(sorted(overlapping))} shared cores")
    return why


def combine(reports: Sequence[Mapping[str, Any]], pinning: Sequence[Mapping[str, Any]], *,
            complete: bool, datasets: list[dict[str, Any]]) -> tuple[list[RunSummary],
                                                                      dict[str, Any]]:
    """One run from the workers' reports: figures recomputed from the utterances (an utterance a
    worker's corpus test measured again is kept once), shared timings marked."""
    from dataclasses import replace

    from asrbench.bench.results import CORE_FIELDS, RunKey, UtteranceResult, summarise
    from asrbench.reporting.report import build_report

    order = {d["name"]: {uid: n for n, uid in enumerate(d["ids"])} for d in datasets}
    rows: dict[RunKey, dict[str, UtteranceResult]] = {}
    devices_by_worker: dict[str, set[str]] = {}
    for report in reports:
        for record in report.get("utterances", []):
            result = UtteranceResult.from_dict(record)
            rows.setdefault(result.run_key, {}).setdefault(result.id, result)
            devices_by_worker.setdefault(str(report.get("worker")), set()).add(result.device)
    why = shared_timings(devices_by_worker, pinning)
    parts: dict[RunKey, list[Mapping[str, Any]]] = {}
    for report in reports:
        for run in report.get("runs", []):
            parts.setdefault(RunKey(run["model"], run["device"], run["dataset"]), []).append(run)
    summaries = []
    for key in sorted(rows):
        found = parts.get(key) or [{}]
        facts = {k: v for k, v in found[0].items() if k not in CORE_FIELDS}
        facts["engine_info"] = found[0].get("engine_info", {})
        memory = [p["memory_bytes"] for p in found if p.get("memory_bytes")]
        if memory:
            facts["memory_bytes"] = max(memory)
        facts["timings_shared"] = key.device in why
        facts["timings_shared_reason"] = why.get(key.device)
        ranked = sorted(rows[key].values(),
                        key=lambda r: (order.get(r.dataset, {}).get(r.id, len(order)), r.id))
        summary = summarise(ranked, normaliser=str(reports[0]["normaliser"]), info=facts,
                            identity=dict(found[0].get("identity") or {}))
        loads = [p["load_seconds"] for p in found if p.get("load_seconds") is not None]
        # each worker loads the model itself: the slowest load is the run's
        summaries.append(replace(summary, load_seconds=max(loads)) if loads else summary)
    skipped = {(s["model"], s["device"]): s["reason"] for r in reports for s in r.get("skipped", [])}
    first = reports[0] if reports else {}
    data = build_report(
        summaries, [r for s in summaries for r in sorted(
            rows[s.key].values(), key=lambda r: (order.get(r.dataset, {}).get(r.id, 0), r.id))],
        skipped=skipped, normaliser=str(first.get("normaliser", "")),
        software=first.get("software", {}), failures=[], complete=complete and bool(reports),
        datasets=datasets, shard=None)
    data["failures"] = [f for r in reports for f in r.get("failures", [])]
    throughput = [{**t, "timings_shared": t.get("device") in why,
                   "timings_shared_reason": why.get(str(t.get("device")))}
                  for r in reports for t in r.get("throughput", [])]
    if throughput:  # each model × dataset's batched run is one worker's whole test
        data["throughput"] = throughput
    for name, value in first.items():  # what plugins and the disclosure added, from one worker
        if name != "worker":
            data.setdefault(name, value)
    data["parallel"] = {"runner": "pytest-xdist", "workers": len(pinning),
                        "pinning": sorted(pinning, key=lambda p: str(p.get("worker"))),
                        "timings_shared": bool(why),
                        "timings_shared_reason": "; ".join(why.values()) or None}
    return summaries, data
