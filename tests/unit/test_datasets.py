"""Datasets: smoke, JSONL manifests, LibriSpeech folders, and their errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from asrbench.config.settings import Settings
from asrbench.core.errors import ConfigError
from asrbench.core.identity import dataset_digest
from asrbench.data.datasets import Dataset, UtteranceSpec, load_dataset
from asrbench.data.formats import load_datasets, parse_dataset_spec
from asrbench.data.shards import Shard


def test_smoke_set_has_five_librivox_clips():
    smoke = load_dataset("smoke")
    assert [i.id for i in smoke.items] == ["austen-0870", "austen-0880", "austen-0890",
                                           "austen-0920", "austen-0930"]
    utterance = smoke.load(smoke.items[1])
    assert utterance.text == "he was not an ill disposed young man"
    assert utterance.duration == pytest.approx(2.99, abs=0.01)


def test_the_bundled_smoke_set_may_be_installed_as_links(tmp_path, monkeypatch):
    # a symlink-farm install (Bazel runfiles, some Nix environments): every file is a link out
    from asrbench.data import datasets

    real = datasets.smoke_manifest()
    store, farm = tmp_path / "store", tmp_path / "site-packages" / "smoke"
    farm.mkdir(parents=True)
    store.mkdir()
    for file in real.parent.iterdir():
        if file.suffix in (".jsonl", ".flac"):
            (store / file.name).write_bytes(file.read_bytes())
            (farm / file.name).symlink_to(store / file.name)
    monkeypatch.setattr(datasets, "smoke_manifest", lambda: farm / real.name)
    loaded = load_datasets([parse_dataset_spec("smoke", base=tmp_path)])
    smoke = loaded.datasets[0]
    assert [i.id for i in smoke.items] == [i.id for i in load_dataset(str(real)).items]
    assert smoke.outside == ()


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


def test_specs_are_checked_for_form_only(tmp_path):
    spec = parse_dataset_spec(" nowhere.jsonl ", base=tmp_path, where="ini asr_dataset")
    assert (spec.value, spec.base, spec.where) == ("nowhere.jsonl", tmp_path, "ini asr_dataset")
    with pytest.raises(ConfigError, match=r"^\[tool.asrbench\] datasets: a dataset value cannot be "
                                          r"empty; valid: 'smoke'"):
        parse_dataset_spec("  ", base=tmp_path, where="[tool.asrbench] datasets")
    with pytest.raises(ConfigError, match=r"^--asr-dataset 'hf:': hf: needs a folder or dataset name"):
        parse_dataset_spec("hf:", base=tmp_path)
    with pytest.raises(ConfigError, match=r"^--asr-dataset 3: expected a text value, got int"):
        parse_dataset_spec(3, base=tmp_path)


def test_settings_hold_specs_and_read_nothing(tmp_path):
    settings = Settings.build(datasets=["missing.jsonl", "hf:nothing"], base=tmp_path)
    assert [(s.value, s.base) for s in settings.datasets] == [("missing.jsonl", tmp_path),
                                                             ("hf:nothing", tmp_path)]
    with pytest.raises(ConfigError, match=r"^--asr-dataset 'missing.jsonl': no such file or folder"):
        load_datasets(settings.datasets)


def _manifest(folder, name, ids):
    folder.mkdir(exist_ok=True)
    for n, uid in enumerate(ids):
        sf.write(folder / f"{uid}.wav", np.zeros(1600 * (n + 1), np.int16), 16000)
    (folder / f"{name}.jsonl").write_text("".join(
        f'{{"id": "{uid}", "audio": "{uid}.wav", "text": "word {uid}"}}\n' for uid in ids))


def test_loading_records_the_whole_dataset_then_keeps_the_shard(tmp_path):
    _manifest(tmp_path, "set", ["a", "b", "c", "d", "e"])
    specs = Settings.build(datasets=["set.jsonl"], base=tmp_path).datasets
    whole = load_datasets(specs)
    parts = [load_datasets(specs, shard=Shard(i, 2)) for i in (1, 2)]
    expected = dataset_digest((uid, f"{uid}.wav", f"word {uid}") for uid in "abcde")
    for part in (whole, *parts):
        assert part.digests == {"set": expected}
        assert part.ids == {"set": ("a", "b", "c", "d", "e")}
    # 0.5 s (e) to shard 1, 0.4 (d) and 0.3 (c) to shard 2, 0.2 (b) and 0.1 (a) to shard 1
    assert [[i.id for i in p.datasets[0].items] for p in parts] == [["a", "b", "e"], ["c", "d"]]
    assert whole.datasets[0].items == load_dataset(str(tmp_path / "set.jsonl")).items


def test_two_datasets_of_one_name_name_the_option(tmp_path):
    _manifest(tmp_path / "one", "set", ["a"])
    _manifest(tmp_path / "two", "set", ["b"])
    specs = [parse_dataset_spec(p, base=tmp_path, where="ini asr_dataset")
             for p in ("one/set.jsonl", "two/set.jsonl")]
    with pytest.raises(ConfigError, match=r"^ini asr_dataset: two datasets are both named 'set'$"):
        load_datasets(specs)


def test_a_loader_gets_the_hf_columns_and_its_answer_is_checked(tmp_path):
    seen = []

    def load(**kwargs):
        seen.append(kwargs)
        item = UtteranceSpec("x", tmp_path / "x.wav", "text")
        return Dataset("mine", "loader", (item, item)) if kwargs["spec"] == "twice" else None

    spec = parse_dataset_spec("twice", base=tmp_path)
    with pytest.raises(ConfigError, match=r"^loader: utterance id 'x' appears twice$"):
        load_datasets([spec], load=load, hf_audio_column="speech", hf_text_column="sentence")
    assert seen == [{"spec": "twice", "base": tmp_path, "hf_audio_column": "speech",
                     "hf_text_column": "sentence"}]
    with pytest.raises(ConfigError, match=r"no such file or folder .* and no plugin reads it"):
        load_datasets([parse_dataset_spec("other", base=tmp_path)], load=load)


def test_items_outside_their_folder_are_refused_unless_allowed(tmp_path):
    sf.write(tmp_path / "out.wav", np.zeros(3200, np.int16), 16000)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "m.jsonl").write_text('{"audio": "../out.wav", "text": "x"}\n')
    specs = [parse_dataset_spec("in/m.jsonl", base=tmp_path)]
    with pytest.raises(ConfigError, match="leaves the manifest's folder"):
        load_datasets(specs)
    assert load_datasets(specs, allow_outside_paths=True).datasets[0].outside


def _librispeech(root, chapter="84/121"):
    folder = root / chapter
    folder.mkdir(parents=True)
    sf.write(folder / "84-121-0000.flac", np.zeros(1600, np.int16), 16000)
    (folder / "84-121.trans.txt").write_text("84-121-0000 GO\n84-121-0001 BUT\n")
    return folder


def test_librispeech_links_out_of_the_folder_are_refused_unless_allowed(tmp_path):
    chapter = _librispeech(tmp_path / "dev")
    secret = tmp_path / "secret.flac"
    sf.write(secret, np.zeros(1600, np.int16), 16000)
    (chapter / "84-121-0001.flac").symlink_to(secret)
    with pytest.raises(ConfigError) as caught:
        load_dataset(str(tmp_path / "dev"))
    assert str(caught.value) == (
        f"{chapter / '84-121.trans.txt'}:2: audio file {chapter / '84-121-0001.flac'} leaves the "
        f"dataset folder {tmp_path / 'dev'} through a symbolic link (to {secret}); move it inside "
        "or pass --asr-allow-outside-paths")
    specs = [parse_dataset_spec("dev", base=tmp_path)]
    with pytest.raises(ConfigError, match="through a symbolic link"):
        load_datasets(specs)
    data = load_datasets(specs, allow_outside_paths=True).datasets[0]
    assert [i.id for i in data.items] == ["84-121-0000", "84-121-0001"]
    assert data.outside == (str(caught.value),)


def test_librispeech_transcripts_and_ids_cannot_lead_out_either(tmp_path):
    _librispeech(tmp_path / "elsewhere")
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "1.trans.txt").symlink_to(tmp_path / "elsewhere" / "84" / "121" /
                                                  "84-121.trans.txt")
    with pytest.raises(ConfigError, match=r"1.trans.txt: transcript leaves the dataset folder .* "
                                          r"through a symbolic link \(to .*84-121.trans.txt\)"):
        load_dataset(str(tmp_path / "dev"))
    (tmp_path / "dev" / "1.trans.txt").unlink()
    (tmp_path / "dev" / "1.trans.txt").write_text("../elsewhere/84/121/84-121-0000 GO\n")
    with pytest.raises(ConfigError, match=r"1.trans.txt:1: audio file .* leaves the dataset "
                                          r"folder .*dev; move it inside"):
        load_dataset(str(tmp_path / "dev"))


def test_librispeech_ctm_files_cannot_lead_out_either(tmp_path):
    chapter = _librispeech(tmp_path / "dev")
    (chapter / "84-121-0001.flac").write_bytes((chapter / "84-121-0000.flac").read_bytes())
    outside = tmp_path / "timings.ctm"
    outside.write_text("84-121-0000 1 0.0 0.05 GO\n")
    (chapter / "align.ctm").symlink_to(outside)
    with pytest.raises(ConfigError, match=r"align\.ctm: CTM file leaves the dataset folder .* "
                                          r"through a symbolic link \(to .*timings\.ctm\)"):
        load_dataset(str(tmp_path / "dev"))
    specs = [parse_dataset_spec("dev", base=tmp_path)]
    data = load_datasets(specs, allow_outside_paths=True).datasets[0]
    words = data.items[0].words
    assert words is not None
    assert [w.word for w in words] == ["GO"]


def test_librispeech_links_inside_the_folder_are_fine(tmp_path):
    chapter = _librispeech(tmp_path / "dev")
    (chapter / "84-121-0001.flac").symlink_to(chapter / "84-121-0000.flac")
    data = load_dataset(str(tmp_path / "dev"))
    assert [i.id for i in data.items] == ["84-121-0000", "84-121-0001"]
    assert data.outside == ()
