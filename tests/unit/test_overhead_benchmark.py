"""``benchmarks/overhead.py``: its arithmetic, and that its cheapest part still runs end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import benchmark_script  # type: ignore[import-not-found]

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "overhead.py"


@pytest.fixture(scope="module")
def overhead():
    with benchmark_script("overhead") as module:
        yield module


def test_the_headline_ratio_is_the_median_of_paired_ratios(overhead):
    line = overhead.ratio_line("latency", [2.0, 4.0, 6.0], [1.0, 2.0, 4.0], 0.1, "s")
    # paired ratios 2, 2, 1.5 -> median 2; medians 4 / 2 = 2
    assert "4.000 s vs   2.000 s  ratio 2.000 (of medians 2.000; OVER the 10 % target)" in line
    within = overhead.ratio_line("rss", [105 * 2**20], [100 * 2**20], 0.1, "MiB")
    assert "105 MiB vs   100 MiB  ratio 1.050" in within
    assert "within the 10 % target" in within
    assert "target" not in overhead.ratio_line("control", [1.0], [1.0], None, "s")


def test_the_repeated_manifest_gives_every_line_its_own_id(overhead, tmp_path):
    path = overhead.repeated_manifest(tmp_path, 3)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) == 15
    assert len({r["id"] for r in records}) == 15
    assert all((tmp_path / r["audio"]).is_file() for r in records)


def test_the_flat_memory_part_runs_on_the_stub(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--only", "flat", "--flat-engine", "stub",
         "--flat-runs", "1", "--flat-repeat", "2"],
        capture_output=True, text=True, check=False, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "peak RSS 10 utterances" in result.stdout
    assert "KiB per utterance" in result.stdout
