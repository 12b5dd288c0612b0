"""A complete report for rendering tests: the golden report with its volatile fields filled in.

Latencies are made up, and every figure derived from them is computed here from them, so a test
can check what a renderer shows against the report's own numbers.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden" / "report.json"


def sample_report() -> dict[str, Any]:
    report: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    report["created"] = "2025-01-02T03:04:05+00:00"
    report["machine"] = {"id": "0123abcd", "node": "bench-host", "system": "Linux",
                         "machine": "x86_64", "processor": "x86_64", "cpu_count": 2,
                         "python": "3.12.0", "folder": "Linux-CPython-3.12-64bit"}
    report["software"] = {"asrbench": "0.1.0", "jiwer": "4.0.0"}
    report["datasets"][0]["source"] = "/nowhere/set.jsonl"
    for index, u in enumerate(report["utterances"], start=1):
        u["latencies"] = [0.1 * index, 0.3 * index]
        u["latency"] = statistics.median(u["latencies"])
        u["warmup_latencies"] = [0.5]
        u["rtf"] = u["latency"] / u["audio_seconds"]
    for run in report["runs"]:
        rows = [u for u in report["utterances"] if u["model"] == run["model"]]
        spent = sum(u["latency"] for u in rows)
        audio = sum(u["audio_seconds"] for u in rows)
        latencies = sorted(u["latency"] for u in rows)
        run.update(rtf=spent / audio, rtfx=audio / spent, latency_p50=statistics.median(latencies),
                   latency_p90=latencies[-1], latency_p95=latencies[-1],
                   latency_mean=statistics.fmean(latencies), first_call_latency=0.5,
                   load_seconds=1.25, device_name="Test CPU", threads=2, threads_source="default",
                   torch_threads=2, memory_bytes=300 * 2**20, memory_kind="RSS (process)",
                   memory_baseline_bytes=100 * 2**20, memory_growth_bytes=200 * 2**20)
        run["identity"]["machine"] = "0123abcd"
        run["identity"]["weights"] = "answers.json"
    return report
