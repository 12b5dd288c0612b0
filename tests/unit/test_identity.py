"""Run identity: distinct labels, content hashes of weights, dataset digests, machine fingerprint."""

from __future__ import annotations

import os

import pytest

from asrbench.core.errors import ConfigError
from asrbench.core.identity import content_hash, dataset_digest, distinct_labels, machine_fingerprint


def test_labels_stay_short_when_names_differ():
    assert distinct_labels([("whisper", "tiny.en", ""), ("faster_whisper", "/m/base.en", ""),
                            ("whisper", "/x/y/model.pt", ",fp16=false")]) == [
        "whisper:tiny.en", "faster_whisper:base.en", "whisper:model.pt,fp16=false"]


def test_same_file_name_in_two_folders_gets_the_parent_folder():
    assert distinct_labels([("stub", "a/answers.json", ""), ("stub", "b/answers.json", "")]) == [
        "stub:a/answers.json", "stub:b/answers.json"]
    # only as deep as needed, and only for the models that clash
    assert distinct_labels([("whisper", "/r/x/m/model.pt", ""), ("whisper", "/r/y/m/model.pt", ""),
                            ("whisper", "/r/other.pt", "")]) == [
        "whisper:x/m/model.pt", "whisper:y/m/model.pt", "whisper:other.pt"]


def test_same_name_on_different_engines_or_options_needs_no_folder():
    assert distinct_labels([("stub", "a/answers.json", ""), ("stub", "b/answers.json", ",text=x")]) \
        == ["stub:answers.json", "stub:answers.json,text=x"]


def test_the_same_file_twice_is_refused_naming_both(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    with pytest.raises(ConfigError, match=r"stub:a/x.json and stub:./a/x.json name the same model"):
        distinct_labels([("stub", "a/x.json", ""), ("stub", "./a/x.json", "")])


def test_labels_that_cannot_be_told_apart_are_refused():
    with pytest.raises(ConfigError, match=r"would share the label 'stub:answers\.json'"):
        distinct_labels([("stub", "answers.json", ""), ("stub", "answers.json", "")])


def test_content_hash_follows_content_not_name(tmp_path):
    one, two = tmp_path / "one" / "model.bin", tmp_path / "two" / "model.bin"
    for path, data in ((one, b"a" * 3_000_000), (two, b"a" * 3_000_000)):
        path.parent.mkdir()
        path.write_bytes(data)
    assert content_hash(one) == content_hash(two)
    assert content_hash(one.parent) == content_hash(two.parent)
    data = bytearray(two.read_bytes())
    data[-1:] = b"b"  # the last MiB is read
    two.write_bytes(bytes(data))
    os.utime(two, ns=(1, 1))
    assert content_hash(one) != content_hash(two)
    assert content_hash(one.parent) != content_hash(two.parent)
    assert len(content_hash(one) or "") == 12
    assert content_hash(tmp_path / "absent") is None
    assert content_hash("tiny.en") is None or (tmp_path / "tiny.en").exists()


def test_dataset_digest_changes_with_any_item():
    items = [("a", "a.wav", "hello"), ("b", "b.wav", "world")]
    assert dataset_digest(items) == dataset_digest(list(items))
    assert dataset_digest(items) != dataset_digest([items[0], ("b", "b.wav", "word")])
    assert dataset_digest(items) != dataset_digest(items[:1])


def test_machine_fingerprint_has_a_stable_id():
    first, second = machine_fingerprint(), machine_fingerprint()
    assert first == second
    assert len(first["id"]) == 12
    assert first["folder"].count("-") >= 3
