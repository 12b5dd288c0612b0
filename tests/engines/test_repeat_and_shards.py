"""On the real tiny.en weights: three shards of the smoke set merge into exactly the unsharded run,
and the two compare as not significantly different."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asrbench.cli import main

SUITE = Path(__file__).parents[1] / "benchmarks" / "test_transcribe.py"
ARGS = ["--asr-model", "faster_whisper:tiny.en,compute_type=int8", "--asr-dataset", "smoke",
        "--asr-device", "cpu", "--asr-rounds", "1", "--asr-warmup", "0", "-p", "no:cacheprovider",
        "--asr-max-wer", "1", "--asr-max-corpus-wer", "1"]


@pytest.mark.slow  # four runs of the smoke set on the real weights
def test_shards_merge_exactly_into_the_whole_run_and_compare_as_not_significant(pytester, capsys):
    """The whole smoke set in one run, then again as three shards merged: the merge is exactly the
    whole run's utterances and errors, and saved beside it, ``compare`` finds no difference."""
    pytester.makepyfile(test_suite=SUITE.read_text())
    pytester.runpytest_inprocess(*ARGS, "--benchmark-autosave",
                                 "--asr-report=full.json").assert_outcomes(passed=6)
    shards = []
    for index in (1, 2, 3):
        result = pytester.runpytest_inprocess(*ARGS, f"--asr-shard={index}/3",
                                              f"--asr-report=s{index}.json", "--benchmark-disable")
        assert result.ret == 0
        shards.append(f"s{index}.json")
    assert main(["merge", *shards, "--out", "merged.json"]) == 0  # saved as the next run
    merged = json.loads((pytester.path / "merged.json").read_text())
    full = json.loads((pytester.path / "full.json").read_text())
    assert sorted(u["id"] for u in merged["utterances"]) == sorted(u["id"] for u in full["utterances"])
    assert merged["runs"][0]["wer"] == full["runs"][0]["wer"]
    assert merged["runs"][0]["word_errors"] == full["runs"][0]["word_errors"]

    capsys.readouterr()
    assert main(["compare", "--json", "--fail-on", "wer:+0", "--significant"]) == 0
    [_first, second] = json.loads(capsys.readouterr().out)
    assert second["run"].endswith("0002")  # the merge, against the whole run
    assert second["delta_wer_pt"] == 0.0
    assert second["significant"] is False
    assert second["p_value"] == 1.0
