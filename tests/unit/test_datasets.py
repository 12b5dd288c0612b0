"""Datasets: smoke, JSONL manifests, LibriSpeech folders, and their errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from asrbench.core.errors import ConfigError
from asrbench.data.datasets import load_dataset


def test_smoke_set_has_five_librivox_clips():
    smoke = load_dataset("smoke")
    assert [i.id for i in smoke.items] == ["austen-0870", "austen-0880", "austen-0890",
                                           "austen-0920", "austen-0930"]
    utterance = smoke.load(smoke.items[1])
    assert utterance.text == "he was not an ill disposed young man"
    assert utterance.duration == pytest.approx(2.99, abs=0.01)


def test_librispeech_folder(tmp_path):
    chapter = tmp_path / "dev" / "84" / "121"
    chapter.mkdir(parents=True)
    for uid in ("84-121-0000", "84-121-0001"):
        sf.write(chapter / f"{uid}.flac", np.zeros(1600, np.int16), 16000)
    (chapter / "84-121.trans.txt").write_text("84-121-0000 GO DO YOU HEAR\n84-121-0001 BUT IN LESS\n")
    data = load_dataset(str(tmp_path / "dev"))
    assert data.name == "dev"
    assert [(i.id, i.text) for i in data.items] == [("84-121-0000", "GO DO YOU HEAR"),
                                                    ("84-121-0001", "BUT IN LESS")]


def test_manifest_paths_are_relative_to_the_manifest(tmp_path):
    (tmp_path / "a").mkdir()
    sf.write(tmp_path / "a" / "x.wav", np.zeros(1600, np.int16), 16000)
    (tmp_path / "m.jsonl").write_text('{"audio": "a/x.wav", "text": "hi"}\n\n')
    data = load_dataset("m.jsonl", base=tmp_path)
    assert data.name == "m"
    assert data.items[0].id == "x"


@pytest.mark.parametrize(("content", "message"), [
    ("{bad json\n", "m.jsonl:1: not valid JSON"),
    ('{"audio": "missing.wav", "text": "hi"}\n', "m.jsonl:1: audio file .*missing.wav does not exist"),
    ("[1, 2]\n", "m.jsonl:1: expected an object"),
    ("\n", "has no utterances"),
])
def test_manifest_errors_name_file_and_line(tmp_path, content, message):
    (tmp_path / "m.jsonl").write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_dataset(str(tmp_path / "m.jsonl"))


def test_empty_folder_and_missing_path(tmp_path):
    with pytest.raises(ConfigError, match="no LibriSpeech"):
        load_dataset(str(tmp_path))
    with pytest.raises(ConfigError, match="no such file or folder"):
        load_dataset(str(tmp_path / "nope"))
