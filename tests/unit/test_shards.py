"""Shards: deterministic, disjoint, complete, balanced by duration."""

from __future__ import annotations

import random

import pytest

from asrbench.core.errors import ConfigError
from asrbench.data.datasets import load_dataset
from asrbench.data.shards import Shard, assign, parse_shard, shard_dataset


def test_parse_shard():
    assert parse_shard("2/3") == Shard(2, 3)
    assert str(parse_shard(" 1 / 1 ")) == "1/1"
    for bad in ("0/3", "4/3", "1/0", "a/b", "1"):
        with pytest.raises(ConfigError, match="--asr-shard"):
            parse_shard(bad)


def test_every_item_in_exactly_one_shard_and_balanced():
    rng = random.Random(0)
    ids = [f"u{i}" for i in range(200)]
    durations = [rng.uniform(1, 30) for _ in ids]
    parts = assign(ids, durations, 4)
    assert sorted(set(parts)) == [0, 1, 2, 3]
    loads = [sum(d for d, p in zip(durations, parts, strict=True) if p == s) for s in range(4)]
    assert max(loads) - min(loads) <= max(durations)  # greedy longest-first bound


def test_split_is_stable_whatever_the_order_of_the_manifest():
    ids = ["c", "a", "b", "d", "e"]
    durations = [3.0, 3.0, 1.0, 2.0, 2.0]
    parts = dict(zip(ids, assign(ids, durations, 2), strict=True))
    shuffled = [4, 2, 0, 3, 1]
    again = dict(zip([ids[i] for i in shuffled],
                     assign([ids[i] for i in shuffled], [durations[i] for i in shuffled], 2),
                     strict=True))
    assert parts == again
    # longest first, ties by id, each to the lightest shard (ties to the first): a c d e b
    assert parts == {"a": 0, "c": 1, "d": 0, "e": 1, "b": 0}


def test_smoke_set_in_three_shards():
    smoke = load_dataset("smoke")
    shards = [shard_dataset(smoke, Shard(i, 3)) for i in (1, 2, 3)]
    ids = [item.id for shard in shards for item in shard.items]
    assert sorted(ids) == sorted(item.id for item in smoke.items)
    assert all(shard.items and shard.name == "smoke" for shard in shards)


def test_items_without_durations_are_dealt_out_by_count():
    parts = assign([f"u{i}" for i in range(7)], [0.0] * 7, 3)
    assert sorted(parts.count(s) for s in range(3)) == [2, 2, 3]


def test_a_link_out_of_the_folder_is_refused_whichever_shard_it_falls_in(tmp_path):
    import numpy as np
    import soundfile as sf

    from asrbench.data.formats import load_datasets, parse_dataset_spec

    data = tmp_path / "data"
    data.mkdir()
    for uid, samples in (("a", 16000), ("b", 8000)):
        sf.write(data / f"{uid}.wav", np.zeros(samples, np.int16), 16000)
    sf.write(tmp_path / "secret.wav", np.zeros(4000, np.int16), 16000)
    (data / "link.wav").symlink_to(tmp_path / "secret.wav")
    (data / "m.jsonl").write_text("".join(f'{{"audio": "{uid}.wav", "text": "x"}}\n'
                                          for uid in ("a", "b", "link")))
    specs = [parse_dataset_spec("data/m.jsonl", base=tmp_path)]
    kept = {index: [i.id for i in load_datasets(specs, shard=Shard(index, 2),
                                                allow_outside_paths=True).datasets[0].items]
            for index in (1, 2)}
    assert kept == {1: ["a"], 2: ["b", "link"]}  # ids from the manifest, the link's own name
    for index in (1, 2):  # shard 1 does not hold the link, and is refused all the same
        with pytest.raises(ConfigError, match=r"m.jsonl:3: audio path 'link.wav' leaves the "
                                              r"manifest's folder .* through a symbolic link"):
            load_datasets(specs, shard=Shard(index, 2))
