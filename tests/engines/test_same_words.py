"""Same weights, same words: every runtime runs the bundled tiny.en at greedy decoding and writes the
same normalised transcript as faster-whisper (CTranslate2, float32) on the smoke set.

A converter that mangles one tensor, or an engine that decodes differently (beams, fallback,
timestamps, another language), changes words here. Each runtime is one :data:`RUNTIMES` entry: its
``--asr-model`` spec, which clips it transcribes, and how many words per clip may differ (with why).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from asrbench.engines import engine_class, parse_model_spec
from asrbench.scoring.metrics import get_normaliser, score

NORMALISER = get_normaliser("whisper-english")
#: Every runtime on real weights, mlx's Linux CPU build among them (about 15 s per clip).
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Runtime:
    spec: str
    #: ``None``: every smoke clip; N: the N shortest (a runtime too slow on this CPU for all).
    clips: int | None = None
    #: Words per clip that may differ from faster-whisper's, and why (0: none).
    max_words: int = 0


RUNTIMES = [
    Runtime("whisper"),
    # transformers: token for token openai-whisper's, on these clips and on short and quiet ones
    # (tests/engines/test_reference_decoding.py), so the same words as these
    # MLX's Linux CPU build multiplies slowly (~15 s per 30-second window): one clip
    Runtime("mlx_whisper", clips=1),
    # whisper.cpp computes its own log-Mel and keeps f16 activations in places: a near-tie between
    # two tokens can go the other way (a hyphenated word written as one), so one word may differ
    Runtime("whisper_cpp", max_words=1),
]


@pytest.fixture(scope="module")
def reference(cpu_transcripts):
    texts = cpu_transcripts("faster_whisper,compute_type=float32")
    return {uid: _normalised(text) for uid, text in texts.items()}


def _normalised(text: str) -> str:
    return " ".join(NORMALISER.apply(text).split())


@pytest.mark.parametrize("runtime", RUNTIMES, ids=lambda r: r.spec)
def test_same_words_as_faster_whisper(runtime, reference, smoke, cpu_model, cpu_transcripts):
    spec = parse_model_spec(runtime.spec)
    cls = engine_class(spec.engine)
    status = cls.import_status()
    if status.state == "absent":
        pytest.skip(str(status.reason))
    if runtime.clips is None:
        texts = cpu_transcripts(runtime.spec)
    else:
        engine = cpu_model(runtime.spec)
        clips = sorted(smoke, key=lambda u: len(u.audio))[:runtime.clips]
        texts = {u.id: engine.transcribe(u.audio) for u in clips}
    for utterance in [u for u in smoke if u.id in texts]:
        got = _normalised(texts[utterance.id])
        if runtime.max_words == 0:
            assert got == reference[utterance.id], f"{runtime.spec}, {utterance.id}"
        else:
            differing = score(reference[utterance.id], got, NORMALISER).words.errors
            assert differing <= runtime.max_words, (
                f"{runtime.spec}, {utterance.id}: {differing} words differ\n"
                f"  faster-whisper: {reference[utterance.id]}\n  {runtime.spec}: {got}")
