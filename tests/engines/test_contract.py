"""The built-in engines pass the engine contract kit (``asrbench.testing``) on real weights.

faster-whisper and openai-whisper load the offline tiny.en (converted into the temporary cache the
engine conftest sets up); LFM2.5-Audio, transformers and mlx-whisper load tiny random checkpoints
built here: the kit makes up to six calls, each seconds on the real tiny.en for transformers and
about 15 s for mlx's Linux CPU build. Their real weights run in tests/engines/test_same_words.py
(and transformers' in its batch test).
"""

from __future__ import annotations

import numpy as np
import pytest
from hf_tiny import build_tiny_transformers_whisper  # type: ignore[import-not-found]
from lfm_tiny import build_tiny_lfm  # type: ignore[import-not-found]
from mlx_tiny import build_tiny_mlx_whisper  # type: ignore[import-not-found]

from asrbench.engines import ModelSpec
from asrbench.engines.registry import engine_class as lookup
from asrbench.testing import EngineContract


@pytest.fixture(scope="module")
def lfm_tiny_folder(tmp_path_factory):
    return build_tiny_lfm(tmp_path_factory.mktemp("lfm-contract") / "tiny")


@pytest.fixture(scope="module")
def hf_tiny_folder(tmp_path_factory):
    return build_tiny_transformers_whisper(tmp_path_factory.mktemp("hf-contract") / "tiny")


@pytest.fixture(scope="module")
def mlx_tiny_folder(tmp_path_factory):
    return build_tiny_mlx_whisper(tmp_path_factory.mktemp("mlx-contract") / "tiny")


class TestFasterWhisperContract(EngineContract):
    @pytest.fixture
    def engine_class(self):
        return lookup("faster_whisper")


class TestWhisperContract(EngineContract):
    @pytest.fixture
    def engine_class(self):
        return lookup("whisper")


@pytest.mark.filterwarnings("ignore::UserWarning:transformers.*")
@pytest.mark.filterwarnings("ignore::asrbench.engines.lfm.TranscriptTruncated")
class TestLfmAudioContract(EngineContract):
    """A random model's words mean nothing; the contract is about the call, not the text."""

    @pytest.fixture
    def engine_class(self):
        return lookup("lfm2_5_audio")

    @pytest.fixture
    def model_spec(self, lfm_tiny_folder):
        return ModelSpec("lfm2_5_audio", str(lfm_tiny_folder), (("max_new_tokens", "6"),))

    @pytest.fixture
    def audio(self):
        return (np.random.default_rng(0).standard_normal(16000) * 0.1).astype(np.float32)


class TestTransformersContract(EngineContract):
    """A random model's words mean nothing; the contract is about the call, not the text."""

    @pytest.fixture
    def engine_class(self):
        return lookup("transformers")

    @pytest.fixture
    def model_spec(self, hf_tiny_folder):
        return ModelSpec("transformers", str(hf_tiny_folder))


class TestMlxWhisperContract(EngineContract):
    """A random model's words mean nothing; the contract is about the call, not the text."""

    @pytest.fixture
    def engine_class(self):
        return lookup("mlx_whisper")

    @pytest.fixture
    def model_spec(self, mlx_tiny_folder):
        return ModelSpec("mlx_whisper", str(mlx_tiny_folder))
