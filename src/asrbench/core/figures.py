"""A figure that is either measured or ``null`` with the reason: the one shape every cost figure takes.

A figure that cannot be measured (no counter, a zero denominator, a permission missing) is never
zero and never an estimate; it is ``None`` with one line saying why, and the report shows both.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Figure", "median_figure", "ratio"]


@dataclass(frozen=True)
class Figure:
    """A measured ``value``, or ``None`` and the ``reason`` it is missing."""

    value: float | None
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.value is None and not self.reason:
            raise ValueError("a missing figure needs the reason it is missing")
        if self.value is not None and self.reason is not None:
            raise ValueError(f"a measured figure ({self.value}) has no reason to be missing")

    @classmethod
    def missing(cls, reason: str) -> Figure:
        return cls(None, reason)

    def as_dict(self, name: str) -> dict[str, Any]:
        """``{name: value}``, or ``{name: None, name_reason: why}`` for the JSON report."""
        if self.value is None:
            return {name: None, f"{name}_reason": self.reason}
        return {name: self.value}


def ratio(numerator: float | None, denominator: float | None, *, what: str,
          scale: float = 1.0) -> Figure:
    """``numerator / denominator × scale``; missing, naming ``what``, when either is absent or the
    denominator is not positive."""
    if numerator is None:
        return Figure.missing(f"{what}: nothing measured")
    if denominator is None or denominator <= 0:
        return Figure.missing(f"{what}: denominator is {denominator}")
    return Figure(numerator / denominator * scale)


def median_figure(values: Iterable[float | None], *, what: str, missing: str | None = None) -> Figure:
    """The median of the measured values; missing when there are none (``missing`` says why)."""
    present = [v for v in values if v is not None]
    if not present:
        return Figure.missing(missing or f"{what}: no value measured")
    return Figure(float(statistics.median(present)))
