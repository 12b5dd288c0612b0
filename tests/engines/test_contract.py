"""The built-in engines pass the engine contract kit (``asrbench.testing``) on real weights.

faster-whisper and openai-whisper load the offline tiny.en (converted into the temporary cache the
engine conftest sets up); LFM2.5-Audio and mlx-whisper load tiny random checkpoints built here
(mlx's Linux CPU build takes about 15 s per call on the real tiny.en, and the kit makes four: the
real weights run once, in tests/engines/test_same_words.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from lfm_tiny import build_tiny_lfm  # type: ignore[import-not-found]
from mlx_tiny import build_tiny_mlx_whisper  # type: ignore[import-not-found]

from asrbench.engines import ModelSpec
from asrbench.engines.registry import engine_class as lookup
from asrbench.testing import EngineContract


@pytest.fixture(scope="module")
def lfm_tiny_folder(tmp_path_factory):
    return build_tiny_lfm(tmp_path_factory.mktemp("lfm-contract") / "tiny")


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
    @pytest.fixture
    def engine_class(self):
        return lookup("transformers")


class TestMlxWhisperContract(EngineContract):
    """A random model's words mean nothing; the contract is about the call, not the text."""

    @pytest.fixture
    def engine_class(self):
        return lookup("mlx_whisper")

    @pytest.fixture
    def model_spec(self, mlx_tiny_folder):
        return ModelSpec("mlx_whisper", str(mlx_tiny_folder))
