"""Shards of the smoke set merged back into one run, refusals, ``compare`` across machines, submit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from asrbench.cli import main
from asrbench.core.errors import ConfigError
from asrbench.data.datasets import load_dataset
from asrbench.reporting.merge import merge_reports
from asrbench.reporting.schema import validate

TESTS = Path(__file__).parents[1]
SRC = TESTS.parent / "src"
#: The stub's answers for the smoke clips: exact for some, with errors for others.
MISTAKES = {0: "", 2: "not what was said at all", 3: None}


@pytest.fixture
def smoke(project):
    """The pytester project set up for the smoke set: answers keyed by each clip's sample count."""
    dataset = load_dataset("smoke")
    answers = {}
    for number, item in enumerate(dataset.items):
        text = MISTAKES.get(number, item.text)
        if text is None:  # drop the last words
            text = " ".join(item.text.split()[:-3])
        answers[str(len(dataset.load(item).audio))] = text
    (project.path / "smoke.json").write_text(json.dumps(answers))
    return project


ARGS = ["--asr-model", "stub:smoke.json", "--asr-dataset", "smoke", "--asr-device", "cpu",
        "--asr-max-wer", "1", "--asr-max-corpus-wer", "0.01", "-p", "no:cacheprovider",
        "--asr-rounds", "1"]


def _shards(project, count: int = 3) -> list[Path]:
    paths = []
    for index in range(1, count + 1):
        path = project.path / f"shard-{index}.json"
        result = project.runpytest_inprocess(*ARGS, f"--asr-shard={index}/{count}",
                                             f"--asr-report={path}", "--benchmark-disable")
        # the corpus test of a shard records its part: no partial corpus WER is asserted
        assert result.ret == 0, result.stdout.str()
        paths.append(path)
    return paths


def test_three_shards_merge_into_exactly_the_unsharded_run(smoke, capsys):
    result = smoke.runpytest_inprocess(*ARGS, "--asr-report=full.json", "--benchmark-autosave")
    result.assert_outcomes(passed=5, failed=1)  # the corpus WER is far above 1 %
    full = json.loads((smoke.path / "full.json").read_text())
    paths = _shards(smoke)
    shard_ids = [json.loads(p.read_text())["datasets"][0]["shard_ids"] for p in paths]
    assert all(shard_ids)
    assert sorted(uid for ids in shard_ids for uid in ids) == sorted(full["datasets"][0]["ids"])

    assert main(["merge", *map(str, paths), "--out", "merged.json"]) == 0
    merged = json.loads((smoke.path / "merged.json").read_text())
    assert validate(merged) == []
    assert [u["id"] for u in merged["utterances"]] == [u["id"] for u in full["utterances"]]
    [run], [whole] = merged["runs"], full["runs"]
    for key in ("utterances", "audio_seconds", "wer", "wer_ci95", "cer", "word_errors",
                "char_errors", "model", "device", "dataset", "normaliser"):
        assert run[key] == whole[key], key
    assert run["wer"] > 0.2
    latencies = [u["latency"] for u in merged["utterances"]]
    audio = [u["audio_seconds"] for u in merged["utterances"]]
    assert run["rtfx"] == pytest.approx(sum(audio) / sum(latencies))
    for key in ("dataset_hash", "model_hash", "options", "engine"):
        assert run["identity"][key] == whole["identity"][key]
    assert [m["shard"]["index"] for m in merged["merged_from"]] == [1, 2, 3]
    assert merged["shard"] is None
    assert merged["complete"] is True

    # saved where compare finds it: the two most recent runs are the unsharded one and the merge
    capsys.readouterr()
    assert main(["compare", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["run"].split("/")[1] for r in rows] == ["0001", "0002"]
    assert rows[1]["delta_wer_pt"] == 0.0
    assert rows[1]["significant"] is False
    assert rows[1]["timing_like_for_like"] is True


def test_merge_refuses_missing_duplicate_and_foreign_shards(smoke):
    one, two, three = _shards(smoke)
    with pytest.raises(ConfigError, match=r"missing shard 3/3"):
        merge_reports([one, two])
    with pytest.raises(ConfigError, match=r"shard 1/3 given twice"):
        merge_reports([one, one, two, three])

    fake = smoke.path / "fake.json"
    data = json.loads(one.read_text())
    data["shard"]["index"] = 3
    fake.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"utterance smoke/\S+ of stub:smoke.json on cpu is in "
                                          r"two shards"):
        merge_reports([one, two, fake])

    data = json.loads(three.read_text())
    lost = data["utterances"].pop()["id"]
    fake.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=rf"1 utterance\(s\) in no shard: {lost}"):
        merge_reports([one, two, fake])

    data = json.loads(three.read_text())
    data["machine"]["id"] = "another"
    data["machine"]["node"] = "elsewhere"
    fake.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"timed on different machines.*elsewhere"):
        merge_reports([one, two, fake])
    merged = merge_reports([one, two, fake], allow_cross_machine=True)
    assert merged["machine"]["id"].startswith("mixed-")
    assert "elsewhere" in merged["machine"]["node"]

    data = json.loads(three.read_text())
    data["datasets"][0]["hash"] = "0" * 12
    fake.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"dataset 'smoke' differs"):
        merge_reports([one, two, fake])
    assert main(["merge", str(one), str(two)]) == 2


def _saved(storage: Path, machine: str, number: str, report: dict) -> None:
    folder = storage / machine
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{number}_x.json").write_text(json.dumps(
        {"datetime": report["created"], "benchmarks": [], "asrbench": report}))


def test_compare_keeps_runs_of_two_machines_apart(smoke, capsys):
    smoke.runpytest_inprocess(*ARGS, "--asr-report=a.json", "--benchmark-disable")
    report = json.loads((smoke.path / "a.json").read_text())
    storage = smoke.path / "store"
    _saved(storage, "Linux-CPython-3.12-64bit", "0001", report)
    other = json.loads(json.dumps(report))
    other["machine"].update(id="feedfacecafe", node="gpu-box")
    other["runs"][0]["identity"]["model_hash"] = "0123456789ab"  # other weights
    for utterance in other["utterances"]:  # every utterance one word worse
        utterance["word_errors"]["insertions"] += 1
    words = other["runs"][0]["word_errors"]
    words["insertions"] += len(other["utterances"])
    other["runs"][0]["wer"] = (words["substitutions"] + words["deletions"] + words["insertions"]
                               ) / words["reference_tokens"]
    _saved(storage, "Darwin-CPython-3.12-64bit", "0001", other)

    assert main(["compare", "0001", "--storage", str(storage)]) == 2
    assert "saved by more than one machine" in capsys.readouterr().err
    runs = ["Linux-CPython-3.12-64bit/0001", "Darwin-CPython-3.12-64bit/0001"]
    assert main(["compare", *runs, "--storage", str(storage)]) == 0
    out = capsys.readouterr().out
    assert "host gpu-box (feedfacecafe)" in out
    assert ", significant (5 paired utterances)" in out  # known regression on every utterance
    assert "(other machine: timing not like for like)" in out
    assert "(changed since the baseline: model_hash)" in out
    assert main(["compare", *runs, "--storage", str(storage), "--fail-on", "rtf:+10%"]) == 2
    assert "timed on another machine" in capsys.readouterr().err
    assert main(["compare", *runs, "--storage", str(storage), "--fail-on", "wer:+1",
                 "--significant"]) == 1


@pytest.mark.slow  # submitit runs each shard as its own pytest process
def test_submit_runs_shards_with_submitit_locally_and_merges(smoke, monkeypatch, capsys):
    monkeypatch.setenv("PYTHONPATH", f"{SRC}:{TESTS}")
    code = main(["submit", "--shards", "2", "--executor", "local", "--folder", "jobs", "--",
                 *ARGS, "--benchmark-disable"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "merged 2 shards: saved" in out
    [saved] = (smoke.path / ".benchmarks").glob("*/0001_merged_*.json")
    merged = json.loads(saved.read_text())["asrbench"]
    assert len(merged["utterances"]) == 5
    assert sorted(p.name for p in (smoke.path / "jobs").glob("shard-*.json")) == [
        "shard-1-of-2.json", "shard-2-of-2.json"]
    shutil.rmtree(smoke.path / "jobs")


def test_a_shard_can_be_empty_and_still_merges(project):
    base = ["--asr-model", "stub:answers.json", "--asr-dataset", "data/set.jsonl",
            "--asr-device", "cpu", "-p", "no:cacheprovider", "--benchmark-disable"]
    paths = []
    for index in range(1, 5):  # four shards of three utterances: one shard is empty
        path = project.path / f"s{index}.json"
        result = project.runpytest_inprocess(*base, f"--asr-shard={index}/4", f"--asr-report={path}")
        assert result.ret in (0, pytest.ExitCode.NO_TESTS_COLLECTED), result.stdout.str()
        paths.append(path)
    assert [len(json.loads(p.read_text())["utterances"]) for p in paths] == [1, 1, 1, 0]
    merged = merge_reports(paths)
    assert merged["runs"][0]["utterances"] == 3
    assert merged["runs"][0]["wer"] == 0.0


def test_a_merge_saved_in_the_same_second_as_a_run_is_the_most_recent(tmp_path):
    """pytest-benchmark stamps a run to the microsecond; a merge saved later in the same second
    (shards of a quick run) must still be the newer of the two that ``compare`` picks."""
    from datetime import UTC, datetime

    from asrbench.reporting.history import find_runs
    from asrbench.reporting.merge import save_merged

    saved_at = datetime.now(UTC)
    folder = tmp_path / "Linux-CPython-3.12-64bit"
    folder.mkdir()
    block = {"runs": [], "utterances": [], "machine": {"folder": folder.name},
             "created": saved_at.isoformat(timespec="seconds")}  # the report's own stamp
    (folder / "0001_run.json").write_text(json.dumps(
        {"datetime": saved_at.isoformat(), "benchmarks": [], "asrbench": block}))
    save_merged(block, tmp_path)
    assert [run.id for run in find_runs(tmp_path, [])] == ["0001", "0002"]
