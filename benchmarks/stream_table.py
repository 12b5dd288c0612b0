"""Streaming figures of saved reports as one Markdown table: a row per run (engine × chunk size).

A reporting helper for the closing note of a streaming comparison, not a test. Make the reports with
``pytest tests/benchmarks --asr-stream --asr-fast --asr-device cpu -k "test_utterance or
test_stream" --asr-model X --asr-chunk-ms N --asr-report X-N.json`` (the offline test in the same
run gives the offline WER beside the stream's), then
``python benchmarks/stream_table.py X-100.json X-500.json ...``. A figure that could not be measured
prints as ``null`` (its reason is in the report).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = (
    ("chunk ms", "stream_chunk_ms", ".0f"), ("clock", "stream_compute_clock", ""),
    ("1st p50 s", "stream_first_latency_p50", ".2f"), ("1st p90 s", "stream_first_latency_p90", ".2f"),
    ("commit p90 s", "stream_commit_latency_p90", ".2f"),
    ("OB lat s", "openbench_streaming_latency", ".2f"),
    ("OB confirmed s", "openbench_confirmed_latency", ".2f"),
    ("erasure", "stream_erasure", ".2f"), ("stream WER", "stream_wer", ".3f"),
    ("offline WER", "wer", ".3f"), ("stream RTF", "stream_rtf", ".2f"),
    ("lag slope", "lag_slope", "+.3f"),
)


def cell(value: object, fmt: str) -> str:
    if value is None:
        return "null"
    return format(value, fmt) if fmt else str(value)


def main(paths: list[str]) -> None:
    print("| model | " + " | ".join(name for name, _, _ in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for path in paths:
        for run in json.loads(Path(path).read_text())["runs"]:
            if run.get("stream_chunk_ms") is None:
                continue
            # without the offline test in the run, "wer" is the streams' own: no offline WER
            offline = run.get("stream_wer_gap") is not None
            cells = [cell(run.get(key) if key != "wer" or offline else None, fmt)
                     for _, key, fmt in COLUMNS]
            print(f"| {run['model']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
