"""Small Hugging Face datasets built in a test: an ``Audio`` column of WAV bytes, saved to disk."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf

#: Sample counts (at 16 kHz) and reference texts of the rows.
ROWS = {16000: "the quick brown fox", 24000: "jumps over the lazy dog", 8000: "hello"}


def wav_bytes(samples: int, rate: int = 16000, seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    noise = (np.random.default_rng(seed).standard_normal(samples) * 0.1).astype(np.float32)
    sf.write(buffer, noise, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def build(text_column: str = "text", audio_column: str = "audio", *, ids: bool = False) -> object:
    import datasets

    columns: dict[str, list[object]] = {
        audio_column: [{"bytes": wav_bytes(n, seed=i), "path": f"clip{i}.wav"}
                       for i, n in enumerate(ROWS)],
        text_column: list(ROWS.values()),
    }
    if ids:
        columns["id"] = [f"utt-{i}" for i in range(len(ROWS))]
    table = datasets.Dataset.from_dict(columns)
    return table.cast_column(audio_column, datasets.Audio())


def save(folder: Path, *, splits: tuple[str, ...] = (), **kwargs: object) -> Path:
    """``build(...)`` saved to ``folder``: one Dataset, or a DatasetDict with ``splits``."""
    import datasets

    table = build(**kwargs)  # type: ignore[arg-type]
    saved = datasets.DatasetDict({s: table for s in splits}) if splits else table
    saved.save_to_disk(str(folder))  # type: ignore[attr-defined]
    return folder


def cache_as_hub_download(repo_id: str, split: str, folder: Path, **kwargs: object) -> None:
    """Leave in the local datasets cache what ``datasets.load_dataset(repo_id)`` leaves after a
    download (offline, no Hub): datasets' own Parquet builder prepares ``build(...)`` under the
    repo's cache folder, with the config folder and file names a Hub download gives them."""
    import datasets
    from datasets.packaged_modules.parquet.parquet import Parquet

    namespace, name = repo_id.split("/")
    parquet = folder / f"{split}.parquet"
    build(**kwargs).to_parquet(str(parquet))  # type: ignore[attr-defined]
    builder = Parquet(data_files={split: str(parquet)}, dataset_name=f"{namespace}___{name}",
                      hash="0" * 16, cache_dir=datasets.config.HF_DATASETS_CACHE)
    builder.download_and_prepare()
    prepared = Path(builder.cache_dir)
    for file in prepared.glob(f"{namespace}___{name}-*"):
        file.rename(file.with_name(file.name.replace(f"{namespace}___", "", 1)))
    config = prepared.parents[1]  # config-with-hash/version/hash: a Hub download's config is "default"
    config.rename(config.parent / "default")
