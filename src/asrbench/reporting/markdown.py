"""The run summary as Markdown: one table row per model × device × dataset, then skips and failures.

Written for CI job summaries (GitHub's ``$GITHUB_STEP_SUMMARY``) and pull-request comments. Cells
are escaped so that a model label or a reason cannot break the table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from asrbench.core.files import write_atomic

__all__ = ["cell", "render_markdown", "write_markdown"]

#: Cost figures shown as columns when any run has them (see issue "the cost of a transcript").
_COSTS = (("core_hours_per_audio_hour", "core-h / audio h"), ("joules_per_audio_hour", "J / audio h"))


def cell(value: Any) -> str:
    """Text safe inside a Markdown table cell: pipes, newlines and HTML escaped."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(text.split())


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fmt(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if _number(value) else "–"


def _pct(value: Any, digits: int = 2) -> str:
    return f"{100 * value:.{digits}f}" if _number(value) else "–"


def _memory(run: Mapping[str, Any]) -> str:
    if not _number(run.get("memory_bytes")):
        return "–"
    kind = str(run.get("memory_kind") or "").split(" (")[0]
    return f"{run['memory_bytes'] / 2**20:.0f} MiB {kind}".strip()


def render_markdown(report: Mapping[str, Any], *, title: str = "asrbench") -> str:
    """The summary of a parsed JSON report as Markdown (a heading, a table, notes)."""
    runs = list(report.get("runs") or [])
    costs = [(k, label) for k, label in _COSTS if any(_number(r.get(k)) for r in runs)]
    lines = [f"### {cell(title)}", ""]
    if not report.get("complete", True):
        lines += ["> **Incomplete run** (interrupted or crashed): figures cover only what ran.", ""]
    if runs:
        head = ["model", "device", "dataset", "utts", "WER %", "95% CI", "CER %", "RTF", "RTFx",
                "p50 s", "p95 s", "first call s", "peak memory", *[label for _, label in costs]]
        lines += ["| " + " | ".join(head) + " |",
                  "|" + "|".join(":--" if i < 3 else "--:" for i in range(len(head))) + "|"]
        for run in runs:
            low, high = ([*list(run.get("wer_ci95") or []), None, None])[:2]
            row = [cell(run.get("model")), cell(run.get("device")), cell(run.get("dataset")),
                   cell(run.get("utterances", "–")), _pct(run.get("wer")),
                   f"{_pct(low)}–{_pct(high)}", _pct(run.get("cer")), _fmt(run.get("rtf")),
                   _fmt(run.get("rtfx"), 1), _fmt(run.get("latency_p50")),
                   _fmt(run.get("latency_p95")), _fmt(run.get("first_call_latency")),
                   cell(_memory(run)), *[_fmt(run.get(k), 4) for k, _ in costs]]
            lines.append("| " + " | ".join(row) + " |")
        lines += ["", f"Normaliser: {cell(report.get('normaliser', '?'))}. WER/CER in %, 95% CI "
                  "by bootstrap over utterances; RTF = compute s per audio s, RTFx = Σ audio / "
                  "Σ compute."]
    else:
        lines.append("No run produced results.")
    lines += _streaming(runs)
    skipped = report.get("skipped") or []
    if skipped:
        lines += ["", f"**Skipped** ({len(skipped)}):", ""]
        lines += [f"- {cell(s.get('model'))} / {cell(s.get('device'))}: {cell(s.get('reason'))}"
                  for s in skipped]
    failures = report.get("failures") or []
    if failures:
        lines += ["", f"**Failures** ({len(failures)} utterances produced no result):", ""]
        lines += [f"- {cell(f.get('model'))} / {cell(f.get('device'))} / {cell(f.get('dataset'))}"
                  f"/{cell(f.get('id'))}: {cell(f.get('error_type'))}: {cell(f.get('message'))}"
                  for f in failures]
    return "\n".join(lines) + "\n"


#: Streaming figures shown in the streaming table, by their figure-table names.
STREAMING = ("stream_first_latency_p50", "stream_first_latency_p90", "stream_commit_latency_p90",
             "openbench_streaming_latency", "stream_end_of_utterance_latency", "stream_erasure",
             "commit_violations", "stream_wer", "stream_wer_gap", "lag_slope")


def _streaming(runs: list[Any]) -> list[str]:
    """A second table for the runs that streamed: conditions, timing source, streaming figures."""
    from asrbench.bench.figures import figure

    streamed = [r for r in runs if r.get("stream_clock")]
    if not streamed:
        return []
    figs = [figure(name) for name in STREAMING]
    head = ["model", "device", "dataset", "chunk ms", "clock", "timings",
            *[f.label if f.label.endswith(f" {f.unit}") else f"{f.label} ({f.unit})" for f in figs]]
    lines = ["", "**Streaming**", "", "| " + " | ".join(cell(h) for h in head) + " |",
             "|" + "|".join(":--" if i < 6 else "--:" for i in range(len(head))) + "|"]
    for run in streamed:
        row = [cell(run.get(k)) for k in ("model", "device", "dataset")]
        clock, compute = run.get("stream_clock"), run.get("stream_compute_clock")
        shown = f"{clock} ({compute})" if clock == "virtual" and compute else clock  # what c_k is
        row += [_fmt(run.get("stream_chunk_ms"), 0), cell(shown),
                cell(run.get("timing_source") or "none")]
        row += [cell(f.format(run.get(f.name))) if _number(run.get(f.name)) else "–" for f in figs]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def write_markdown(report: Mapping[str, Any], path: Path) -> Path:
    """Write :func:`render_markdown` of ``report`` to ``path`` atomically."""
    return write_atomic(Path(path), render_markdown(report))
