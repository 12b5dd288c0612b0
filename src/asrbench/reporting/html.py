"""The HTML report: one self-contained page from a JSON report, to open, share and listen to.

Styles, the script, plots (SVG) and the worst utterances' audio are inline, and a content security
policy forbids any fetch, so the file works offline and makes no request. Every text from the
report is escaped, and the policy lets only the page's own script and style sheet run (by hash), so
a missed escape would still run nothing. Sections: the run table, accuracy against speed (and cost,
when the report has cost figures), every utterance with its word alignment (sortable, filterable),
the worst utterances with audio, the timelines of the slowest streamed utterances (inline SVG),
skips with reasons, failures, and what the run disclosed about its conditions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from asrbench.core.files import write_atomic
from asrbench.reporting.html_assets import CSP, CSS, SCRIPT
from asrbench.reporting.html_media import (
    COST_FIGURES,
    AudioFiles,
    alignment_html,
    audio_data_uri,
    find_audio,
    plots,
)
from asrbench.reporting.timeline import streaming_section

__all__ = ["render_html", "write_html"]

#: Run keys shown as the run table's columns (the rest go to the disclosure block).
_SHOWN = {"model", "device", "dataset", "utterances", "audio_seconds", "wer", "wer_ci95", "cer",
          "rtf", "rtfx", "latency_p50", "latency_p95", "first_call_latency", "load_seconds",
          "memory_bytes", "memory_kind"}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fmt(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if _number(value) else "–"


def _pct(value: Any, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}" if _number(value) else "–"


def _attr(value: Any) -> str:
    return escape(repr(float(value)) if _number(value) else str(value or ""), quote=True)


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return escape(text)


def _kv(data: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{_value(v)}</td></tr>"
                   for k, v in data.items())
    return f'<table class="kv">{rows}</table>' if rows else '<p class="note">(none)</p>'


def _table(head: Sequence[tuple[str, bool]], rows: Iterable[Sequence[str]], **attrs: str) -> str:
    """Cells are markup already escaped by the caller; ``head`` is (label, numeric) pairs."""
    extra = "".join(f' {k}="{escape(v, quote=True)}"' for k, v in attrs.items())
    ths = "".join(f'<th{" class=n" if n else ""}>{escape(label)}</th>' for label, n in head)
    body = "".join("<tr>" + "".join(f'<td{" class=n" if n else ""}>{cell}</td>'
                                    for cell, (_, n) in zip(row, head, strict=True)) + "</tr>"
                   for row in rows)
    return f"<table{extra}><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table>"


def _memory(run: Mapping[str, Any]) -> str:
    if not _number(run.get("memory_bytes")):
        return "–"
    kind = str(run.get("memory_kind") or "").split(" (")[0]
    return escape(f"{run['memory_bytes'] / 2**20:.0f} MiB {kind}".strip())


def _runs(runs: Sequence[Mapping[str, Any]]) -> str:
    costs = [(k, label.split(" (")[0]) for k, label in COST_FIGURES
             if any(_number(r.get(k)) for r in runs)]
    head = [("model", False), ("device", False), ("dataset", False), ("utts", True),
            ("audio s", True), ("WER %", True), ("95% CI", True), ("CER %", True), ("RTF", True),
            ("RTFx", True), ("p50 s", True), ("p95 s", True), ("first call s", True),
            ("load s", True), ("peak memory", False), ("precision", False),
            *[(label, True) for _, label in costs]]
    rows = []
    for run in runs:
        low, high = ([*list(run.get("wer_ci95") or []), None, None])[:2]
        precision = (run.get("engine_info") or {}).get("precision")
        rows.append([escape(str(run.get("model"))), escape(str(run.get("device"))),
                     escape(str(run.get("dataset"))), escape(str(run.get("utterances", "–"))),
                     _fmt(run.get("audio_seconds"), 1), _pct(run.get("wer"), 2),
                     f"{_pct(low, 2)}–{_pct(high, 2)}", _pct(run.get("cer"), 2),
                     _fmt(run.get("rtf")), _fmt(run.get("rtfx"), 1), _fmt(run.get("latency_p50")),
                     _fmt(run.get("latency_p95")), _fmt(run.get("first_call_latency")),
                     _fmt(run.get("load_seconds"), 2), _memory(run),
                     escape(str(precision)) if precision else "–",
                     *[_fmt(run.get(k), 4) for k, _ in costs]])
    if not rows:
        return '<p class="note">No run produced results.</p>'
    return f'<div class="scroll">{_table(head, rows, id="runs")}</div>'


def _plots(runs: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for fig in plots(runs):
        if fig.uri is not None:
            parts.append(f'<figure><img alt="{escape(fig.title, quote=True)}" src="{fig.uri}">'
                         f"<figcaption>{escape(fig.title)}</figcaption></figure>")
        else:
            parts.append(f'<p class="note">{escape(fig.title)}: {escape(fig.note)}</p>')
    return f'<div class="plots">{"".join(parts)}</div>'


def _errors(u: Mapping[str, Any]) -> str:
    e = u.get("word_errors") or {}
    return f"{e.get('substitutions', 0)}/{e.get('deletions', 0)}/{e.get('insertions', 0)}"


def _alignment(u: Mapping[str, Any]) -> str:
    return alignment_html(str(u.get("normalised_reference") or ""),
                          str(u.get("normalised_hypothesis") or ""))


def _texts(u: Mapping[str, Any]) -> str:
    return (f"<details><summary>texts</summary><pre>reference:  {escape(str(u.get('reference')))}"
            f"\nhypothesis: {escape(str(u.get('hypothesis')))}</pre></details>")


def _select(name: str, values: Iterable[str]) -> str:
    options = "".join(f'<option value="{escape(v, quote=True)}">{escape(v)}</option>'
                      for v in sorted(set(values)))
    return (f'<label>{name}<select id="f-{name}"><option value="">all</option>{options}'
            "</select></label>")


def _utterances(utts: Sequence[Mapping[str, Any]]) -> str:
    if not utts:
        return '<p class="note">No utterance results.</p>'
    filters = ('<div class="filters">'
               + "".join(_select(f, (str(u.get(f)) for u in utts))
                         for f in ("model", "device", "dataset"))
               + '<label>WER % at least<input id="f-wer" type="number" min="0" step="any"></label>'
               + '<label>text contains<input id="f-text" type="search"></label>'
               + f'<span>showing <b id="shown">{len(utts)}</b> of {len(utts)}</span></div>')
    legend = ('<p class="legend"><span class="op-s">substitution</span><span class="op-d">'
              'deletion</span><span class="op-i">insertion</span> (normalised texts; S/D/I are '
              "word counts)</p>")
    head = [("id", "id", False), ("model", "model", False), ("device", "device", False),
            ("dataset", "dataset", False), ("WER %", "wer", True), ("CER %", "cer", True),
            ("S/D/I", "", True), ("RTF", "rtf", True), ("latency s", "latency", True),
            ("alignment", "", False)]
    ths = "".join(f'<th{" class=n" if n else ""}'
                  f'{f" data-key={key}" if key else ""}>{escape(label)}</th>'
                  for label, key, n in head)
    rows = []
    for u in utts:
        data = " ".join(f'data-{k}="{_attr(u.get(k))}"'
                        for k in ("id", "model", "device", "dataset", "wer", "cer", "rtf",
                                  "latency"))
        rows.append(
            f"<tr {data}><td>{escape(str(u.get('id')))}</td><td>{escape(str(u.get('model')))}</td>"
            f"<td>{escape(str(u.get('device')))}</td><td>{escape(str(u.get('dataset')))}</td>"
            f"<td class=n>{_pct(u.get('wer'))}</td><td class=n>{_pct(u.get('cer'))}</td>"
            f"<td class=n>{_errors(u)}</td><td class=n>{_fmt(u.get('rtf'))}</td>"
            f"<td class=n>{_fmt(u.get('latency'))}</td><td class=align>"
            f"{_alignment(u)}"
            f"{_texts(u)}</td></tr>")
    return (f'{filters}{legend}<table id="utterances"><thead><tr>{ths}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _rank(u: Mapping[str, Any]) -> tuple[float, int]:
    e = u.get("word_errors") or {}
    errors = sum(int(e.get(k, 0)) for k in ("substitutions", "deletions", "insertions"))
    return (float(u["wer"]) if _number(u.get("wer")) else -1.0, errors)


def _worst(utts: Sequence[Mapping[str, Any]], audio: AudioFiles, count: int) -> str:
    chosen = sorted(utts, key=_rank, reverse=True)[:count]
    if not chosen:
        return '<p class="note">No utterance results.</p>'
    parts = []
    for u in chosen:
        dataset, uid = str(u.get("dataset")), str(u.get("id"))
        missing = audio.why_missing(dataset, uid)
        if missing is None:
            try:
                player = (f'<audio controls preload="none" src="'
                          f'{audio_data_uri(audio.paths[(dataset, uid)])}"></audio>')
            except (OSError, ValueError) as exc:
                player = f'<p class="note">audio not inlined: {escape(str(exc))}</p>'
        else:
            player = f'<p class="note">{escape(missing)}</p>'
        parts.append(
            f'<div class="worst"><h3>{escape(dataset)}/{escape(uid)} — {escape(str(u.get("model")))}'
            f" / {escape(str(u.get('device')))}: WER {_pct(u.get('wer'))} %</h3>{player}"
            f'<p class="align">{_alignment(u)}</p>'
            f"{_texts(u)}</div>")
    return "".join(parts)


def _skips(report: Mapping[str, Any]) -> str:
    skipped = report.get("skipped") or []
    if not skipped:
        return '<p class="note">Nothing was skipped.</p>'
    return _table([("model", False), ("device", False), ("reason", False)],
                  ([escape(str(s.get(k))) for k in ("model", "device", "reason")]
                   for s in skipped), id="skipped")


def _failures(report: Mapping[str, Any]) -> str:
    failed = report.get("failures") or []
    if not failed:
        return '<p class="note">No utterance failed.</p>'
    keys = ("id", "model", "device", "dataset", "error_type", "message", "audio")
    return _table([(k, False) for k in keys],
                  ([f"<pre>{escape(str(f.get(k)))}</pre>" if k == "message" else
                    escape(str(f.get(k))) for k in keys] for f in failed), id="failures")


def _disclosure(report: Mapping[str, Any]) -> str:
    top = {k: report.get(k) for k in ("version", "created", "complete", "normaliser", "shard")}
    if report.get("merged_from"):
        top["merged_from"] = report["merged_from"]
    datasets = _table([("name", False), ("source", False), ("hash", False), ("utterances", True)],
                      ([escape(str(d.get("name"))), escape(str(d.get("source"))),
                        escape(str(d.get("hash"))), str(len(d.get("ids") or []))]
                       for d in report.get("datasets") or []))
    runs = "".join(
        f"<details><summary>{escape(str(r.get('model')))} / {escape(str(r.get('device')))} / "
        f"{escape(str(r.get('dataset')))}: settings and identity</summary>"
        f"{_kv({k: v for k, v in r.items() if k not in _SHOWN})}</details>"
        for r in report.get("runs") or [])
    machine = report.get("machine")
    software = report.get("software")
    return (f'<div class="cols"><div><h3>Run</h3>{_kv(top)}</div><div><h3>Machine</h3>'
            f"{_kv(machine) if isinstance(machine, dict) else _value(machine)}</div>"
            f"<div><h3>Software</h3>"
            f"{_kv(software) if isinstance(software, dict) else _value(software)}</div></div>"
            f"<h3>Datasets</h3>{datasets}<h3>Each run</h3>{runs}")


def _throughput(report: Mapping[str, Any]) -> str:
    items = report.get("throughput") or []
    if not items:
        return ""
    head = [("model", False), ("device", False), ("dataset", False), ("batch", True),
            ("WER %", True), ("RTFx", True), ("sequential RTFx", True), ("speedup", True)]
    rows = ([escape(str(t.get(k))) for k in ("model", "device", "dataset", "batch_size")]
            + [_pct(t.get("wer"), 2), _fmt(t.get("rtfx"), 1), _fmt(t.get("sequential_rtfx"), 1),
               _fmt(t.get("speedup"), 2)] for t in items)
    return f"<h2>Throughput (batched)</h2>{_table(head, rows, id='throughput')}"


def render_html(report: Mapping[str, Any], *, audio: AudioFiles | None = None,
                worst: int = 5, title: str = "asrbench report") -> str:
    """The page for ``report`` (a parsed JSON report). ``audio`` says where each utterance's clip
    is (default: read again from the datasets the report names); ``worst`` clips are inlined."""
    runs = list(report.get("runs") or [])
    utts = list(report.get("utterances") or [])
    found = audio if audio is not None else find_audio(report)
    banner = ("" if report.get("complete", True) else
              '<p class="warn">This run did not finish (interrupted or crashed): its figures '
              "cover only what ran.</p>")
    meta = (f"created {escape(str(report.get('created', '?')))} · normaliser "
            f"{escape(str(report.get('normaliser', '?')))} · {len(runs)} runs · "
            f"{len(utts)} utterance results")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="meta">{meta}</p>{banner}'
        f"<h2>Runs</h2>{_runs(runs)}"
        '<p class="note">WER and CER in %, 95% CI: bootstrap over utterances; RTF: compute seconds '
        "per audio second; RTFx: Σ audio / Σ compute; p50/p95 over each run's utterances.</p>"
        f"<h2>Accuracy against speed and cost</h2>{_plots(runs)}"
        f"{_throughput(report)}"
        f"<h2>Worst utterances</h2>{_worst(utts, found, worst)}"
        f"{streaming_section(utts, runs=runs)}"
        f"<h2>Utterances</h2>{_utterances(utts)}"
        f"<h2>Skipped</h2>{_skips(report)}"
        f"<h2>Failures</h2>{_failures(report)}"
        f"<h2>Disclosure</h2>{_disclosure(report)}"
        f"<script>{SCRIPT}</script></body></html>\n"
    )


def write_html(report: Mapping[str, Any], path: Path, *, audio: AudioFiles | None = None,
               worst: int = 5) -> Path:
    """Render ``report`` and write it to ``path`` atomically."""
    return write_atomic(Path(path), render_html(report, audio=audio, worst=worst))
