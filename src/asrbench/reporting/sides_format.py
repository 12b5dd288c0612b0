"""The outputs of a side-by-side compare (:mod:`asrbench.reporting.sides`): table, JSON, CSV and
Markdown. JSON nests every timing figure's verdict; CSV and Markdown flatten them per figure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from asrbench.reporting.compare import fmt_metric
from asrbench.reporting.compare_format import csv_text
from asrbench.reporting.history import SavedRun
from asrbench.reporting.sides import SideRow

__all__ = ["format_sides_csv", "format_sides_json", "format_sides_markdown", "format_sides_table",
           "side_records"]


def format_sides_table(rows: list[SideRow], base: Sequence[SavedRun],
                       new: Sequence[SavedRun]) -> str:
    lines = [f"A (baseline, {len(base)} runs): {', '.join(r.name for r in base)}",
             f"B ({len(new)} runs): {', '.join(r.name for r in new)}", ""]
    for row in rows:
        lines.append(" / ".join(row.key))
        lines.append(f"  WER  A {fmt_metric('wer', row.side_wer('base'))}  "
                     f"B {fmt_metric('wer', row.side_wer('new'))}")
        lines.append(f"      {row.wer_note or row.wer} (utterance errors summed over each side's runs)")
        for change in row.timing.values():
            lines.append(f"  {change}")
        if row.timing_note:
            lines.append(f"  timing not like for like: {row.timing_note}")
        if row.conditions:
            lines.append(f"  conditions differ: {'; '.join(row.conditions)}")
    return "\n".join(lines)


def side_records(rows: list[SideRow]) -> list[dict[str, Any]]:
    """One record per key: each side's runs, the WER test, and per timing figure its verdict."""
    out = []
    for row in rows:
        record: dict[str, Any] = {"model": row.key[0], "device": row.key[1],
                                  "dataset": row.key[2], "runs_a": list(row.base),
                                  "runs_b": list(row.new), "wer_a": row.side_wer("base"),
                                  "wer_b": row.side_wer("new"),
                                  "wer_test": row.wer.as_dict() if row.wer else None,
                                  "wer_note": row.wer_note, "timing_note": row.timing_note,
                                  "conditions_differ": "; ".join(row.conditions) or None}
        record["timing"] = {name: change.as_dict() for name, change in row.timing.items()}
        out.append(record)
    return out


def format_sides_json(rows: list[SideRow]) -> str:
    return json.dumps(side_records(rows), indent=2)


_FLAT = ("verdict", "ratio", "ci95_low", "ci95_high", "runs_base", "runs_new", "cv_base",
         "cv_new", "runs_needed")


def _flat(rows: list[SideRow]) -> list[dict[str, Any]]:
    out = []
    for record in side_records(rows):
        timing = record.pop("timing")
        test = record.pop("wer_test") or {}
        record["runs_a"] = ";".join(record["runs_a"])
        record["runs_b"] = ";".join(record["runs_b"])
        record["delta_wer_pt"] = test.get("delta_wer_points")
        record["wer_significant"] = test.get("significant")
        for name in ("rtf", "latency_p50", "core_hours_per_audio_hour"):
            found = timing.get(name) or {}
            for column in _FLAT:
                record[f"{name}_{column}"] = found.get(column)
        out.append(record)
    return out


def format_sides_csv(rows: list[SideRow]) -> str:
    return csv_text(_flat(rows))


def format_sides_markdown(rows: list[SideRow]) -> str:
    """One Markdown row per key and timing figure: ratio, interval, verdict, runs, CVs."""
    from asrbench.reporting.markdown import cell

    lines = ["| model / device / dataset | figure | B / A [95% CI] | verdict | runs A / B "
             "| CV A / B |", "|:--|:--|--:|:--|--:|--:|"]
    for row in rows:
        for change in row.timing.values():
            ratio = "–" if change.ratio is None else f"{change.ratio:.3f}"
            if change.low is not None and change.high is not None:
                ratio += f" [{change.low:.3f}, {change.high:.3f}]"
            cvs = " / ".join("–" if c is None else f"{100 * c:.1f}%"
                             for c in (change.cv_base, change.cv_new))
            lines.append("| " + " | ".join([
                cell(" / ".join(row.key)), change.figure, ratio, change.verdict,
                f"{len(change.base)} / {len(change.new)}", cvs]) + " |")
    return "\n".join(lines) + "\n"
