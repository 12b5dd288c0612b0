"""Compare's outputs: the terminal table, CSV, JSON and Markdown, from :func:`compare_runs` rows.

Kept apart from :mod:`asrbench.reporting.compare`, which decides what changed; this module only
prints it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from asrbench.bench import figures as figure_table
from asrbench.reporting.compare import Row, delta, fmt_metric, identity_changes
from asrbench.reporting.history import SavedRun
from asrbench.scoring.significance import NO_INTERVAL

__all__ = ["NO_VERDICT", "ONE_RUN", "format_csv", "format_json", "format_markdown", "format_table"]

#: What the within-run intervals are: how precisely one run was timed over its utterances.
ONE_RUN = "precision of one run"
#: Why one run against one run gives no timing verdict.
NO_VERDICT = ("one run against one run cannot separate run-to-run spread from a change; "
              "compare 3+ runs per side: compare A1 A2 A3 --vs B1 B2 B3, or asrbench ab")


def format_table(rows: list[Row], runs: list[SavedRun] | None = None) -> str:
    """Per key: one line per run with WER (95 % CI), CER, RTF, RTFx, p50 and the changes."""
    lines = []
    if runs:
        width = max(len(r.name) for r in runs)
        for run in runs:
            lines.append(f"{run.name:<{width}}  {run.created or '-'}  host {run.host_name or '?'} "
                         f"({run.host or 'unknown'})")
        lines.append("")
    for row in rows:
        lines.append(" / ".join(row.key))
        ids = list(row.values)
        base = row.values[ids[0]]
        for run_id, value in row.values.items():
            if value is None:
                lines.append(f"  {run_id} (not in this run)")
                continue
            text = (f"  {run_id}  WER {fmt_metric('wer', value.get('wer')):>6} "
                    f"[{_ci_text(value)}]  CER {fmt_metric('cer', value.get('cer')):>6}"
                    f"  RTF {fmt_metric('rtf', value.get('rtf'))}  RTFx {value.get('rtfx') or 0:.1f}"
                    f"  p50 {value.get('latency_p50') or 0:.3f}s{figure_table.compact_text(value)}")
            if run_id != ids[0] and base is not None:
                changed = identity_changes(base, value)
                if changed:
                    text += f"  (changed since the baseline: {', '.join(changed)})"
                if not row.comparable():
                    text += "  (normaliser differs: WER not compared)"
                else:
                    test = row.tests.get(run_id)
                    dw = delta(base, value, "wer")
                    if test is not None:
                        text += f"\n      {test}"
                    elif dw is not None:
                        text += f"\n      ΔWER {100 * dw:+.2f} pt (no common utterances to test)"
                shared = any((v or {}).get("timings_shared") for v in (base, value))
                streamed = row.stream_differs(run_id)
                other = "" if row.same_machine(run_id) else (
                    f" ({streamed or ('timings shared by xdist workers' if shared else 'other machine')}"
                    ": timing not like for like)")
                timing = row.timing.get(run_id)
                dr = delta(base, value, "rtf")
                if timing is not None:
                    text += "".join(f"\n      {ONE_RUN}: {change}{other}" for change in timing)
                elif dr is not None and base.get("rtf"):
                    text += (f"\n      ΔRTF {100 * dr / base['rtf']:+.0f}% (no common timed "
                             f"utterances to test){other}")
                cpu = row.cpu.get(run_id)
                if cpu is not None:
                    text += f"\n      {ONE_RUN}: {cpu}{other}"
                if timing is not None or cpu is not None:
                    text += f"\n      timing verdict: no decision ({NO_VERDICT})"
                costs = _cost_changes(base, value)
                if costs:
                    text += f"\n      {costs}{other}"
                differ = row.conditions_differ(run_id)
                if differ:
                    text += f"\n      conditions differ: {'; '.join(differ)}"
            lines.append(text)
    return "\n".join(lines)


def _cost_changes(base: Mapping[str, Any], value: Mapping[str, Any]) -> str:
    """The compact figures both runs measured, ``label old → new (±N%)``, joined by ``; ``."""
    parts = []
    for fig in figure_table.figures():
        old, new = base.get(fig.name), value.get(fig.name)
        if not fig.compact or not isinstance(old, int | float) or not isinstance(new, int | float):
            continue
        change = f" ({100 * (new / old - 1):+.1f}%)" if old else ""
        parts.append(f"{fig.label} {fig.format(old)} → {fig.format(new)}{change}")
    return "; ".join(parts)


def _ci_text(value: Mapping[str, Any]) -> str:
    low, high = ([*list(value.get("wer_ci95") or []), None, None])[:2]
    if low is None or high is None:
        return NO_INTERVAL if value.get("utterances") == 1 else "no interval"
    return f"{fmt_metric('wer', low)}-{fmt_metric('wer', high)}"


def _pct_or_none(value: float | None) -> float | None:
    return None if value is None else 100 * value


def _timing_fields(row: Row, run_id: str, is_baseline: bool) -> dict[str, Any]:
    """The timing test's columns: changes and intervals in percent of the baseline."""
    timing = None if is_baseline else row.timing.get(run_id)
    out: dict[str, Any] = {}
    for index, name in enumerate(("rtf", "latency_p50")):
        change = timing[index] if timing is not None else None
        out[f"delta_{name}_pct"] = _pct_or_none(change.change if change else None)
        out[f"delta_{name}_ci_low_pct"] = _pct_or_none(change.low if change else None)
        out[f"delta_{name}_ci_high_pct"] = _pct_or_none(change.high if change else None)
        out[f"{name}_p_value"] = change.p_value if change else None
        out[f"{name}_significant"] = change.significant if change else None
    out["timing_paired_utterances"] = timing[0].utterances if timing else None
    out["timing_verdict"] = None if is_baseline else "no decision"
    out["timing_verdict_reason"] = None if is_baseline else NO_VERDICT
    out["timing_note"] = (NO_INTERVAL if timing is not None and timing[0].low is None else None)
    cpu = None if is_baseline else row.cpu.get(run_id)
    out["delta_core_hours_pct"] = _pct_or_none(cpu.change if cpu else None)
    out["delta_core_hours_ci_low_pct"] = _pct_or_none(cpu.low if cpu else None)
    out["delta_core_hours_ci_high_pct"] = _pct_or_none(cpu.high if cpu else None)
    out["core_hours_p_value"] = cpu.p_value if cpu else None
    out["core_hours_significant"] = cpu.significant if cpu else None
    differ = [] if is_baseline else row.conditions_differ(run_id)
    out["conditions_differ"] = "; ".join(differ) if differ else None
    return out


def _flat(rows: list[Row]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        ids = list(row.values)
        base = row.values[ids[0]]
        for run_id, value in row.values.items():
            if value is None:
                continue
            machine, _, number = run_id.rpartition("/")
            record: dict[str, Any] = {"model": row.key[0], "device": row.key[1],
                                      "dataset": row.key[2], "run": run_id, "id": number,
                                      "machine": machine, "host": row.hosts.get(run_id)}
            for metric in ("wer", "cer", "rtf", "rtfx", "latency_p50", "latency_p95"):
                record[metric] = value.get(metric)
            ci = value.get("wer_ci95") or [None, None]
            record["wer_ci_low"], record["wer_ci_high"] = ci
            record["normaliser"] = value.get("normaliser")
            comparable = run_id != ids[0] and base is not None and row.comparable()
            test = row.tests.get(run_id) if comparable else None
            dw = delta(base, value, "wer") if comparable else None
            record["delta_wer_pt"] = test.delta if test else (100 * dw if dw is not None else None)
            record["delta_wer_ci_low_pt"] = test.low if test else None
            record["delta_wer_ci_high_pt"] = test.high if test else None
            record["p_value"] = test.p_value if test else None
            record["significant"] = test.significant if test else None
            record["paired_utterances"] = test.utterances if test else None
            dr = delta(base, value, "rtf") if comparable else None
            record["delta_rtf"] = dr
            record["timing_like_for_like"] = row.same_machine(run_id) if comparable else None
            shared = any((v or {}).get("timings_shared") for v in (base, value))
            record["timing_not_like_for_like"] = (
                None if record["timing_like_for_like"] is not False
                else row.stream_differs(run_id) or (
                    "timings shared by xdist workers" if shared else "other machine"))
            record["identity_changes"] = (";".join(identity_changes(base, value))
                                          if run_id != ids[0] else None)
            record.update(_timing_fields(row, run_id, run_id == ids[0] or base is None))
            record.update(figure_table.with_changes(base if run_id != ids[0] else None, value))
            out.append(record)
    return out


def format_csv(rows: list[Row]) -> str:
    return csv_text(_flat(rows))


def csv_text(records: list[dict[str, Any]]) -> str:
    """Flat records as CSV with a header row from the first record's keys (empty: no records)."""
    buffer = io.StringIO()
    if records:
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return buffer.getvalue()


def format_json(rows: list[Row]) -> str:
    return json.dumps(_flat(rows), indent=2)


def format_markdown(rows: list[Row]) -> str:
    """One Markdown table row per run per key; changes against the baseline, pipes escaped."""
    from asrbench.reporting.markdown import cell

    def pt(value: Any) -> str:
        return "–" if value is None else f"{value:+.2f}"

    records = _flat(rows)
    costs = [f for f in figure_table.figures()
             if f.compact and any(isinstance(r.get(f.name), int | float) for r in records)]
    lines = ["| model / device / dataset | run | WER % [95% CI] | CER % | RTF | RTFx | p50 s "
             "| ΔWER pt [95% CI], p | ΔRTF |" + "".join(f" {f.label} |" for f in costs),
             "|:--|:--|--:|--:|--:|--:|--:|:--|--:|" + "--:|" * len(costs)]
    for r in records:
        wer = (f"{fmt_metric('wer', r['wer'])} [{fmt_metric('wer', r['wer_ci_low'])}–"
               f"{fmt_metric('wer', r['wer_ci_high'])}]").replace("%", "")
        delta = "baseline" if r["identity_changes"] is None else pt(r["delta_wer_pt"])
        if r["p_value"] is not None:
            delta += (f" [{pt(r['delta_wer_ci_low_pt'])}, {pt(r['delta_wer_ci_high_pt'])}], "
                      f"p={r['p_value']:.3f}{' (significant)' if r['significant'] else ''}")
        base_rtf = r["rtf"] - r["delta_rtf"] if r["delta_rtf"] is not None else None
        drtf = (f"{100 * r['delta_rtf'] / base_rtf:+.0f}%" if base_rtf else "–")
        if r["delta_rtf_pct"] is not None:
            drtf = f"{r['delta_rtf_pct']:+.1f}%"
            if r["timing_note"]:
                drtf += f" ({r['timing_note']})"
            else:
                drtf += (f" [{r['delta_rtf_ci_low_pct']:+.1f}, {r['delta_rtf_ci_high_pct']:+.1f}]"
                         f"{' (significant)' if r['rtf_significant'] else ' (not significant)'}")
        if r["timing_not_like_for_like"] and drtf != "–":
            drtf += f" ({r['timing_not_like_for_like']})"
        if r["identity_changes"]:
            delta += f" (changed: {r['identity_changes'].replace(';', ', ')})"
        if r["conditions_differ"]:
            drtf += f" (conditions differ: {r['conditions_differ']})"
        lines.append("| " + " | ".join([
            cell(f"{r['model']} / {r['device']} / {r['dataset']}"), cell(r["run"]), wer,
            fmt_metric("cer", r["cer"]).replace("%", ""), fmt_metric("rtf", r["rtf"]),
            "–" if r["rtfx"] is None else f"{r['rtfx']:.1f}",
            "–" if r["latency_p50"] is None else f"{r['latency_p50']:.3f}", cell(delta),
            cell(drtf), *(cell(_cost_cell(r, f)) for f in costs)]) + " |")
    return "\n".join(lines) + "\n"


def _cost_cell(record: Mapping[str, Any], fig: figure_table.RunFigure) -> str:
    """A cost figure and its change against the baseline (core-hours with its paired interval)."""
    value, change = record.get(fig.name), record.get(f"delta_{fig.name}")
    if not isinstance(value, int | float):
        return "–"
    text = fig.format(value)
    if fig.name == "core_hours_per_audio_hour" and record.get("delta_core_hours_pct") is not None:
        text += f" ({record['delta_core_hours_pct']:+.1f}%"
        if record["delta_core_hours_ci_low_pct"] is None:
            text += f", {NO_INTERVAL})"
        else:
            verdict = "significant" if record["core_hours_significant"] else "not significant"
            text += (f" [{record['delta_core_hours_ci_low_pct']:+.1f}, "
                     f"{record['delta_core_hours_ci_high_pct']:+.1f}] {verdict})")
    elif isinstance(change, int | float) and value - change:
        text += f" ({100 * change / (value - change):+.1f}%)"
    if record.get("timing_not_like_for_like") and fig.timing and change is not None:
        text += f" ({record['timing_not_like_for_like']})"
    return text
