"""The run figures table: each figure on a run declared once, and read by everything that shows it.

A :class:`RunFigure` names a figure, says how to print it (label, unit, format), whether lower is
better, whether it is a timing (timings are compared like for like only on one machine), whether the
compact terminal summary shows it, and how it is computed from the run's utterance results (and the
run's facts, such as the idle power measured before it). :func:`asrbench.bench.results.summarise`
fills every registered figure; ``RunSummary.as_dict`` writes each as a value, or ``null`` with
``<name>_reason``; the report schema lists them (:func:`asrbench.reporting.schema.load_schema`
derives the properties from this table); the terminal summary, ``asrbench compare`` and
``asrbench merge`` (which recomputes them from the utterances) read this table.

A new figure is one :func:`register_figure` call (a plugin or a conftest may add its own).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asrbench.bench import stream_figures as stream
from asrbench.core.figures import Figure, median_figure, ratio

if TYPE_CHECKING:
    from asrbench.bench.results import UtteranceResult

__all__ = ["ENERGY_PARTS", "RunFigure", "compact_text", "compute_all", "figure", "figures",
           "register_figure", "unregister_figure", "with_changes"]

#: How a figure is computed: from the run's utterances and its facts (``RunSummary.info``).
Compute = Callable[[Sequence["UtteranceResult"], Mapping[str, Any]], Figure]

#: Where the CPU time figure comes from (written with every run as ``cpu_time_method``).
CPU_TIME_SCOPE = ("on a GPU it is the host side: Python and runtime work plus the wait inside the "
                  "device synchronise (CUDA spins a core while it waits)")

#: Energy counters: the report prefix of each. ``""`` is the run's device counter (NVML board energy
#: on CUDA, RAPL on a CPU run), ``host_`` the host CPU's RAPL counter beside a GPU's.
ENERGY_PARTS = ("", "host_")


@dataclass(frozen=True)
class RunFigure:
    """One figure of a run: how it is named, printed, compared and computed."""

    name: str
    label: str
    unit: str
    compute: Compute
    fmt: str = ".3f"
    lower_is_better: bool = True
    timing: bool = False
    compact: bool = False
    description: str = ""

    def format(self, value: float | None) -> str:
        """The value as the terminal and compare print it (``-`` when missing)."""
        if value is None or not math.isfinite(value):
            return "-"
        return f"{value:{self.fmt}}"


_TABLE: dict[str, RunFigure] = {}


def register_figure(fig: RunFigure, *, replace: bool = False) -> RunFigure:
    """Add ``fig`` to the table (after the built-in figures, in registration order)."""
    if fig.name in _TABLE and not replace:
        raise ValueError(f"figure {fig.name!r} is already registered")
    _TABLE[fig.name] = fig
    return fig


def unregister_figure(name: str) -> None:
    """Drop a registered figure (tests that registered one clean up with this)."""
    _TABLE.pop(name, None)


def figures() -> tuple[RunFigure, ...]:
    """Every registered figure, built-in first."""
    return tuple(_TABLE.values())


def figure(name: str) -> RunFigure:
    return _TABLE[name]


_OLD = "not recorded (a report older than version 3, or an utterance measured without it)"


def _total(rows: Sequence[UtteranceResult], attr: str) -> float | None:
    values = [getattr(r, attr) for r in rows]
    if not values or any(v is None for v in values):
        return None
    return float(sum(values))


def _cpu_seconds(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
    value = _total(rows, "cpu_seconds")
    return Figure(value) if value is not None else Figure.missing(f"CPU time {_OLD}")


def _core_hours(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
    return ratio(_total(rows, "cpu_seconds"), sum(r.audio_seconds for r in rows),
                 what="core-hours per audio hour (audio seconds)")


def _utilisation(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
    return ratio(_total(rows, "cpu_seconds"), sum(r.latency for r in rows),
                 what="CPU utilisation (compute seconds)")


def _first_text(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
    reasons = [r.first_text_latency_reason for r in rows if r.first_text_latency_reason]
    return median_figure((r.first_text_latency for r in rows), what="first text latency",
                         missing=reasons[0] if reasons else f"first text {_OLD}")


def _energy(prefix: str, *, per_hour: bool, net: bool) -> Compute:
    def compute(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
        values = [r.energy.get(prefix) for r in rows]
        if not values or any(v is None for v in values):
            return Figure.missing(str(facts.get(f"{prefix}energy_reason")
                                      or f"energy {_OLD}"))
        joules = float(sum(v for v in values if v is not None))
        if net:
            watts = facts.get(f"{prefix}idle_watts")
            if watts is None:
                why = facts.get(f"{prefix}idle_watts_reason") or "idle power not measured"
                return Figure.missing(f"no net figure: {why}")
            joules -= float(watts) * sum(r.latency for r in rows)
        if not per_hour:
            return Figure(joules)
        return ratio(joules, sum(r.audio_seconds for r in rows), what="joules per audio hour",
                     scale=3600.0)
    return compute


def _idle(prefix: str) -> Compute:
    def compute(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> Figure:
        watts = facts.get(f"{prefix}idle_watts")
        if isinstance(watts, int | float):
            return Figure(float(watts))
        return Figure.missing(str(facts.get(f"{prefix}idle_watts_reason")
                                  or facts.get(f"{prefix}energy_reason") or "idle power not measured"))
    return compute


def _builtin() -> None:
    register_figure(RunFigure(
        "cpu_seconds", "CPU s", "s", _cpu_seconds, timing=True,
        description="host CPU seconds over the measured calls (each utterance's median call), "
                    "user + system, all threads but asrbench's own; " + CPU_TIME_SCOPE))
    register_figure(RunFigure(
        "core_hours_per_audio_hour", "core-h/audio-h", "h/h", _core_hours, fmt=".3g", timing=True,
        compact=True, description="cpu_seconds / audio_seconds over the same calls (Picovoice's "
                                  "Core-Hour)"))
    register_figure(RunFigure(
        "cpu_utilisation", "CPU util", "cores", _utilisation, fmt=".2f", timing=True, compact=True,
        lower_is_better=False,
        description="cpu_seconds / compute seconds: cores kept busy on average while the clock ran"))
    register_figure(RunFigure(
        "first_text_latency_p50", "1st text s", "s", _first_text, timing=True, compact=True,
        description="median over utterances of the seconds from the call's start to the engine's "
                    "first text (engines that produce text incrementally)"))
    for prefix in ENERGY_PARTS:
        who = "device counter" if not prefix else "host CPU counter beside the GPU"
        register_figure(RunFigure(
            f"{prefix}energy_joules", f"{prefix}J", "J", _energy(prefix, per_hour=False, net=False),
            fmt=".1f", timing=True, description=f"joules over the measured calls ({who}); see "
                                                f"{prefix}energy_method and {prefix}energy_scope"))
        register_figure(RunFigure(
            f"{prefix}joules_per_audio_hour", f"{prefix}J/audio-h", "J/h",
            _energy(prefix, per_hour=True, net=False), fmt=".0f", timing=True, compact=not prefix,
            description=f"{prefix}energy_joules per hour of audio (gross)"))
        register_figure(RunFigure(
            f"{prefix}idle_watts", f"{prefix}idle W", "W", _idle(prefix), fmt=".1f", timing=True,
            description="mean power of the same counter over a quiet interval before the measured "
                        f"calls (see {prefix}idle_seconds)"))
        register_figure(RunFigure(
            f"{prefix}net_energy_joules", f"{prefix}net J", "J",
            _energy(prefix, per_hour=False, net=True), fmt=".1f", timing=True,
            description=f"{prefix}energy_joules less idle power × compute seconds"))
        register_figure(RunFigure(
            f"{prefix}net_joules_per_audio_hour", f"{prefix}net J/audio-h", "J/h",
            _energy(prefix, per_hour=True, net=True), fmt=".0f", timing=True,
            description=f"{prefix}net_energy_joules per hour of audio"))


def _streaming() -> None:
    """The streaming figures (``--asr-stream``); see :mod:`asrbench.bench.stream_figures`."""
    for which, label, what in (("first", "1st", "first appears in a partial"),
                               ("commit", "commit", "is committed")):
        for stat in ("p50", "p90", "mean"):
            register_figure(RunFigure(
                f"stream_{which}_latency_{stat}", f"{label} lat {stat} s", "s",
                stream.word_latency(which, stat), timing=True, compact=stat == "p90",
                description=f"{stat} over correctly recognised reference words of the seconds "
                            f"from the word's reference end to the emission of the update where "
                            f"it {what} (see timing_source)"))
    for confirmed, name, label in ((False, "openbench_streaming_latency", "OB lat s"),
                                   (True, "openbench_confirmed_latency", "OB conf lat s")):
        register_figure(RunFigure(
            name, label, "s", stream.openbench(confirmed), timing=True,
            description=f"OpenBench's {'confirmed ' if confirmed else ''}streaming latency: mean of "
                        "min/max audio-cursor minus transcript-cursor per "
                        f"{'committed' if confirmed else 'interim'} result, weighted by newly "
                        "covered audio"))
    register_figure(RunFigure(
        "stream_first_word_seconds", "1st word s", "s",
        stream.per_utterance("first_correct_word", median=True), timing=True,
        description="median over utterances of the seconds from the audio's start to the first "
                    "update showing a correctly recognised word"))
    register_figure(RunFigure(
        "stream_end_of_utterance_latency", "EOU lat s", "s",
        stream.per_utterance("end_of_utterance", median=False), timing=True,
        description="mean over utterances of the final commit's emission minus the end of the "
                    "last reference word"))
    register_figure(RunFigure(
        "stream_erasure", "erasure", "words/word", stream.erasure, compact=True,
        description="words removed from the end of the partial between consecutive updates, "
                    "over the words of the final hypotheses"))
    for index, kind in enumerate(("deletions", "substitutions", "insertions")):
        register_figure(RunFigure(
            f"openbench_{kind}", f"OB {kind[:3]}", "words", stream.corrections(index), fmt=".0f",
            description=f"OpenBench's correction count of {kind} between consecutive interim "
                        "results, summed over utterances"))
    register_figure(RunFigure(
        "commit_violations", "commit viol", "updates", stream.commit_violations, fmt=".0f",
        description="updates whose committed text changed what was committed before (must be 0)"))
    register_figure(RunFigure(
        "stream_wer", "stream WER", "rate", stream.stream_wer, fmt=".4f", compact=True,
        description="corpus WER of the streams' final texts"))
    register_figure(RunFigure(
        "stream_wer_gap", "stream ΔWER", "rate", stream.stream_wer_gap, fmt="+.4f",
        description="stream WER minus the same engine's offline WER on the same utterances"))
    register_figure(RunFigure(
        "stream_rtf", "stream RTF", "s/s", stream.stream_rtf, timing=True,
        description="compute seconds of all stream calls over audio seconds"))
    register_figure(RunFigure(
        "lag_slope", "lag slope", "s/s", stream.lag_slope, fmt="+.3f", timing=True,
        description="mean over utterances of the least-squares slope of f_k - a_k over a_k: "
                    "seconds of queueing delay gained per second of audio (above 0: the engine "
                    "cannot keep up)"))


_builtin()
_streaming()


def compute_all(rows: Sequence[UtteranceResult], facts: Mapping[str, Any]) -> dict[str, Figure]:
    """Every registered figure of a run."""
    out: dict[str, Figure] = {}
    for fig in figures():
        try:
            out[fig.name] = fig.compute(rows, facts)
        except (ArithmeticError, ValueError, statistics.StatisticsError) as exc:
            out[fig.name] = Figure.missing(f"{fig.name}: {exc}")
    return out


def compact_text(run: Mapping[str, Any]) -> str:
    """A saved run's compact figures (measured ones only), as compare's table prints them."""
    shown = [f"{fig.label} {fig.format(run.get(fig.name))}" for fig in figures()
             if fig.compact and isinstance(run.get(fig.name), int | float)]
    return "".join(f"  {text}" for text in shown)


def with_changes(base: Mapping[str, Any] | None, run: Mapping[str, Any]) -> dict[str, Any]:
    """Every figure of a saved run and ``delta_<name>`` against ``base`` (None when either lacks
    it, as a version-2 report does): compare's CSV and JSON columns."""
    out: dict[str, Any] = {}
    for fig in figures():
        value = run.get(fig.name)
        old = base.get(fig.name) if base is not None else None
        out[fig.name] = value
        out[f"delta_{fig.name}"] = (float(value) - float(old) if isinstance(value, int | float)
                                    and isinstance(old, int | float) else None)
    return out
