"""The timeline of one streamed utterance as inline SVG: reference words, partials and commits.

One lane per reference word: a grey bar from its reference start to its end, a line to the moment
it first appeared in a partial (a blue dot) and to the moment it was committed (an orange square);
words the final text gets wrong are red and unmarked. Above the lanes, a tick at each update that
changed the partial (its text in the tooltip), darker where the committed text grew. The SVG is
plain markup with no script and no style attribute, so it fits the HTML report's strict content
security policy and a docs page alike. Words are matched lowercased with punctuation removed (a
display normalisation; the figures use the run's normaliser).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from asrbench.bench.stream_clock import steps_from_dicts
from asrbench.data.words import WordTiming
from asrbench.scoring.streaming import word_times

__all__ = ["streaming_section", "timeline_svg"]

WIDTH, LEFT, RIGHT, LANE, TOP = 760, 96, 16, 15, 34
MAX_WORDS = 40


def _display(text: str) -> str:
    return re.sub(r"[^\w' ]+", " ", text.lower())


def timeline_svg(stream: Mapping[str, Any], *, title: str = "") -> str:
    """The SVG for one utterance's ``stream`` record (as the JSON report holds it)."""
    steps = steps_from_dicts(stream.get("trace") or [])
    words = [WordTiming(str(w["word"]), float(w["start"]), float(w["end"]))
             for w in (stream.get("words") or [])][:MAX_WORDS]
    end = max([s.emitted for s in steps] + [w.end for w in words] + [0.1])
    scale = (WIDTH - LEFT - RIGHT) / end

    def x(t: float) -> str:
        return f"{LEFT + max(0.0, t) * scale:.1f}"

    height = TOP + LANE * max(1, len(words)) + 28
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
           f'width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="11" '
           f'role="img" aria-label="{escape(title or "streaming timeline", quote=True)}">']
    if title:
        out.append(f"<title>{escape(title)}</title>")
    out.append('<text x="4" y="18" fill="#333">updates</text>')
    before_partial = before_committed = ""
    for step in steps:
        if step.partial != before_partial or step.committed != before_committed:
            grew = step.committed != before_committed
            out.append(f'<line x1="{x(step.emitted)}" y1="8" x2="{x(step.emitted)}" y2="24" '
                       f'stroke="{"#c46a00" if grew else "#4a90e2"}" stroke-width="1.5">'
                       f"<title>{step.emitted:.2f} s: {escape(step.partial)} | committed: "
                       f"{escape(step.committed)}</title></line>")
        before_partial, before_committed = step.partial, step.committed
    times = word_times(steps, words, _display) if words and steps else []
    for index, (word, (shown, kept)) in enumerate(zip(words, times, strict=True)):
        y = TOP + index * LANE
        mid = y + LANE / 2
        colour = "#333" if shown is not None else "#d0021b"
        out.append(f'<text x="{LEFT - 6}" y="{mid + 4:.1f}" text-anchor="end" fill="{colour}">'
                   f"{escape(word.word)}</text>")
        wide = max(1.0, (word.end - word.start) * scale)
        out.append(f'<rect x="{x(word.start)}" y="{y + 3}" width="{wide:.1f}" '
                   f'height="{LANE - 6}" fill="#bbb"><title>{escape(word.word)}: '
                   f"{word.start:.2f}-{word.end:.2f} s</title></rect>")
        for when, shape in ((kept, "square"), (shown, "dot")):
            if when is None:
                continue
            out.append(f'<line x1="{x(word.end)}" y1="{mid:.1f}" x2="{x(when)}" y2="{mid:.1f}" '
                       f'stroke="#999" stroke-width="1"/>')
            tip = (f"<title>{escape(word.word)} {'shown' if shape == 'dot' else 'committed'} "
                   f"at {when:.2f} s ({when - word.end:+.2f} s after its end)</title>")
            if shape == "dot":
                out.append(f'<circle cx="{x(when)}" cy="{mid:.1f}" r="3.5" fill="#4a90e2">{tip}'
                           "</circle>")
            else:
                out.append(f'<rect x="{float(x(when)) - 3.5:.1f}" y="{mid - 3.5:.1f}" width="7" '
                           f'height="7" fill="#f5a623">{tip}</rect>')
    axis = TOP + LANE * max(1, len(words)) + 6
    out.append(f'<line x1="{LEFT}" y1="{axis}" x2="{WIDTH - RIGHT}" y2="{axis}" stroke="#666"/>')
    step_s = next(s for s in (0.5, 1, 2, 5, 10, 30, 60, 1e9) if end / s <= 12)
    tick = 0.0
    while tick <= end + 1e-9:
        out.append(f'<line x1="{x(tick)}" y1="{axis}" x2="{x(tick)}" y2="{axis + 4}" '
                   f'stroke="#666"/><text x="{x(tick)}" y="{axis + 16}" text-anchor="middle" '
                   f'fill="#333">{tick:g} s</text>')
        tick += step_s
    out.append("</svg>")
    return "".join(out)


def _rank(u: Mapping[str, Any]) -> tuple[float, float]:
    figures = (u.get("stream") or {}).get("figures") or {}
    late = [v for v in figures.get("first_latencies") or [] if isinstance(v, int | float)]
    errors = (u.get("stream") or {}).get("word_errors") or {}
    wrong = sum(int(errors.get(k, 0)) for k in ("substitutions", "deletions", "insertions"))
    return (max(late, default=-1e9), wrong)


def _figures(runs: Sequence[Mapping[str, Any]]) -> str:
    from asrbench.bench.figures import figure
    from asrbench.reporting.markdown import STREAMING

    figs = [figure(name) for name in STREAMING]
    head = ["model / device / dataset", "chunk ms", "clock", "timings",
            *[f"{f.label} ({f.unit})" for f in figs]]
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in (
            f"{r.get('model')} / {r.get('device')} / {r.get('dataset')}", r.get("stream_chunk_ms"),
            r.get("stream_clock"), r.get("timing_source") or "none",
            *[f.format(r.get(f.name)) if isinstance(r.get(f.name), int | float) else "–"
              for f in figs])) + "</tr>"
        for r in runs if r.get("stream_clock"))
    return ("<table><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head)
            + f"</tr></thead><tbody>{rows}</tbody></table>") if rows else ""


def streaming_section(utterances: Sequence[Mapping[str, Any]], count: int = 3,
                      runs: Sequence[Mapping[str, Any]] = ()) -> str:
    """The streaming figures of ``runs`` and the timelines of the ``count`` streamed utterances
    with the latest words (HTML)."""
    streamed = [u for u in utterances if isinstance(u.get("stream"), dict)]
    if not streamed:
        return ""
    parts = ["<h2>Streaming</h2>", f'<div class="scroll">{_figures(runs)}</div>',
             "<h3>Timelines</h3>",
             '<p class="note">The streamed utterances whose slowest word came latest. Grey: each '
             "reference word; blue dot: first shown in a partial; orange square: committed; red "
             "words: wrong in the final text. Ticks above: updates that changed the partial "
             "(orange: the committed text grew).</p>"]
    for u in sorted(streamed, key=_rank, reverse=True)[:count]:
        stream = u["stream"]
        name = (f"{u.get('dataset')}/{u.get('id')} — {u.get('model')} / {u.get('device')}, "
                f"{stream.get('chunk_ms')} ms chunks, {stream.get('clock')} clock")
        body = (timeline_svg(stream, title=name) if stream.get("words") else
                f'<p class="note">no reference word timings: '
                f'{escape(str(stream.get("timing_reason")))}</p>')
        parts.append(f'<div class="worst"><h3>{escape(name)}</h3>{body}</div>')
    return "".join(parts)
