"""Hugging Face datasets (``hf:``), offline, on small datasets built and saved in the test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import datasets  # imported before any in-process pytester run: pyarrow types register once
import numpy as np
import pytest

from asrbench.core.errors import AudioError, ConfigError
from asrbench.data.hf import HuggingFaceDataset, load_hf_dataset, parse_hf_spec
from hf_data import ROWS, build, cache_as_hub_download, save, wav_bytes


def test_caches_are_temporary_and_offline():
    home = os.environ["HF_HOME"]
    assert Path(datasets.config.HF_DATASETS_CACHE).is_relative_to(home)
    assert datasets.config.HF_HUB_OFFLINE


@pytest.mark.parametrize(("value", "expected"), [
    ("data/ls", ("data/ls", None)),
    ("data/ls:test", ("data/ls", "test")),
    ("org/name:test.clean", ("org/name", "test.clean")),
    ("/abs/folder", ("/abs/folder", None)),
    ("C:\\data\\ds", ("C:\\data\\ds", None)),
])
def test_parse_spec(value, expected):
    assert parse_hf_spec(value) == expected


def test_save_to_disk_folder(tmp_path):
    save(tmp_path / "mini")
    data = load_hf_dataset("mini", base=tmp_path)
    assert isinstance(data, HuggingFaceDataset)
    assert (data.name, data.source) == ("mini", str(tmp_path / "mini"))
    assert [(i.id, i.text) for i in data.items] == [(str(n), t) for n, t in enumerate(ROWS.values())]
    for item, samples in zip(data.items, ROWS, strict=True):
        utterance = data.load(item)
        assert utterance.audio.dtype == np.float32
        assert len(utterance.audio) == samples
        assert utterance.dataset == "mini"


def test_dataset_dict_split_and_columns(tmp_path):
    save(tmp_path / "set", splits=("test", "train"), text_column="sentence", audio_column="speech",
         ids=True)
    with pytest.raises(ConfigError, match=r"no split given; valid: hf:set:test, hf:set:train"):
        load_hf_dataset("set", base=tmp_path, audio_column="speech", text_column="sentence")
    with pytest.raises(ConfigError, match=r"no split 'dev'"):
        load_hf_dataset("set:dev", base=tmp_path, audio_column="speech", text_column="sentence")
    with pytest.raises(ConfigError, match=r"no column 'text' \(set --asr-hf-text-column\); "
                                          r"valid: speech, sentence, id"):
        load_hf_dataset("set:test", base=tmp_path, audio_column="speech")
    data = load_hf_dataset("set:test", base=tmp_path, audio_column="speech", text_column="sentence")
    assert data.name == "set-test"
    assert [i.id for i in data.items] == ["utt-0", "utt-1", "utt-2"]
    assert len(data.load(data.items[2]).audio) == 8000


def test_audio_is_resampled_and_mixed_to_mono(tmp_path):
    stereo = np.stack([np.full(44100, 0.25), np.full(44100, -0.25)], axis=1).astype(np.float32)
    import io

    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, stereo, 44100, format="FLAC")
    table = datasets.Dataset.from_dict({"audio": [{"bytes": buffer.getvalue(), "path": None}],
                                        "text": ["silence"]}).cast_column("audio", datasets.Audio())
    table.save_to_disk(str(tmp_path / "stereo"))
    data = load_hf_dataset(str(tmp_path / "stereo"), base=Path("/"))
    audio = data.load(data.items[0]).audio
    assert len(audio) == 16000
    assert np.allclose(audio, 0.0, atol=1e-4)


def test_single_split_folder_rejects_a_split(tmp_path):
    save(tmp_path / "mini")
    with pytest.raises(ConfigError, match=r"holds one split, not a DatasetDict; use hf:mini"):
        load_hf_dataset("mini:test", base=tmp_path)


def test_folder_of_data_files(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    build().to_parquet(str(folder / "test.parquet"))  # type: ignore[attr-defined]
    data = load_hf_dataset("files", base=tmp_path)
    assert [i.text for i in data.items] == list(ROWS.values())
    assert len(data.load(data.items[1]).audio) == 24000


def test_a_name_is_read_from_the_local_cache_offline(tmp_path):
    cache_as_hub_download("someone/tiny-speech", "test", tmp_path, text_column="sentence")
    data = load_hf_dataset("someone/tiny-speech:test", base=tmp_path, text_column="sentence")
    assert (data.name, data.source) == ("tiny-speech", "someone/tiny-speech")
    assert [i.text for i in data.items] == list(ROWS.values())
    assert [len(data.load(i).audio) for i in data.items] == list(ROWS)


def test_unknown_name_offline_is_a_usage_error(tmp_path):
    with pytest.raises(ConfigError, match=r"hf:someone/missing-set: not a save_to_disk folder .*"
                                          r"not loadable from the local Hugging Face cache"):
        load_hf_dataset("someone/missing-set", base=tmp_path)


def test_text_must_be_text(tmp_path):
    table = datasets.Dataset.from_dict({"audio": [{"bytes": wav_bytes(1600), "path": None}],
                                        "text": [3]}).cast_column("audio", datasets.Audio())
    table.save_to_disk(str(tmp_path / "bad"))
    with pytest.raises(ConfigError, match=r"row 0 column 'text' is int, not text"):
        load_hf_dataset("bad", base=tmp_path)


def test_undecodable_audio_names_the_row(tmp_path):
    table = datasets.Dataset.from_dict({"audio": [{"bytes": b"not audio", "path": None}],
                                        "text": ["x"]}).cast_column("audio", datasets.Audio())
    table.save_to_disk(str(tmp_path / "broken"))
    data = load_hf_dataset("broken", base=tmp_path)
    with pytest.raises(AudioError, match=r"row 0 \(audio\): cannot decode audio"):
        data.load(data.items[0])


def test_datasets_is_not_imported_without_an_hf_value():
    code = ("import sys, asrbench.plugin, asrbench.data.formats, asrbench.plugin.hookcalls; "
            "from asrbench.data.datasets import load_dataset; load_dataset('smoke'); "
            "print('datasets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
