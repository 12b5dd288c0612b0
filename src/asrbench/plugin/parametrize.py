"""Parametrization: which model × device × dataset × utterance each asrbench test runs, in what order.

A test asks for any of ``asr_model``, ``asr_device``, ``asr_dataset`` and ``utterance``; it gets
one :class:`Case` per combination of those it asked for. Collection then orders the cases so each
model's tests run together (each model loads once), utterances before the corpus test that sums
them, and other tests keep their place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from asrbench.engines.registry import engine_class

if TYPE_CHECKING:
    from asrbench.config.options import Settings
    from asrbench.data.datasets import Dataset, UtteranceSpec
    from asrbench.engines.spec import ModelSpec
    from asrbench.hardware.devices import Device

__all__ = ["FIXTURES", "Case", "case_of", "cases", "order", "unsupported"]

#: The fixtures parametrized through the hidden ``_asr_case`` fixture.
FIXTURES = ("asr_model", "asr_device", "asr_dataset", "utterance")


@dataclass(frozen=True)
class Case:
    """One parametrization: any of model, device, dataset, utterance (``None`` when unused)."""

    model: ModelSpec | None
    device: Device | None
    dataset: Dataset | None
    item: UtteranceSpec | None
    rank: tuple[int, int, int, int, int]

    @property
    def id(self) -> str:
        parts = [self.model.label if self.model else None, str(self.device) if self.device else None,
                 self.dataset.name if self.dataset else None, self.item.id if self.item else None]
        return "-".join(p for p in parts if p)

    @property
    def unsupported_reason(self) -> str | None:
        """Why the engine cannot run on the device at all (known without trying), or ``None``."""
        if self.model is None or self.device is None:
            return None
        return engine_class(self.model.engine).unsupported_reason(self.device)

    def marks(self) -> list[pytest.MarkDecorator]:
        """From the model and device only: :func:`cases` shares one list per model × device."""
        marks = [pytest.mark.asrbench]
        if self.device is not None:
            marks.append(getattr(pytest.mark, self.device.kind))
        if self.model is not None:
            marks.append(getattr(pytest.mark, self.model.engine))
        reason = self.unsupported_reason
        if reason is not None:
            marks.append(pytest.mark.skip(reason=reason))
        return marks


def cases(settings: Settings, datasets: Sequence[Dataset], fixtures: Iterable[str]) -> list[Any]:
    """``pytest.param`` per combination of the asrbench fixtures a test requests (``datasets``: the
    run's, loaded and sharded)."""
    names = set(fixtures)
    models = list(enumerate(settings.models)) if "asr_model" in names else [(0, None)]
    devs = list(enumerate(settings.devices)) if "asr_device" in names else [(0, None)]
    wants_item = "utterance" in names
    sets = ([(i, d) for i, d in enumerate(datasets) if d.items]  # a shard may be empty
            if wants_item or "asr_dataset" in names else [(0, None)])
    params = []
    for mi, model in models:
        for di, device in devs:
            marks = tuple(Case(model, device, None, None, (mi, di, 0, 0, 0)).marks())  # shared
            for si, dataset in sets:
                items = list(enumerate(dataset.items)) if wants_item and dataset else [(-1, None)]
                for ii, item in items:
                    # corpus-level tests (no item) sort after the utterances they summarise
                    rank = (mi, di, si, 0 if item is not None else 1, ii)
                    case = Case(model, device, dataset, item, rank)
                    params.append(pytest.param(case, id=case.id, marks=marks))
    return params


def case_of(item: pytest.Item) -> Case | None:
    """The :class:`Case` of a collected test, or ``None`` for tests asrbench did not parametrize."""
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get("_asr_case") if callspec is not None else None
    return case if isinstance(case, Case) else None


def order(items: list[pytest.Item]) -> None:
    """Group asrbench tests by model and device, in place; other tests keep their slots."""
    slots = [(i, case) for i, item in enumerate(items) if (case := case_of(item)) is not None]
    ordered = sorted((items[i] for i, _ in slots), key=lambda item: case_of(item).rank)  # type: ignore[union-attr]
    for (slot, _), item in zip(slots, ordered, strict=True):
        items[slot] = item


def unsupported(items: Iterable[pytest.Item]) -> dict[tuple[str, str], str]:
    """``{(model, device): reason}`` for the selected tests whose engine cannot use their device."""
    out: dict[tuple[str, str], str] = {}
    for item in items:
        case = case_of(item)
        reason = case.unsupported_reason if case is not None else None
        if case is not None and reason is not None and case.model and case.device:
            out.setdefault((case.model.label, str(case.device)), reason)
    return out
