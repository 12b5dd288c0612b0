"""The transformers engine decodes exactly as openai-whisper (the reference for the PyTorch engines).

On every smoke clip and on a short, quiet or band-limited clip made from each, transformers writes
openai-whisper's ``transcribe`` words, generates the same token ids, and its first decoding step
sees the same logits after the same suppression (non-speech tokens, and blank and end-of-text at
the first step). A quiet clip is where the two once differed: the 30-second padding (see
:mod:`asrbench.engines.hf_whisper`), checked on the features themselves here.
"""

from __future__ import annotations

import numpy as np
import pytest

from asrbench.data.audio import SAMPLE_RATE, to_mono_float32
from asrbench.engines.hf_whisper import whisper_windows
from asrbench.scoring.metrics import get_normaliser

NORMALISER = get_normaliser("whisper-english")


def _normalised(text: str) -> str:
    return " ".join(NORMALISER.apply(text).split())


def _band_limited(audio: np.ndarray) -> np.ndarray:
    """Through 8 kHz and back: telephone bandwidth, resampled twice."""
    import soxr

    narrow = soxr.resample(audio, SAMPLE_RATE, 8000, quality="HQ")
    return to_mono_float32(narrow, 8000)


#: One derived clip per smoke clip: (seconds kept from the start, gain, through 8 kHz).
DERIVED = {
    "austen-0870": (1.5, 1.0, False),   # short
    "austen-0880": (2.0, 0.02, False),  # short and quiet (-34 dB)
    "austen-0890": (2.5, 1.0, True),    # short and band-limited
    "austen-0920": (1.5, 0.05, False),  # short and quiet: the padding once changed its words
    "austen-0930": (2.0, 0.03, True),   # all three
}


@pytest.fixture(scope="module")
def clips(smoke):
    """Every smoke clip, and one short clip made from each (:data:`DERIVED`)."""
    made: dict[str, np.ndarray] = {}
    for u in smoke:
        made[u.id] = u.audio
        seconds, gain, narrow = DERIVED[u.id]
        clip = u.audio[:int(seconds * SAMPLE_RATE)]
        made[f"{u.id}-{seconds}s-x{gain}{'-8k' if narrow else ''}"] = (
            (_band_limited(clip) if narrow else clip) * gain).astype(np.float32)
    return made


@pytest.fixture(scope="module")
def options():
    import whisper

    return whisper.DecodingOptions(language="en", without_timestamps=True, temperature=0.0,
                                   fp16=False)


@pytest.fixture(scope="module")
def reference(cpu_engine, clips, options):
    """openai-whisper's ``decode`` on ``transcribe``'s windows, every clip in one batch."""
    import torch
    import whisper

    mels = torch.stack([_openai_mel(audio) for audio in clips.values()])
    results = whisper.decode(cpu_engine("whisper")._model, mels, options)
    return {key: (list(r.tokens), r.text) for key, r in zip(clips, results, strict=True)}


@pytest.fixture(scope="module")
def transformers_ids(cpu_engine, clips):
    """The transformers engine's token ids (its own windows), every clip in one ``generate``."""
    ids, owners = cpu_engine("transformers").runner.token_ids(list(clips.values()))
    assert owners == list(range(len(clips)))  # one window per clip
    return dict(zip(clips, ids, strict=True))


def _openai_mel(audio: np.ndarray):
    """The first window exactly as ``whisper.transcribe`` builds it (written out here, not shared)."""
    import torch
    from whisper.audio import HOP_LENGTH, N_FRAMES, N_SAMPLES, log_mel_spectrogram, pad_or_trim

    mel = log_mel_spectrogram(torch.from_numpy(audio), 80, padding=N_SAMPLES)
    return pad_or_trim(mel[:, :min(len(audio) // HOP_LENGTH, N_FRAMES)], N_FRAMES)


def test_windows_are_openai_whispers_not_padded_audio(cpu_engine, clips):
    extractor = cpu_engine("transformers").runner.extractor
    quiet = clips["austen-0920-1.5s-x0.05"]
    ours = whisper_windows(extractor, quiet)
    assert len(ours) == 1
    np.testing.assert_allclose(ours[0], _openai_mel(quiet).numpy(), atol=1e-5)
    assert not ours[0][:, len(quiet) // 160:].any()  # the tail is zeros after normalisation
    padded = extractor(quiet, sampling_rate=SAMPLE_RATE, return_tensors="np").input_features[0]
    assert padded[:, -1].max() < -0.5  # the extractor's default: log-Mel of silence, the old cause
    assert len(whisper_windows(extractor, clips["austen-0870"][:100])) == 0  # under one frame
    long = np.tile(clips["austen-0880"], 11)  # 32.9 s: two windows, the last padded
    assert [w[:, -1].any() for w in whisper_windows(extractor, long)] == [True, False]


def test_transformers_writes_openai_whispers_words_and_token_ids(cpu_engine, reference,
                                                                 transformers_ids):
    tokenizer = cpu_engine("transformers").runner.tokenizer
    words = {key: _normalised(tokenizer.decode(ids, skip_special_tokens=True))
             for key, ids in transformers_ids.items()}
    assert words == {key: _normalised(text) for key, (_, text) in reference.items()}
    assert transformers_ids == {key: tokens for key, (tokens, _) in reference.items()}
    assert len(set(words.values())) == len(words)  # no clip came out empty or alike


def test_openai_whisper_transcribe_and_its_batch_write_these_words(cpu_engine, clips, reference):
    """``decode`` on these windows is what ``transcribe`` writes; the engine's batch path too."""
    engine = cpu_engine("whisper")
    alone, batched = "austen-0920-1.5s-x0.05", "austen-0880-2.0s-x0.02"
    assert _normalised(engine.transcribe(clips[alone])) == _normalised(reference[alone][1])
    [text] = engine.transcribe_batch([clips[batched]])
    assert _normalised(text) == _normalised(reference[batched][1])


def test_same_first_step(cpu_engine, clips, options):
    """The prompt, the suppressed tokens and the logits of the first step, on the clip whose words
    the padding once changed."""
    import torch
    from whisper.decoding import DecodingTask

    model = cpu_engine("whisper")._model
    runner = cpu_engine("transformers").runner
    keys = ["austen-0920-1.5s-x0.05"]
    mels = torch.stack([_openai_mel(clips[k]) for k in keys])
    task = DecodingTask(model, options)
    prompt = torch.tensor([task.initial_tokens] * len(keys))
    assert task.initial_tokens == (50257, 50362)  # <|startoftranscript|> <|notimestamps|>
    with torch.inference_mode():
        logits = model.logits(prompt, task._get_audio_features(mels))[:, -1]
        for rule in task.logit_filters:  # SuppressBlank, SuppressTokens("-1")
            rule.apply(logits, prompt)
        out = runner.model.generate(mels, output_scores=True, return_dict_in_generate=True,
                                    max_new_tokens=1, **runner.generate_kwargs)
    assert out.sequences[:, :2].tolist() == prompt.tolist()
    first = out.scores[0]
    assert torch.equal(torch.isinf(first), torch.isinf(logits))  # the same tokens suppressed
    assert int(torch.isinf(logits[0]).sum()) >= 90  # non-speech set, specials, blank, end-of-text
    assert torch.equal(first.topk(5).indices, logits.topk(5).indices)
    finite = ~torch.isinf(logits)
    assert (first[finite] - logits[finite]).abs().max() < 1e-3
