"""Typed keys: a model on a device, and one run (a model on a device over a dataset)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ModelKey", "RunKey"]


@dataclass(frozen=True, order=True)
class ModelKey:
    """A model (its label, unique in a run) on a device: what a load, a first call and a memory
    reading belong to."""

    model: str
    device: str

    def __str__(self) -> str:
        return f"{self.model} on {self.device}"


@dataclass(frozen=True, order=True)
class RunKey:
    """One run: a model (its label) on a device over a dataset; results and summaries are keyed
    by it, and it orders as the report lists runs (model, device, dataset)."""

    model: str
    device: str
    dataset: str

    @property
    def model_key(self) -> ModelKey:
        return ModelKey(self.model, self.device)

    def as_tuple(self) -> tuple[str, str, str]:
        """``(model, device, dataset)``: how a saved run's figures are keyed."""
        return (self.model, self.device, self.dataset)

    def __str__(self) -> str:
        return f"{self.model} / {self.device} / {self.dataset}"
