"""Streaming mode's part of the plugin: one run object, registered once asrbench is used.

:class:`StreamingRun` holds everything streaming adds to a run (as syrupy's ``SnapshotSession``
does for snapshots), so the plugin's hooks and fixtures stay one-liners: it deselects the streaming
tests unless ``--asr-stream`` (or ``[tool.asrbench] stream = true``) turns the mode on, marks them
``streaming``, streams an utterance for the ``asr_stream`` fixture and says what broke a threshold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from asrbench.bench.models import LoadedModel
    from asrbench.bench.results import UtteranceResult
    from asrbench.bench.session import BenchSession
    from asrbench.data.datasets import Utterance

__all__ = ["FIXTURE", "NAME", "StreamingRun"]

#: The fixture that makes a test a streaming test, and the name the run object is registered by.
FIXTURE = "asr_stream"
NAME = "asrbench-streaming"


class StreamingRun:
    """The run's streaming state: whether it is on, and how to stream and judge one utterance."""

    def __init__(self, session: BenchSession) -> None:
        self.session = session

    @property
    def on(self) -> bool:
        return bool(self.session.settings.stream)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        """Mark the streaming tests (before ``-m`` selects); deselect them when the mode is off."""
        streaming = [item for item in items if FIXTURE in getattr(item, "fixturenames", ())]
        for item in streaming:
            item.add_marker(pytest.mark.streaming)
        if not self.on and streaming:
            config.hook.pytest_deselected(items=streaming)
            items[:] = [item for item in items if item not in streaming]

    def __call__(self, model: LoadedModel, utterance: Utterance) -> UtteranceResult:
        """Stream ``utterance`` into ``model`` and record the result (see :mod:`asrbench.bench.streaming`)."""
        from asrbench.bench.streaming import stream_utterance

        return stream_utterance(self.session, model, utterance)

    def problems(self, result: UtteranceResult, *, max_wer: float) -> list[str]:
        """What the streamed ``result`` breaks: commit violations (each naming its update), the
        final WER over ``max_wer``, latency p90 and erasure over their thresholds."""
        from asrbench.scoring.metrics import percentile

        stream = result.stream
        if stream is None:
            return ["the utterance was not streamed"]
        settings, score = self.session.settings, stream.score
        where = f"{result.model} on {result.device}, {result.dataset}/{result.id}"
        out = [f"{where}: commit violation: {v}" for v in score.violations]
        if stream.errors.rate > max_wer:
            out.append(f"{where}: stream WER {stream.errors.rate:.1%} > {max_wer:.1%}")
        limit = settings.max_latency_p90
        if limit is not None:
            if score.first_latencies:
                p90 = percentile(list(score.first_latencies), 90)
                if p90 > limit:
                    out.append(f"{where}: first-appearance latency p90 {p90:.3f} s > {limit} s "
                               f"--asr-max-latency-p90 (timing source {stream.timing_source})")
            else:
                out.append(f"{where}: --asr-max-latency-p90 cannot be judged: "
                           f"{stream.timing_reason or 'no correctly recognised word'}")
        if settings.max_erasure is not None and score.final_words:
            rate = score.removed_words / score.final_words
            if rate > settings.max_erasure:
                out.append(f"{where}: erasure {rate:.3f} > {settings.max_erasure} "
                           "--asr-max-erasure")
        elif settings.max_erasure is not None and score.removed_words:
            out.append(f"{where}: erasure unbounded > {settings.max_erasure} --asr-max-erasure "
                       f"({score.removed_words} words shown then removed, none in the final text)")
        return out
