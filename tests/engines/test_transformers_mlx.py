"""The transformers and mlx-whisper engines and their converters, on the real tiny.en weights.

mlx on a Linux CPU takes about 15 s per clip (every clip is a 30-second window): only the same-words
test transcribes with these weights, on one short clip (the contract runs a tiny random model).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from asrbench.cli import main
from asrbench.core.errors import ConfigError
from asrbench.engines import engine_class, parse_model_spec
from asrbench.engines.conversions import STAMP, cached_folder
from asrbench.engines.convert import ConversionError, read_ct2, whisper_state
from asrbench.engines.spec import ModelSpec
from asrbench.engines.weights import bundled_ct2_model
from asrbench.hardware import runtimes
from asrbench.hardware.devices import Device

SOURCE = bundled_ct2_model()
CPU = Device("cpu")


@pytest.fixture(scope="module")
def openai():
    return whisper_state(read_ct2(SOURCE))


def _assert_same(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for key, value in want.items():
        assert got[key].dtype == value.dtype, key
        np.testing.assert_array_equal(got[key], value, err_msg=key)


def test_transformers_conversion_keeps_every_tensor(openai, tmp_path):
    from transformers import WhisperForConditionalGeneration

    from asrbench.engines.convert_hf import convert_to_transformers, openai_state

    dims, state = openai
    folder = convert_to_transformers(SOURCE, tmp_path / "hf")
    saved = load_file(str(folder / "model.safetensors"))
    _assert_same(openai_state(saved), state)
    assert "model.encoder.layers.3.self_attn.k_proj.weight" in saved
    assert "model.encoder.layers.3.self_attn.k_proj.bias" not in saved  # Whisper's keys have none
    model, info = WhisperForConditionalGeneration.from_pretrained(
        str(folder), output_loading_info=True, use_safetensors=True)
    assert (info["missing_keys"], info["unexpected_keys"], info["mismatched_keys"]) == (
        set(), set(), set())
    assert model.proj_out.weight.data_ptr() == model.model.decoder.embed_tokens.weight.data_ptr()
    generation = json.loads((folder / "generation_config.json").read_text())
    assert (generation["no_timestamps_token_id"], generation["is_multilingual"]) == (50362, False)
    assert model.config.vocab_size == dims["n_vocab"]


def test_mlx_conversion_keeps_every_stored_tensor(openai, tmp_path):
    from mlx.utils import tree_flatten
    from mlx_whisper.whisper import ModelDimensions, Whisper

    from asrbench.engines.convert_mlx import convert_to_mlx, openai_state, sinusoids

    state = dict(openai[1])
    folder = convert_to_mlx(SOURCE, tmp_path / "mlx")
    saved = load_file(str(folder / "weights.safetensors"))
    positions = state.pop("encoder.positional_embedding")  # mlx computes it: checked, not stored
    _assert_same(openai_state(saved), state)
    assert np.abs(positions.astype(np.float32) - sinusoids(*positions.shape)).max() < 1e-3
    assert saved["encoder.conv1.weight"].shape == (384, 3, 80)  # (out, kernel, in)
    config = json.loads((folder / "config.json").read_text())
    expected = {k: v.shape for k, v in tree_flatten(Whisper(ModelDimensions(**{
        k: v for k, v in config.items() if k != "model_type"})).parameters())}
    assert {k: v.shape for k, v in saved.items() if k != "alignment_heads"} == {
        k: v for k, v in expected.items() if k != "alignment_heads"}
    ct2_heads = json.loads((SOURCE / "config.json").read_text())["alignment_heads"]
    assert saved["alignment_heads"].tolist() == ct2_heads


def test_mlx_refuses_learned_encoder_positions(openai):
    from asrbench.engines.convert_mlx import mlx_state

    _, state = openai
    changed = {**state, "encoder.positional_embedding": state["encoder.positional_embedding"] + 0.1}
    with pytest.raises(ConversionError, match="not Whisper's sinusoids"):
        mlx_state(changed, source="m")


def test_cached_conversion_is_built_once_and_rebuilt_when_stale(tmp_path):
    builds: list[str] = []

    def build(source, folder):
        builds.append(folder.name)
        (folder / "weights").write_text("w")

    first = cached_folder(SOURCE, tmp_path, "fmt", build)
    assert cached_folder(SOURCE, tmp_path, "fmt", build) == first
    assert len(builds) == 1
    (first / STAMP).write_text(json.dumps({"source": "elsewhere"}))
    assert cached_folder(SOURCE, tmp_path, "fmt", build) == first
    assert len(builds) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.name]  # no temporary left


def test_failed_conversion_leaves_nothing(tmp_path):
    def build(source, folder):
        (folder / "half").write_text("x")
        raise ConversionError("broken")

    with pytest.raises(ConversionError):
        cached_folder(SOURCE, tmp_path, "fmt", build)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target", ["transformers", "mlx"])
def test_cli_converts_and_refuses_to_overwrite_a_folder(tmp_path, capsys, target):
    dest = tmp_path / target
    assert main(["convert", str(SOURCE), str(dest), "--to", target]) == 0
    assert f"wrote {dest}" in capsys.readouterr().out
    assert main(["convert", str(SOURCE), str(dest), "--to", target]) == 2
    assert "already exists and is not an empty folder" in capsys.readouterr().err


def test_a_beam_on_mlx_is_a_usage_error_naming_it():
    with pytest.raises(ConfigError, match=r"beam_size.*mlx_whisper has no beam search"):
        parse_model_spec("mlx_whisper,beam_size=5")
    assert parse_model_spec("mlx_whisper,beam_size=1").option("beam_size", None) == "1"
    with pytest.raises(ConfigError, match="option beam_size=4: mlx_whisper has no beam search"):
        engine_class("mlx_whisper").load(ModelSpec("mlx_whisper", None, (("beam_size", "4"),)), CPU)


@pytest.mark.parametrize(("metal", "reason"), [(False, "mps: this MLX build has no Metal GPU on"),
                                               (True, None)])
def test_mlx_asks_mlx_for_metal(monkeypatch, metal, reason):
    monkeypatch.setitem(runtimes._RUNTIMES, "mlx", runtimes.MlxRuntime(metal=lambda: metal))
    got = engine_class("mlx_whisper").device_unavailable(Device("mps"))
    assert got == reason or (reason is not None and got is not None and got.startswith(reason))
    assert engine_class("mlx_whisper").device_unavailable(CPU) is None


def test_mlx_on_this_machine_says_what_its_build_lacks():
    import platform

    import mlx.core as mx

    reason = runtimes.MlxRuntime().mps_unavailable()
    assert (reason is None) == bool(mx.metal.is_available())
    if reason is not None:
        assert f"(mlx {mx.__version__}) has no Metal GPU on {platform.system()}" in reason
    assert "Apple GPU (mps) or the CPU" in str(engine_class("mlx_whisper").unsupported_reason(
        Device("cuda")))


def test_transformers_asks_torch(monkeypatch):
    asked: list[str] = []

    class Probe(runtimes.Runtime):
        name = "torch"

        def unavailable_reason(self, device):
            asked.append(str(device))
            return "simulated"

    monkeypatch.setitem(runtimes._RUNTIMES, "torch", Probe())
    assert engine_class("transformers").device_unavailable(Device("mps")) == "simulated"
    assert asked == ["mps"]


@pytest.fixture(scope="module")
def hf(cpu_model):
    return cpu_model("transformers")


def test_transformers_batch_matches_one_at_a_time(hf, smoke):
    clips = sorted(smoke, key=lambda u: len(u.audio))[:2]
    batched = hf.transcribe_batch([u.audio for u in clips])
    assert batched == [hf.transcribe(u.audio) for u in clips]
    info = hf.info()
    assert (info["backend"], info["precision"], hf.weights_device()) == ("torch CPU", "float32", "cpu")
    assert info["decoding"] == {"language": "en", "beam_size": 1, "temperature": 0.0,
                                "without_timestamps": True}


def test_transformers_refuses_another_language_on_an_english_only_model():
    with pytest.raises(ConfigError, match="English-only model cannot transcribe language='fr'"):
        engine_class("transformers").load(parse_model_spec("transformers,language=fr"), CPU)


def test_mlx_declares_no_batching():
    reason = engine_class("mlx_whisper").batch_unsupported_reason()
    assert reason is not None
    assert "one clip at a time" in reason
    assert engine_class("transformers").batch_unsupported_reason() is None
