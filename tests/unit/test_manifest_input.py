"""Manifests users get wrong, each caught at start-up naming the file and line."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile as sf

from asrbench.core.errors import ConfigError
from asrbench.data.datasets import load_dataset
from asrbench.scoring.metrics import get_normaliser, score


@pytest.fixture
def folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    sf.write(data / "x.wav", np.zeros(3200, np.int16), 16000)
    return data


def _manifest(folder, *lines: str | bytes):
    path = folder / "m.jsonl"
    path.write_bytes(b"\n".join(line if isinstance(line, bytes) else line.encode() for line in lines))
    return str(path)


@pytest.mark.parametrize(("line", "message"), [
    ('{"audio": "x.wav"}', r"m.jsonl:2: missing key 'text'; each line needs 'audio' and 'text'"),
    ('{"text": "hi"}', r"m.jsonl:2: missing key 'audio'"),
    ("{}", r"m.jsonl:2: missing key 'audio' and 'text'"),
    ('{"audio": "x.wav", "text": 3}', r"m.jsonl:2: 'audio' and 'text' must both be strings"),
    ('{"audio": "x.wav", "text": "hi"', r"m.jsonl:2: not valid JSON"),
    ('{"audio": "x.wav", "text": "hi"}', r"m.jsonl: utterance id 'x' appears twice"),
])
def test_bad_second_line_names_file_line_and_cause(folder, line, message):
    with pytest.raises(ConfigError, match=message):
        load_dataset(_manifest(folder, '{"audio": "x.wav", "text": "hi"}', line))


def test_non_utf8_manifest_names_the_line(folder):
    latin1 = '{"audio": "x.wav", "text": "café"}'.encode("latin-1")
    with pytest.raises(ConfigError, match=r"m.jsonl:1: not UTF-8 text \(byte 32 of the line is "
                                          r"b'\\xe9'\); save the manifest as UTF-8"):
        load_dataset(_manifest(folder, latin1))


def test_a_utf8_byte_order_mark_is_accepted(folder):
    data = load_dataset(_manifest(folder, b'\xef\xbb\xbf{"audio": "x.wav", "text": "hi"}'))
    assert data.items[0].text == "hi"


@pytest.mark.parametrize("audio", ["../outside.wav", "sub/../../outside.wav", "ABSOLUTE"])
def test_paths_leaving_the_manifest_folder_are_refused(folder, audio):
    outside = folder.parent / "outside.wav"
    sf.write(outside, np.zeros(3200, np.int16), 16000)
    audio = str(outside) if audio == "ABSOLUTE" else audio
    manifest = _manifest(folder, json.dumps({"audio": audio, "text": "hi"}))
    with pytest.raises(ConfigError, match=r"m.jsonl:1: audio path .* leaves the manifest's folder "
                                          r".*; move it inside or pass --asr-allow-outside-paths"):
        load_dataset(manifest)
    data = load_dataset(manifest, allow_outside_paths=True)
    assert data.items[0].path == outside.resolve()


def test_paths_inside_the_folder_may_be_absolute_or_wind_back(folder):
    (folder / "sub").mkdir()
    manifest = _manifest(folder, json.dumps({"audio": str(folder / "x.wav"), "text": "a"}),
                         json.dumps({"id": "y", "audio": "sub/../x.wav", "text": "b"}))
    assert [i.path for i in load_dataset(manifest).items] == [folder / "x.wav"] * 2


def test_a_link_out_of_the_folder_is_refused_naming_line_link_and_target(folder):
    secret = folder.parent / "secret.wav"
    sf.write(secret, np.zeros(3200, np.int16), 16000)
    (folder / "link.wav").symlink_to(secret)
    manifest = _manifest(folder, '{"audio": "x.wav", "text": "a"}',
                         '{"audio": "link.wav", "text": "b"}')
    with pytest.raises(ConfigError) as caught:
        load_dataset(manifest)
    assert str(caught.value) == (
        f"{manifest}:2: audio path 'link.wav' leaves the manifest's folder {folder} through a "
        f"symbolic link (to {secret}); move it inside or pass --asr-allow-outside-paths")
    data = load_dataset(manifest, allow_outside_paths=True)
    assert [i.id for i in data.items] == ["x", "link"]  # the manifest's name, not "secret"
    assert data.items[1].path == secret
    assert data.outside == (str(caught.value),)


def test_a_link_to_a_name_with_a_line_break_is_refused_in_one_line(folder):
    secret = folder.parent / "two\nlines.wav"
    sf.write(secret, np.zeros(3200, np.int16), 16000, format="WAV")
    (folder / "link.wav").symlink_to(secret)
    with pytest.raises(ConfigError) as caught:
        load_dataset(_manifest(folder, '{"audio": "link.wav", "text": "b"}'))
    assert "\n" not in str(caught.value)
    assert f"through a symbolic link (to {str(secret)!r});" in str(caught.value)


def test_a_linked_folder_and_dot_dot_after_it_are_resolved(folder):
    elsewhere = folder.parent / "elsewhere"
    (elsewhere / "deep").mkdir(parents=True)
    sf.write(elsewhere / "x.wav", np.zeros(3200, np.int16), 16000)
    (folder / "sub").symlink_to(elsewhere / "deep")
    # as written, "sub/../x.wav" is the folder's own x.wav; the system opens elsewhere/x.wav
    manifest = _manifest(folder, '{"audio": "sub/../x.wav", "text": "a"}')
    with pytest.raises(ConfigError, match=r"m.jsonl:1: audio path 'sub/../x.wav' leaves the "
                                          r"manifest's folder .* through a symbolic link \(to "
                                          rf"{elsewhere / 'x.wav'}\)"):
        load_dataset(manifest)


def test_links_inside_the_folder_are_fine_and_keep_the_manifests_ids(folder):
    (folder / "clips").mkdir()
    (folder / "clips" / "a.wav").symlink_to(folder / "x.wav")
    (folder / "alias").symlink_to(folder / "clips")
    manifest = _manifest(folder, '{"audio": "clips/a.wav", "text": "a"}',
                         '{"audio": "alias/a.wav", "text": "b", "id": "given"}',
                         '{"audio": "x.wav", "text": "c"}')
    data = load_dataset(manifest)
    assert [i.id for i in data.items] == ["a", "given", "x"]
    assert [i.path for i in data.items] == [folder / "x.wav"] * 3
    assert data.outside == ()


def test_a_link_loop_is_one_line(folder):
    (folder / "loop.wav").symlink_to(folder / "loop.wav")
    with pytest.raises(ConfigError, match=r"m.jsonl:1: audio path 'loop.wav' cannot be resolved"):
        load_dataset(_manifest(folder, '{"audio": "loop.wav", "text": "a"}'))


def test_a_manifest_in_a_linked_folder_may_use_its_own_files(folder, tmp_path):
    (tmp_path / "door").symlink_to(folder)
    (folder / "m.jsonl").write_text('{"audio": "x.wav", "text": "a"}\n')
    data = load_dataset(str(tmp_path / "door" / "m.jsonl"))
    assert data.items[0].path == folder / "x.wav"
    assert data.outside == ()


def test_manifest_paths_are_never_expanded_by_a_shell(folder, monkeypatch):
    monkeypatch.setenv("HOME", str(folder.parent))
    monkeypatch.setenv("CLIP", "x")
    for literal in ("~", "$CLIP"):
        (folder / literal).mkdir()
        sf.write(folder / literal / "x.wav", np.zeros(3200, np.int16), 16000)
    manifest = _manifest(folder, '{"id": "a", "audio": "~/x.wav", "text": "a"}',
                         '{"id": "b", "audio": "$CLIP/x.wav", "text": "b"}',
                         '{"id": "c", "audio": "`touch pwned`.wav", "text": "c"}')
    with pytest.raises(ConfigError, match=r"m.jsonl:3: audio file .*`touch pwned`.wav does not exist"):
        load_dataset(manifest)
    os.remove(manifest)
    manifest = _manifest(folder, '{"id": "a", "audio": "~/x.wav", "text": "a"}',
                         '{"id": "b", "audio": "$CLIP/x.wav", "text": "b"}')
    items = load_dataset(manifest).items
    assert [i.path for i in items] == [folder / "~" / "x.wav", folder / "$CLIP" / "x.wav"]
    assert not (folder / "pwned").exists()


@pytest.mark.parametrize(("normaliser", "empty"), [
    ("whisper-english", "[noise] (laughs) uh um"), ("whisper-basic", "[noise] (laughs) !?"),
    ("none", "  ")])
def test_a_reference_that_normalises_to_nothing_has_the_documented_wer(normaliser, empty):
    rules = get_normaliser(normaliser)
    silent = score(empty, "", rules)
    assert (silent.wer, silent.words.reference) == (0.0, 0)
    spoken = score(empty, "two words", rules)
    assert spoken.wer == 2.0  # the inserted words, there being no reference word to divide by
    assert spoken.words.insertions == 2
