"""What the HTML report inlines: plots as SVG data URIs, audio clips, word alignments as markup.

Everything becomes part of the one file (``data:`` URIs), so the page makes no request. Plots come
from :mod:`asrbench.reporting.plot`; jiwer is imported only when an alignment is made.
"""

from __future__ import annotations

import base64
import html
import io
import math
import tempfile
import wave
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["COST_FIGURES", "AudioFiles", "Figure", "alignment_html", "audio_data_uri",
           "find_audio", "plots"]

#: Cost figures a run may carry (per audio hour), with their axis labels; plotted against WER.
COST_FIGURES = (("core_hours_per_audio_hour", "CPU core-hours per audio hour (lower is cheaper)"),
                ("joules_per_audio_hour", "joules per audio hour (lower is cheaper)"))

#: Clips larger than this are not inlined (the page would be too heavy to open).
MAX_CLIP_BYTES = 8 * 2**20

_MIME = {".flac": "audio/flac", ".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
         ".opus": "audio/ogg", ".m4a": "audio/mp4", ".webm": "audio/webm"}


@dataclass(frozen=True)
class AudioFiles:
    """Each utterance's audio file by (dataset, id), and why a dataset's files were not found."""

    paths: Mapping[tuple[str, str], Path] = field(default_factory=dict)
    problems: Mapping[str, str] = field(default_factory=dict)

    def why_missing(self, dataset: str, uid: str) -> str | None:
        """``None`` when the clip can be played, else the reason."""
        path = self.paths.get((dataset, uid))
        if path is not None:
            return None if path.is_file() else f"audio file {path} is not on this machine"
        return self.problems.get(dataset, f"no audio file known for {dataset}/{uid}")


def find_audio(report: Mapping[str, Any], *, allow_outside_paths: bool = False) -> AudioFiles:
    """Audio files of the report's datasets, read again from each dataset's manifest or folder.

    The same outside-paths check as a run's: the page carries the clips' bytes to whoever receives
    it, so a dataset whose paths leave its folder (a link added since the run, say) gets no audio
    unless ``allow_outside_paths``.
    """
    from asrbench.core.errors import AsrBenchError
    from asrbench.data.datasets import load_dataset

    paths: dict[tuple[str, str], Path] = {}
    problems: dict[str, str] = {}
    for record in report.get("datasets") or []:
        name, source = str(record.get("name")), str(record.get("source") or "")
        if not source or not Path(source).exists():
            problems[name] = (f"audio not available: dataset source {source!r} is not a file or "
                              "folder on this machine")
            continue
        try:
            dataset = load_dataset(source, allow_outside_paths=allow_outside_paths)
        except (AsrBenchError, OSError) as exc:
            problems[name] = f"audio not available: {exc}"
            continue
        for item in dataset.items:
            paths[(name, item.id)] = item.path
    return AudioFiles(paths, problems)


def audio_data_uri(path: Path) -> str:
    """The clip as a ``data:`` URI: the file itself when browsers play its format, else WAV."""
    size = path.stat().st_size
    if size > MAX_CLIP_BYTES:
        raise ValueError(f"{path}: {size / 2**20:.1f} MiB, too large to inline")
    mime = _MIME.get(path.suffix.lower())
    if mime is not None:
        data = path.read_bytes()
    else:
        from asrbench.data.audio import SAMPLE_RATE, load_audio

        samples = load_audio(path)
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes((samples.clip(-1, 1) * 32767).astype("<i2").tobytes())
        mime, data = "audio/wav", buffer.getvalue()
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


@dataclass(frozen=True)
class Figure:
    """One plot for the page: an SVG ``data:`` URI, or ``None`` with the reason in ``note``."""

    title: str
    uri: str | None
    note: str = ""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _svg_uri(path: Path) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def plots(runs: Sequence[Mapping[str, Any]]) -> list[Figure]:
    """Accuracy against speed (always, or why not), and against each cost figure the runs have."""
    from asrbench.reporting.plot import plot_wer_cost, plot_wer_speed

    figures: list[Figure] = []
    speed = [dict(r) for r in runs if _number(r.get("wer")) and _number(r.get("rtfx"))]
    with tempfile.TemporaryDirectory(prefix="asrbench-html-") as tmp:
        if speed:
            written = plot_wer_speed(speed, Path(tmp) / "speed", speed="rtfx")
            svg = next(p for p in written if p.suffix == ".svg")
            figures.append(Figure("Accuracy against speed", _svg_uri(svg)))
        else:
            figures.append(Figure("Accuracy against speed", None,
                                  "no run has both a WER and an RTFx to plot"))
        for key, label in COST_FIGURES:
            costed = [dict(r) for r in runs if _number(r.get("wer")) and _number(r.get(key))]
            if costed:
                written = plot_wer_cost(costed, Path(tmp) / key, key=key, label=label)
                svg = next(p for p in written if p.suffix == ".svg")
                figures.append(Figure(f"Accuracy against cost ({key})", _svg_uri(svg)))
    if len(figures) == 1:
        figures.append(Figure("Accuracy against cost", None, "this report has no cost figures ("
                              + ", ".join(k for k, _ in COST_FIGURES) + ")"))
    return figures


def alignment_html(reference: str, hypothesis: str) -> str:
    """The normalised texts aligned word by word: ``<span class="op-s|op-d|op-i">`` marks errors.

    A substitution shows the reference word struck out and the hypothesis word beside it.
    """
    ref, hyp = reference.split(), hypothesis.split()
    if not ref:
        return " ".join(f'<span class="op-i" title="insertion">{html.escape(w)}</span>'
                        for w in hyp) or '<span class="empty">(empty)</span>'
    import jiwer

    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    parts: list[str] = []
    for chunk in out.alignments[0]:
        words_r = ref[chunk.ref_start_idx:chunk.ref_end_idx]
        words_h = hyp[chunk.hyp_start_idx:chunk.hyp_end_idx]
        if chunk.type == "equal":
            parts += [html.escape(w) for w in words_r]
        elif chunk.type == "substitute":
            parts += [f'<span class="op-s" title="substitution"><del>{html.escape(r)}</del> '
                      f'<ins>{html.escape(h)}</ins></span>' for r, h in zip(words_r, words_h,
                                                                           strict=True)]
        elif chunk.type == "delete":
            parts += [f'<span class="op-d" title="deletion"><del>{html.escape(w)}</del></span>'
                      for w in words_r]
        else:
            parts += [f'<span class="op-i" title="insertion"><ins>{html.escape(w)}</ins></span>'
                      for w in words_h]
    return " ".join(parts)
