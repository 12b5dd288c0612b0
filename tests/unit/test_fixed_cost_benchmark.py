"""``benchmarks/fixed_cost.py``: its arithmetic, its one-clip manifest and the run it times."""

from __future__ import annotations

import itertools
import json

import pytest

from scripts import benchmark_script  # type: ignore[import-not-found]


@pytest.fixture(scope="module")
def fixed_cost():
    with benchmark_script("fixed_cost") as module:
        yield module


def test_the_fixed_cost_is_the_median_of_paired_differences(fixed_cost):
    # pairs (5, 3), (4, 3.5), (9, 4): differences 2, 0.5, 5 -> 2; ratios 1.667, 1.143, 2.25 -> 1.667
    line = fixed_cost.summary("wall", [5.0, 4.0, 9.0], [3.0, 3.5, 4.0], 0.5)
    assert "asrbench  5.000 s, bare  3.500 s: fixed cost +2.000 s, ratio 1.667" in line
    assert line.endswith("OVER the 0.5 s target")
    within = fixed_cost.summary("wall", [3.2, 3.4], [3.0, 3.0], 0.5)
    assert "fixed cost +0.300 s" in within
    assert within.endswith("within the 0.5 s target")
    assert "target" not in fixed_cost.summary("CPU", [2.0], [1.0], None)


def test_the_manifest_holds_the_shortest_smoke_clip_alone(fixed_cost, tmp_path):
    import soundfile as sf

    manifest = fixed_cost.one_clip_manifest(tmp_path)
    [line] = manifest.read_text().splitlines()
    record = json.loads(line)
    smoke = [json.loads(x) for x in fixed_cost.SMOKE.read_text().splitlines() if x.strip()]
    frames = {r["id"]: sf.info(str(fixed_cost.SMOKE.parent / r["audio"])).frames for r in smoke}
    assert frames[record["id"]] == min(frames.values())
    assert (tmp_path / record["audio"]).is_file()


def test_the_asrbench_side_is_the_benchmark_suite_with_one_warm_up_and_one_round(fixed_cost,
                                                                                 tmp_path):
    args = fixed_cost.asrbench_args(tmp_path / "one.jsonl", 2, tmp_path / "r.json")
    assert args[1:4] == ["-m", "pytest", "tests/benchmarks"]
    pairs = dict(itertools.pairwise(args))
    assert pairs["--asr-model"] == "faster_whisper,cpu_threads=2"
    assert (pairs["--asr-warmup"], pairs["--asr-rounds"]) == ("1", "1")
    assert pairs["--asr-report"] == str(tmp_path / "r.json")  # the run records what it records
