"""Runs as replicates: is a timing change bigger than how much runs differ from one another?

A timing figure of one run (its RTF, p50 latency, core-hours per audio hour) is one observation:
what varies most between measurements is the run (process start, machine state, clock speed,
neighbours), not the utterance inside it. So a change is judged on run-level figures, several
runs per side, on the log scale where slowdowns multiply:

- paired runs (``ab`` runs A and B back to back, pair by pair): the log-ratio of each pair, its
  mean and a Student t-interval with n − 1 degrees of freedom; whatever shifted a pair's two runs
  alike (the machine's state at that moment) cancels;
- unpaired sides: the difference of the sides' mean log figures with Welch's t-interval
  (Welch–Satterthwaite degrees of freedom).

The ratio is the geometric mean of one side's figures over the other's; the interval is its 95 %
interval. The verdict is three-way against a practical margin ``m`` (``0.05``: 5 %):
``slower`` when the whole interval lies above ``1 + m``, ``faster`` when it lies below
``1 / (1 + m)``, ``equivalent`` when it lies within both, ``no decision`` otherwise, and always
with fewer than :data:`MIN_RUNS` runs on a side (two runs give no usable estimate of spread).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from asrbench.scoring.student import t_quantile

__all__ = ["MIN_RUNS", "VERDICTS", "RunLevelChange", "judge", "replicate_change", "runs_to_decide"]

#: Runs per side below which no verdict is given.
MIN_RUNS = 3
VERDICTS = ("slower", "faster", "equivalent", "no decision")
#: The most runs per side :func:`runs_to_decide` looks for.
MAX_RUNS = 1000


@dataclass(frozen=True)
class RunLevelChange:
    """One timing figure, run-level, of the ``new`` side against the ``base`` side.

    ``ratio`` is geomean(new) / geomean(base) (``1.2``: 20 % slower); ``low`` and ``high`` its
    interval (``None`` without two runs per side); ``runs_needed`` how many runs per side would
    likely decide a ``no decision`` at the spread seen (``None``: decided, or no spread to go by).
    """

    figure: str
    base: tuple[float, ...]
    new: tuple[float, ...]
    paired: bool
    margin: float
    ratio: float | None
    low: float | None
    high: float | None
    verdict: str
    reason: str | None
    runs_needed: int | None
    level: float = 0.95
    #: How the figure is named in print (``RTF``, ``core-h/audio-h``); the name when absent.
    label: str | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r}: expected one of {', '.join(VERDICTS)}")

    @property
    def cv_base(self) -> float | None:
        """The base side's run-to-run coefficient of variation (sample SD over mean)."""
        return _cv(self.base)

    @property
    def cv_new(self) -> float | None:
        return _cv(self.new)

    def __str__(self) -> str:
        label = self.label or _LABELS.get(self.figure, self.figure)
        runs = (f"{len(self.base)} paired runs" if self.paired
                else f"{len(self.base)} vs {len(self.new)} runs")
        if self.ratio is None:
            return f"{label}: {self.verdict} ({self.reason})"
        text = f"{label} {_pct(self.ratio)}"
        if self.low is not None and self.high is not None:
            text += f" [{100 * self.level:.0f}% CI {_pct(self.low)}, {_pct(self.high)}]"
        text += f" over {runs}: {self.verdict.upper()} (margin {100 * self.margin:g}%"
        text += f"; {self.reason})" if self.reason else ")"
        cvs = [c for c in (self.cv_base, self.cv_new) if c is not None]
        if cvs:
            text += f"; run-to-run CV {' / '.join(f'{100 * c:.1f}%' for c in cvs)}"
        if self.verdict == "no decision" and self.runs_needed is not None:
            text += f"; about {self.runs_needed} runs per side would decide it"
        return text

    def as_dict(self) -> dict[str, object]:
        return {"figure": self.figure, "verdict": self.verdict, "reason": self.reason,
                "ratio": self.ratio, "ci95_low": self.low, "ci95_high": self.high,
                "margin": self.margin, "paired": self.paired, "runs_base": len(self.base),
                "runs_new": len(self.new), "cv_base": self.cv_base, "cv_new": self.cv_new,
                "runs_needed": self.runs_needed, "base_values": list(self.base),
                "new_values": list(self.new)}


_LABELS = {"rtf": "RTF", "latency_p50": "latency p50", "latency_p95": "latency p95",
           "latency_mean": "mean latency", "core_hours_per_audio_hour": "core-h/audio-h"}


def _pct(ratio: float) -> str:
    return f"{100 * (ratio - 1):+.1f}%"


def _cv(values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return math.sqrt(var) / mean if mean > 0 else None


def _mean_var(values: Sequence[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
    return mean, var


def judge(low: float, high: float, margin: float) -> str:
    """The three-way verdict of a ratio interval against a relative ``margin``."""
    if low > 1 + margin:
        return "slower"
    if high < 1 / (1 + margin):
        return "faster"
    if low >= 1 / (1 + margin) and high <= 1 + margin:
        return "equivalent"
    return "no decision"


def replicate_change(base: Sequence[float], new: Sequence[float], *, figure: str,
                     paired: bool, margin: float = 0.05, level: float = 0.95,
                     label: str | None = None) -> RunLevelChange:
    """The run-level change of ``figure`` from the ``base`` runs to the ``new`` runs.

    ``paired``: ``base[i]`` and ``new[i]`` ran back to back (equal lengths required).
    """
    if paired and len(base) != len(new):
        raise ValueError(f"paired runs need equal sides, got {len(base)} and {len(new)}")
    if margin < 0:
        raise ValueError(f"margin must not be negative, got {margin}")
    old, now = tuple(float(v) for v in base), tuple(float(v) for v in new)

    def undecided(reason: str, ratio: float | None = None, low: float | None = None,
                  high: float | None = None, needed: int | None = None) -> RunLevelChange:
        return RunLevelChange(figure, old, now, paired, margin, ratio, low, high, "no decision",
                              reason, needed, level, label)

    if not old or not now:
        return undecided("no run on one side")
    if not all(math.isfinite(v) and v > 0 for v in (*old, *now)):
        return undecided(f"a run has no positive {figure}")
    la, lb = [math.log(v) for v in old], [math.log(v) for v in now]
    # the ratio of geometric means (for pairs the same as the mean pair log-ratio)
    ratio = math.exp(sum(lb) / len(lb) - sum(la) / len(la))
    fewest = min(len(old), len(now))
    if fewest < 2:  # before any spread: Welch's degrees of freedom divide by n - 1
        return undecided("1 run on a side: no run-to-run spread to judge a change against; "
                         "use 3 or more runs per side ('asrbench ab')", ratio)
    if paired:
        mean, var = _mean_var([b - a for a, b in zip(la, lb, strict=True)])
        se2, df = var / len(la), float(len(la) - 1)
    else:
        (ma, va), (mb, vb) = _mean_var(la), _mean_var(lb)
        mean, se2 = mb - ma, va / len(la) + vb / len(lb)
        df = _welch_df(va, len(la), vb, len(lb))
    half = t_quantile(0.5 + level / 2, df) * math.sqrt(se2) if se2 > 0 else 0.0
    low, high = math.exp(mean - half), math.exp(mean + half)
    sd = _spread(la, lb, paired)
    needed = runs_to_decide(mean, sd, margin, paired=paired, level=level)
    if fewest < MIN_RUNS:
        return undecided(f"fewer than {MIN_RUNS} runs per side ({len(old)} and {len(now)}): "
                         "too few to estimate run-to-run spread", ratio, low, high, needed)
    verdict = judge(low, high, margin)
    if verdict == "no decision":
        return undecided("the interval crosses the margin", ratio, low, high, needed)
    return RunLevelChange(figure, old, now, paired, margin, ratio, low, high, verdict, None, None,
                          level, label)


def _welch_df(va: float, na: int, vb: float, nb: int) -> float:
    """Welch–Satterthwaite degrees of freedom (the smaller side's n − 1 when both spreads are 0)."""
    a, b = va / na, vb / nb
    if a + b <= 0:
        return float(min(na, nb) - 1)
    return (a + b) ** 2 / (a * a / (na - 1) + b * b / (nb - 1))


def _spread(la: Sequence[float], lb: Sequence[float], paired: bool) -> float:
    """The SD a future run adds on the log scale: of pair log-ratios, or pooled over both sides."""
    if paired:
        return math.sqrt(_mean_var([b - a for a, b in zip(la, lb, strict=True)])[1])
    (_, va), (_, vb) = _mean_var(la), _mean_var(lb)
    return math.sqrt((va + vb) / 2)


def runs_to_decide(log_ratio: float, sd: float, margin: float, *, paired: bool,
                   level: float = 0.95) -> int | None:
    """Runs per side whose interval, at this spread (``sd`` on the log scale) and this log-ratio,
    would lie wholly inside one verdict's region; ``None`` when no spread was seen, the ratio sits
    on the margin, or more than :data:`MAX_RUNS` would be needed."""
    edge = math.log1p(margin)
    room = min(abs(log_ratio - edge), abs(log_ratio + edge))
    if sd <= 0 or room <= 0:
        return None
    # t is never below the normal quantile: no count under the normal interval's can decide
    z = t_quantile(0.5 + level / 2, 1e9)
    start = math.ceil((z * sd / room) ** 2 * (1 if paired else 2))
    if start > MAX_RUNS:
        return None
    for n in range(max(MIN_RUNS, start), MAX_RUNS + 1):
        df = n - 1 if paired else 2 * n - 2
        se = sd / math.sqrt(n) if paired else sd * math.sqrt(2 / n)
        if t_quantile(0.5 + level / 2, df) * se < room:
            return n
    return None
