"""Plots: WER against speed or cost per model × device, and latency per utterance (matplotlib,
headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot_latency", "plot_wer_cost", "plot_wer_speed"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_wer_speed(runs: list[dict[str, Any]], out: Path, *, speed: str = "rtfx") -> list[Path]:
    """Scatter of corpus WER (%) against RTFx (or RTF), one labelled point per run; PNG and SVG."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for run in runs:
        x, y = run.get(speed), run.get("wer")
        if x is None or y is None:
            continue
        points = ax.scatter([x], [100 * y], s=60)
        low, high = run.get("wer_ci95") or [None, None]
        if low is not None and high is not None:
            ax.errorbar([x], [100 * y], yerr=[[100 * (y - low)], [100 * (high - y)]],
                        fmt="none", capsize=3, alpha=0.5, color=points.get_facecolor()[0])
        ax.annotate(f"{run['model']} / {run['device']}", (x, 100 * y),
                    textcoords="offset points", xytext=(6, 6), fontsize=9)
    ax.set_xlabel("RTFx (audio seconds per compute second, higher is faster)" if speed == "rtfx"
                  else "RTF (compute seconds per audio second, lower is faster)")
    ax.set_ylabel("corpus WER % (95% bootstrap CI)")
    datasets = sorted({r["dataset"] for r in runs})
    ax.set_title(f"Accuracy against speed — {', '.join(datasets)}")
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=0)
    return _save(plt, fig, out)


def plot_wer_cost(runs: list[dict[str, Any]], out: Path, *, key: str, label: str) -> list[Path]:
    """Scatter of corpus WER (%) against a cost figure ``key`` (x axis ``label``); PNG and SVG."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for run in runs:
        x, y = run.get(key), run.get("wer")
        if x is None or y is None:
            continue
        ax.scatter([x], [100 * y], s=60)
        ax.annotate(f"{run['model']} / {run['device']}", (x, 100 * y),
                    textcoords="offset points", xytext=(6, 6), fontsize=9)
    ax.set_xlabel(label)
    ax.set_ylabel("corpus WER %")
    ax.set_title(f"Accuracy against cost — {', '.join(sorted({r['dataset'] for r in runs}))}")
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=0)
    return _save(plt, fig, out)


def plot_latency(utterances: list[dict[str, Any]], out: Path) -> list[Path]:
    """Latency per utterance, one series per model / device."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    series: dict[str, list[dict[str, Any]]] = {}
    for u in utterances:
        series.setdefault(f"{u['model']} / {u['device']}", []).append(u)
    ids = sorted({u["id"] for u in utterances})
    width = 0.8 / max(len(series), 1)
    for index, (label, rows) in enumerate(sorted(series.items())):
        by_id = {r["id"]: r["latency"] for r in rows}
        xs = [i + index * width for i in range(len(ids))]
        ax.bar(xs, [by_id.get(i, 0) for i in ids], width=width, label=label)
    ax.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(ids))], ids,
                  rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("latency, s (median of measured calls)")
    ax.set_title("Latency per utterance")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(plt, fig, out)


def _save(plt: Any, fig: Any, out: Path) -> list[Path]:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    paths = [out.with_suffix(".png"), out.with_suffix(".svg")]
    for path in paths:
        fig.savefig(path)
    plt.close(fig)
    return paths
