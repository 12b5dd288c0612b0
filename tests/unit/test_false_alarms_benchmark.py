"""``benchmarks/false_alarms.py``: its counting, on constructed rounds of runs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from scripts import benchmark_script  # type: ignore[import-not-found]

GOLDEN = Path(__file__).parents[1] / "golden" / "report.json"


@pytest.fixture(scope="module")
def script():
    with benchmark_script("false_alarms") as module:
        yield module


def _write(folder: Path, name: str, scale: float) -> None:
    """A report of 10 utterances, each ``scale`` times its usual latency (a whole-run shift)."""
    report = json.loads(GOLDEN.read_text(encoding="utf-8"))
    template = report["utterances"][0]
    report["machine"] = {"id": "0123abcd", "node": "bench-host", "folder": "here"}
    report["utterances"] = []
    for i in range(10):
        u = copy.deepcopy(template)
        u.update(id=f"u{i}", latency=(0.5 + i / 10) * scale, audio_seconds=2.0)
        report["utterances"].append(u)
    spent = sum(u["latency"] for u in report["utterances"])
    report["runs"] = [{**report["runs"][0], "rtf": spent / 20.0}]
    (folder / f"{name}.json").write_text(json.dumps(report))


def test_rates_count_verdicts_over_every_choice_of_rounds(script, tmp_path):
    drift = [1.00, 1.10, 0.95, 1.04]  # each round's machine state, shared by its three runs
    for index, d in enumerate(drift, start=1):
        _write(tmp_path, f"a-{index:02d}", d)
        _write(tmp_path, f"a2-{index:02d}", d * 1.001)
        _write(tmp_path, f"b-{index:02d}", d * 1.5)
    found = script.rates(tmp_path, 3, 0.05)
    assert found["rounds"] == 4
    # 4 choose 3 = 4 comparisons; paired runs cancel the drift
    assert found["verdicts"]["aa"] == {"equivalent": 4}
    assert found["verdicts"]["ab"] == {"slower": 4}
    # unpaired, the drift stays in: no false alarm, but no "equivalent" either
    assert found["verdicts"]["aa_unpaired"] == {"no decision": 4}
    # the within-run bootstrap calls a 0.1 % shift of every utterance significant in every pair
    assert found["within_run_significant"] == 4
    text = script.format_rates(found, 4)
    assert "A/A false alarms (paired, as ab): 0/4" in text
    assert "A/B detection of the slowdown (paired): 4/4" in text
    assert "today's within-run test, A against A' one run each: 4/4 'significant'" in text
    with pytest.raises(SystemExit, match="fewer than --per-side 5"):
        script.rates(tmp_path, 5, 0.05)
