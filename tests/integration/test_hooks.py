"""asrbench's own hooks, each from a conftest in a real pytest run: normalisers, dataset formats
(and Hugging Face datasets through the same hook), report fields."""

from __future__ import annotations

import inspect
import json
import textwrap

import datasets  # noqa: F401  imported before any in-process run: pyarrow types register once
import pytest

from conftest import BASE, REFERENCES, SAMPLES, write_answers  # type: ignore[import-not-found]
from hf_data import ROWS, save

CPU = [*BASE, "--asr-device", "cpu", "--benchmark-disable"]


def add_conftest(project: pytest.Pytester, code: str) -> None:
    conftest = project.path / "conftest.py"
    conftest.write_text(conftest.read_text() + textwrap.dedent(code))


def report(project: pytest.Pytester) -> dict:
    return json.loads((project.path / "out.json").read_text())


def test_conftest_normaliser_is_selectable_and_recorded(project):
    write_answers(project, one="THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG!!!")
    add_conftest(project, """
        def pytest_asrbench_register_normalisers(register):
            register("shout", lambda text: text.upper().replace("!", ""))
    """)
    # the whitespace-only normaliser counts the shouted answer wrong ...
    project.runpytest_inprocess(*CPU, "--asr-normalizer", "none",
                                "--asr-max-corpus-wer", "1").assert_outcomes(passed=3, failed=1)
    # ... the conftest one, chosen by name, scores it right and is recorded with the results
    result = project.runpytest_inprocess(*CPU, "--asr-normalizer", "shout", "--asr-report", "out.json")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*normaliser shout*"])
    data = report(project)
    assert data["normaliser"] == "shout"
    assert data["runs"][0]["wer"] == 0.0
    assert {u["normalised_hypothesis"] for u in data["utterances"]} >= {
        "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG"}


def test_unknown_normaliser_lists_the_registered_ones(project):
    add_conftest(project, """
        def pytest_asrbench_register_normalisers(register):
            register("shout", str.upper)
    """)
    result = project.runpytest_inprocess(*CPU, "--asr-normalizer", "whisper")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--asr-normalizer 'whisper': unknown; "
                                 "valid: whisper-english, whisper-basic, none, shout*"])


def test_conftest_dataset_format(project):
    """The hookspec's TSV example alone: its dataset named after the file, ids from the paths."""
    from asrbench import hookspec

    lines = [f"{uid}.wav\t{text}" for uid, text in REFERENCES.items()]
    (project.path / "data" / "tabbed.tsv").write_text("\n".join(lines) + "\n")
    add_conftest(project, _example(hookspec.pytest_asrbench_load_dataset))
    args = [a if a != "data/set.jsonl" else "tsv:data/tabbed.tsv" for a in CPU]
    result = project.runpytest_inprocess(*args, "--asr-report", "out.json", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*datasets tabbed (3 utterances)*",
                                 "*test_utterance?stub:answers.json-cpu-tabbed-two?*PASSED*"])
    assert [(r["dataset"], r["wer"]) for r in report(project)["runs"]] == [("tabbed", 0.0)]


def test_conftest_format_is_asked_before_the_built_in_ones(project):
    add_conftest(project, """
        from asrbench.data.datasets import Dataset, UtteranceSpec

        def pytest_asrbench_load_dataset(spec, base):
            if spec != "smoke":
                return None
            text = "the quick brown fox jumps over the lazy dog"
            one = UtteranceSpec("one", base / "data" / "one.wav", text)
            return Dataset("my-smoke", "conftest", (one,))
    """)
    args = [a if a != "data/set.jsonl" else "smoke" for a in CPU]
    project.runpytest_inprocess(*args, "-v").stdout.fnmatch_lines(
        ["*datasets my-smoke (1 utterances)*", "*cpu-my-smoke-one*PASSED*"])


def test_a_format_gets_the_hf_columns_and_is_asked_once_per_value(project):
    """The hook's arguments carry the column options (here from pyproject and the command line)."""
    add_conftest(project, """
        from asrbench.data.datasets import load_dataset

        CALLS = []

        def pytest_asrbench_load_dataset(spec, base, hf_audio_column, hf_text_column):
            if not spec.startswith("cols:"):
                return None
            CALLS.append(spec)
            assert len(CALLS) == 1, CALLS
            data = load_dataset(spec.removeprefix("cols:"), base=base)
            return type(data)(f"{hf_audio_column}-{hf_text_column}", data.source, data.items)
    """)
    project.makepyprojecttoml('[tool.asrbench]\nhf_text_column = "sentence"\n')
    args = [a if a != "data/set.jsonl" else "cols:data/set.jsonl" for a in CPU]
    result = project.runpytest_inprocess(*args, "--asr-hf-audio-column", "speech", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*datasets speech-sentence (3 utterances)*",
                                 "*cpu-speech-sentence-two*PASSED*"])


def test_unknown_dataset_lists_the_forms(project):
    args = [a if a != "data/set.jsonl" else "data/none.jsonl" for a in CPU]
    result = project.runpytest_inprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "*--asr-dataset 'data/none.jsonl': no such file or folder (*none.jsonl) and no plugin "
        "reads it; valid: 'smoke', a JSONL manifest, a LibriSpeech-layout folder, "
        "'hf:PATH_OR_NAME?:SPLIT?', or a form added by a pytest_asrbench_load_dataset hook*"])


def test_a_hook_returning_no_dataset_object_is_a_usage_error(project):
    add_conftest(project, """
        def pytest_asrbench_load_dataset(spec):
            return ["not", "a", "dataset"]
    """)
    result = project.runpytest_inprocess(*CPU)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*hook returned list, not an asrbench Dataset*"])


def test_report_fields_from_a_conftest(project):
    add_conftest(project, """
        def pytest_asrbench_report_fields(summary, config):
            return {"reference_words": summary.words.reference, "dataset_again": summary.dataset,
                    "unbounded": float("inf")}
    """)
    result = project.runpytest_inprocess(*BASE, "--asr-device", "cpu", "--asr-report", "out.json",
                                         "--benchmark-json", "bench.json")
    result.assert_outcomes(passed=4)
    words = sum(len(text.split()) for text in REFERENCES.values())
    # JSON has no infinity: written as null, like the built-in figures
    expected = {"reference_words": words, "dataset_again": "set", "unbounded": None}
    assert report(project)["runs"][0]["extra"] == expected
    bench = json.loads((project.path / "bench.json").read_text())
    assert bench["asrbench"]["runs"][0]["extra"] == expected


def test_hf_dataset_in_a_run(project):
    save(project.path / "hf_set", splits=("test", "train"), text_column="sentence",
         audio_column="speech", ids=True)
    answers = {str(n): text for n, text in ROWS.items()}
    answers[str(list(ROWS)[1])] = "jumps over the lazy cat"  # one word wrong of five
    (project.path / "answers.json").write_text(json.dumps(answers))
    args = [a if a != "data/set.jsonl" else "hf:hf_set:test" for a in CPU]
    result = project.runpytest_inprocess(*args, "--asr-hf-audio-column", "speech",
                                         "--asr-hf-text-column", "sentence", "--asr-report",
                                         "out.json", "--asr-max-wer", "0.1", "-v")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*datasets hf_set-test (3 utterances)*",
                                 "*cpu-hf_set-test-utt-1*FAILED*"])
    data = report(project)
    assert [(u["id"], u["wer"]) for u in data["utterances"]] == [
        ("utt-0", 0.0), ("utt-1", 0.2), ("utt-2", 0.0)]
    assert data["runs"][0]["audio_seconds"] == pytest.approx(sum(ROWS) / 16000)


def test_hf_columns_from_ini_and_pyproject(project):
    save(project.path / "hf_set", text_column="sentence")
    (project.path / "answers.json").write_text(json.dumps({str(n): t for n, t in ROWS.items()}))
    project.makeini("""
        [pytest]
        asr_hf_text_column = sentence
    """)
    args = [a if a != "data/set.jsonl" else "hf:hf_set" for a in CPU]
    project.runpytest_inprocess(*args).assert_outcomes(passed=4)
    (project.path / "tox.ini").unlink()
    project.makepyprojecttoml('[tool.asrbench]\nhf_text_column = "sentence"\n')
    project.runpytest_inprocess(*args).assert_outcomes(passed=4)
    result = project.runpytest_inprocess(*args, "--asr-hf-text-column", "words")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*hf:hf_set: no column 'words' (set --asr-hf-text-column); "
                                 "valid: audio, sentence*"])


def test_hf_dataset_missing_offline(project):
    args = [a if a != "data/set.jsonl" else "hf:nobody/no-such-set:test" for a in CPU]
    result = project.runpytest_inprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*hf:nobody/no-such-set: not a save_to_disk folder*local "
                                 "Hugging Face cache*"])
    assert SAMPLES  # the project fixture's data is untouched by a failed hf: value


def _example(hook: object) -> str:
    """The conftest example in a hook's docstring: the indented block after its ``::``."""
    doc = inspect.cleandoc(hook.__doc__ or "")
    block = []
    for line in doc.split("::\n", 1)[1].splitlines():
        if line and not line.startswith(" "):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block))


def test_the_documented_examples_run_as_written(project):
    from asrbench import hookspec

    lines = [f"{uid}.wav\t{text}" for uid, text in REFERENCES.items()]
    (project.path / "data" / "dev.tsv").write_text("\n".join(lines) + "\n")
    examples = [_example(getattr(hookspec, name)) for name in hookspec.__all__]
    add_conftest(project, "\n\n".join(examples))
    args = [a if a != "data/set.jsonl" else "tsv:data/dev.tsv" for a in CPU]
    result = project.runpytest_inprocess(*args, "--asr-normalizer", "folded", "--asr-report", "out.json")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*datasets dev (3 utterances); normaliser folded*"])
    run = report(project)["runs"][0]
    assert run["wer"] == 0.0
    assert set(run["extra"]) == {"words_per_second"}
