"""The CTranslate2 → openai-whisper converter on the real tiny.en model.bin."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from asrbench.engines.convert import (
    ConversionError,
    cached_whisper_checkpoint,
    convert_to_whisper,
    read_ct2,
    whisper_state,
)
from asrbench.engines.weights import bundled_ct2_model

SOURCE = bundled_ct2_model()


def _string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def write_ct2(folder, spec: str, variables: dict, aliases=()) -> None:
    """A minimal model.bin writer (the layout ctranslate2's model_spec.py writes)."""
    ids = {np.dtype(np.float32): 0, np.dtype(np.int8): 1, np.dtype(np.int16): 2, np.dtype(np.int32): 3,
           np.dtype(np.float16): 4}
    out = [struct.pack("<I", 6), _string(spec), struct.pack("<I", 3),
           struct.pack("<I", len(variables))]
    for name, array in variables.items():
        array = np.ascontiguousarray(array)
        out += [_string(name), struct.pack("<B", array.ndim),
                *(struct.pack("<I", d) for d in array.shape),
                struct.pack("<B", ids[array.dtype]), struct.pack("<I", array.nbytes),
                array.tobytes()]
    out.append(struct.pack("<I", len(aliases)))
    for alias, target in aliases:
        out += [_string(alias), _string(target)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.bin").write_bytes(b"".join(out))


@pytest.fixture(scope="module")
def ct2():
    return read_ct2(SOURCE)


def test_round_trip_every_tensor(ct2, tmp_path):
    dims, state = whisper_state(ct2)
    assert dims == {"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 384, "n_audio_head": 6,
                    "n_audio_layer": 4, "n_vocab": 51864, "n_text_ctx": 448, "n_text_state": 384,
                    "n_text_head": 6, "n_text_layer": 4}
    assert all(type(v) is int for v in dims.values())
    checkpoint = torch.load(convert_to_whisper(SOURCE, tmp_path / "t.pt"), weights_only=True)
    saved = checkpoint["model_state_dict"]
    assert set(saved) == set(state)
    v = ct2.variables
    _q, k, val = np.split(v["encoder/layer_2/self_attention/linear_0/weight"], 3)
    np.testing.assert_array_equal(saved["encoder.blocks.2.attn.key.weight"].numpy(), k)
    np.testing.assert_array_equal(saved["encoder.blocks.2.attn.value.weight"].numpy(), val)
    kv = np.split(v["decoder/layer_1/attention/linear_1/weight"], 2)
    np.testing.assert_array_equal(saved["decoder.blocks.1.cross_attn.value.weight"].numpy(), kv[1])
    assert "encoder.blocks.0.attn.key.bias" not in saved

    import whisper

    model = whisper.load_model(str(tmp_path / "t.pt"), device="cpu")  # strict state-dict load
    assert not model.is_multilingual


def test_conversion_is_cached(tmp_path):
    first = cached_whisper_checkpoint(SOURCE, tmp_path)
    stamp = first.stat().st_mtime_ns
    assert cached_whisper_checkpoint(SOURCE, tmp_path) == first
    assert first.stat().st_mtime_ns == stamp  # not rebuilt


def test_int8_model_is_dequantised(ct2, tmp_path):
    variables = {}
    for name, array in ct2.variables.items():
        if name == "decoder/projection/weight":
            continue
        if name.endswith("linear_0/weight") and array.ndim == 2:
            weight = array.astype(np.float32)
            scale = 127.0 / np.maximum(np.abs(weight).max(axis=1), 1e-8)
            variables[name] = np.round(weight * scale[:, None]).astype(np.int8)
            variables[f"{name}_scale"] = scale.astype(np.float32)
        else:
            variables[name] = array
    write_ct2(tmp_path / "int8", "WhisperSpec", variables,
              [("decoder/projection/weight", "decoder/embeddings/weight")])
    _, state = whisper_state(read_ct2(tmp_path / "int8"))
    _, reference = whisper_state(ct2)
    got = state["encoder.blocks.0.mlp.0.weight"]
    assert got.dtype == np.float32
    want = reference["encoder.blocks.0.mlp.0.weight"].astype(np.float32)
    assert np.abs(got - want).max() <= np.abs(want).max() / 127


def test_truncated_model_is_a_clear_error_and_leaves_nothing(tmp_path):
    folder = tmp_path / "cut"
    folder.mkdir()
    (folder / "model.bin").write_bytes((SOURCE / "model.bin").read_bytes()[:1_000_000])
    with pytest.raises(ConversionError, match=r"cut/model\.bin: truncated at byte \d+"):
        convert_to_whisper(folder, tmp_path / "out" / "t.pt")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_non_whisper_model_is_refused(tmp_path):
    write_ct2(tmp_path / "mt", "TransformerSpec", {"encoder/num_heads": np.array(8, np.int32)})
    with pytest.raises(ConversionError, match="'TransformerSpec' model, not a Whisper model"):
        convert_to_whisper(tmp_path / "mt", tmp_path / "t.pt")
    assert not (tmp_path / "t.pt").exists()


def test_folder_without_model_bin(tmp_path):
    with pytest.raises(ConversionError, match=r"no model\.bin"):
        read_ct2(tmp_path)
