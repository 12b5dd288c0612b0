"""On the real tiny.en weights: repeat runs are not significantly different, and three shards of
the smoke set merge into exactly the unsharded run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asrbench.cli import main

SUITE = Path(__file__).parents[1] / "benchmarks" / "test_transcribe.py"
ARGS = ["--asr-model", "faster_whisper:tiny.en,compute_type=int8", "--asr-dataset", "smoke",
        "--asr-device", "cpu", "--asr-rounds", "1", "--asr-warmup", "0", "-p", "no:cacheprovider",
        "--asr-max-wer", "1", "--asr-max-corpus-wer", "1"]


@pytest.mark.slow  # five runs of the smoke set on the real weights
def test_repeat_runs_compare_as_not_significant_and_shards_merge_exactly(pytester, capsys):
    pytester.makepyfile(test_suite=SUITE.read_text())
    for number in (1, 2):
        pytester.runpytest_inprocess(*ARGS, "--benchmark-autosave",
                                     f"--asr-report=full{number}.json").assert_outcomes(passed=6)
    capsys.readouterr()
    assert main(["compare", "--json", "--fail-on", "wer:+0", "--significant"]) == 0
    [_first, second] = json.loads(capsys.readouterr().out)
    assert second["delta_wer_pt"] == 0.0
    assert second["significant"] is False
    assert second["p_value"] == 1.0

    shards = []
    for index in (1, 2, 3):
        result = pytester.runpytest_inprocess(*ARGS, f"--asr-shard={index}/3",
                                              f"--asr-report=s{index}.json", "--benchmark-disable")
        assert result.ret == 0
        shards.append(f"s{index}.json")
    assert main(["merge", *shards, "--out", "merged.json", "--no-save"]) == 0
    merged = json.loads((pytester.path / "merged.json").read_text())
    full = json.loads((pytester.path / "full1.json").read_text())
    assert sorted(u["id"] for u in merged["utterances"]) == sorted(u["id"] for u in full["utterances"])
    assert merged["runs"][0]["wer"] == full["runs"][0]["wer"]
    assert merged["runs"][0]["word_errors"] == full["runs"][0]["word_errors"]
