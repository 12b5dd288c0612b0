"""What a run has measured so far: utterance results, failures, throughput results, skipped models.

Keyed by :class:`~asrbench.bench.results.RunKey` (model, device, dataset) and the utterance id.
Results are listed in the order they were first recorded, as the report lists them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from asrbench.bench.guard import one_line
from asrbench.bench.results import FailedUtterance, RunKey, ThroughputResult, UtteranceResult

__all__ = ["ResultStore"]


class ResultStore:
    """The results of one run; engines never see it."""

    def __init__(self) -> None:
        self._runs: dict[RunKey, dict[str, UtteranceResult]] = {}
        #: (run, id) in the order first recorded, across runs.
        self._order: dict[tuple[RunKey, str], None] = {}
        #: Utterance tests that ended without a result, for the report and the corpus test.
        self.failures: list[FailedUtterance] = []
        self.throughput: dict[RunKey, ThroughputResult] = {}
        #: Why a model × device did not run at all, by (model label, device).
        self.skipped: dict[tuple[str, str], str] = {}

    def record(self, result: UtteranceResult) -> None:
        """Keep ``result``; an offline result recorded after its stream keeps the stream."""
        key = result.run_key
        old = self._runs.get(key, {}).get(result.id)
        if old is not None and old.stream is not None and result.stream is None:
            result = replace(result, stream=old.stream)
        self._runs.setdefault(key, {})[result.id] = result
        self._order.setdefault((key, result.id), None)

    def result(self, key: RunKey, uid: str) -> UtteranceResult | None:
        return self._runs.get(key, {}).get(uid)

    def rows(self, key: RunKey) -> list[UtteranceResult]:
        """The run's results, in the order recorded."""
        return list(self._runs.get(key, {}).values())

    def run_keys(self) -> list[RunKey]:
        """Every run with results, in the order its first result was recorded."""
        return list(self._runs)

    def utterances(self) -> Iterator[UtteranceResult]:
        """Every result, in the order first recorded."""
        for key, uid in self._order:
            yield self._runs[key][uid]

    def __len__(self) -> int:
        return len(self._order)

    def record_failure(self, key: RunKey, uid: str, error: BaseException, *,
                       audio: str | None = None) -> None:
        """Remember an utterance that produced no result."""
        self.failures.append(FailedUtterance(uid, key.model, key.device, key.dataset,
                                             type(error).__name__, one_line(error), audio))

    def has_failed(self, key: RunKey, uid: str) -> bool:
        return any(f.run_key == key and f.id == uid for f in self.failures)

    def record_throughput(self, result: ThroughputResult) -> None:
        self.throughput[result.key] = result
