"""Checkpoints load without running code: torch.load(weights_only=True) or safetensors, nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import asrbench
from asrbench.core.errors import EngineError
from asrbench.engines.spec import ModelSpec
from asrbench.hardware.devices import Device

SOURCE = Path(asrbench.__file__).parent


def test_source_never_unpickles_trusts_remote_code_or_uses_a_shell():
    for path in SOURCE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, f"{path.name}: {call}"
        for banned in ("trust_remote_code", "shell=True", "os.system(", "os.popen(",
                       "pickle.load", "expandvars("):
            assert banned not in text, f"{path.name} uses {banned}"


def test_whisper_checkpoints_load_with_weights_only(monkeypatch):
    import torch

    from asrbench.engines.whisper import WhisperEngine

    seen: list[object] = []
    real = torch.load

    def recording(*args, **kwargs):
        seen.append(kwargs.get("weights_only"))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "load", recording)
    WhisperEngine.load(ModelSpec("whisper", "tiny.en"), Device("cpu"))
    assert seen
    assert all(flag is True for flag in seen)


def test_lfm_refuses_a_folder_with_pickle_checkpoints(tmp_path):
    from asrbench.engines.lfm import LfmAudioEngine

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"")
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(EngineError, match=r"holds pickle checkpoints \(pytorch_model.bin\); only "
                                          r".safetensors weights are loaded"):
        LfmAudioEngine.load(ModelSpec("lfm2_5_audio", str(tmp_path)), Device("cpu"))
