"""Every transformers family the engine runs, on tiny random-weight checkpoints built here.

Each family loads from a local folder, transcribes a smoke clip, batches (each clip of a batch
decodes as it does alone), reports memory and threads through the benchmark session, and its
``info()`` names the family, architecture, parameter count and dtype. Random weights: no test here
looks at the words' accuracy (the real-accuracy tests stay on tiny.en).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hf_tiny import BUILDERS, build  # type: ignore[import-not-found]
from safetensors.numpy import load_file

from asrbench.bench import runner
from asrbench.bench.session import BenchSession
from asrbench.config.options import Settings
from asrbench.core.errors import ConfigError, EngineError
from asrbench.data.datasets import load_dataset
from asrbench.engines import engine_class, parse_model_spec
from asrbench.engines.hf_families import FAMILIES, UNSUPPORTED
from asrbench.engines.streaming import StreamUpdate
from asrbench.hardware.devices import Device
from asrbench.reporting.schema import validate
from stream_check import stream  # type: ignore[import-not-found]

CPU = Device("cpu")
SUITE = Path(__file__).parents[1] / "benchmarks" / "test_transcribe.py"
ARCHITECTURES = {"wav2vec2-ctc": "Wav2Vec2ForCTC", "parakeet-ctc": "ParakeetForCTC",
                 "moonshine": "MoonshineForConditionalGeneration",
                 "moonshine-streaming": "MoonshineStreamingForConditionalGeneration",
                 "kyutai-stt": "KyutaiSpeechToTextForConditionalGeneration",
                 "parakeet-tdt": "ParakeetForTDT", "parakeet-rnnt": "ParakeetForRNNT",
                 "lasr-ctc": "LasrForCTC", "hubert-ctc": "HubertForCTC"}

#: Stored tensors that are buffers, not parameters: batch-norm statistics, Mimi's codebook state.
BUFFERS = ("running_mean", "running_var", "num_batches_tracked", "cluster_usage", "embed_sum",
           "initialized")

pytestmark = [
    # LASR's 1-D convolutions pad "same" with an even kernel: torch warns, the result is right
    pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning"),
]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """``tiny("moonshine")``: that family's checkpoint folder, built once per session."""
    # imported before any in-process pytest run can import them and drop them from sys.modules
    # again: torch._dynamo and soxr can be imported once per process only (a torch library, a
    # nanobind extension), and Kyutai's and Mimi's modeling imported afresh after such a run load
    # Mimi with garbage in its non-persistent buffers (strides, kernel sizes): generate then asks
    # for a tensor of an absurd size
    import soxr  # noqa: F401
    import torch._dynamo  # noqa: F401
    import transformers.models.kyutai_speech_to_text.modeling_kyutai_speech_to_text
    import transformers.models.mimi.modeling_mimi  # noqa: F401

    root = tmp_path_factory.mktemp("hf-tiny")
    built: dict[str, object] = {}

    def get(family: str):
        if family not in built:
            built[family] = build(family, root / family)
        return built[family]

    return get


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    made: list[BenchSession] = []

    def start(model: str) -> BenchSession:
        settings = Settings.build(models=[model], devices=["cpu"], datasets=[], max_wer=[],
                                  max_corpus_wer=[], base=tmp_path_factory.mktemp("s"), threads=1,
                                  rounds=1, warmup=0)
        made.append(BenchSession(settings))
        return made[-1]

    yield start
    for session in made:
        session.release()


@pytest.mark.parametrize("family", list(BUILDERS))
def test_family_loads_transcribes_batches_and_reports(family, tiny, sessions, smoke):
    import torch

    folder = tiny(family)
    session = sessions(f"transformers:{folder}")
    model = session.model(session.settings.models[0], CPU)
    engine = model.engine
    clips = sorted(smoke, key=lambda u: len(u.audio))[:2]
    alone = [engine.transcribe(u.audio) for u in clips]
    assert all(isinstance(text, str) for text in alone)
    assert engine.transcribe_batch([u.audio for u in clips]) == alone
    assert engine.transcribe_batch([]) == []

    info = engine.info()
    stored = load_file(str(folder / "model.safetensors"))
    assert info["family"] == family
    assert info["architecture"] == ARCHITECTURES[family]
    assert info["family_kind"] == FAMILIES[ARCHITECTURES[family]].kind
    # counted from the file, less the buffers
    assert info["parameters"] == sum(v.size for k, v in stored.items() if not k.endswith(BUFFERS))
    assert (info["weights_dtype"], info["precision"]) == ("float32", "float32")
    greedy = {"beam_size": 1, "temperature": 0.0}
    honoured = {"moonshine": greedy, "moonshine-streaming": greedy}.get(family, {})
    assert info["decoding"] == honoured
    assert set(info["decoding_ignored"]) == {"language", "beam_size", "temperature",
                                             "without_timestamps"} - set(honoured)
    json.dumps(info)
    assert model.load.info["torch_threads"] == 1 == torch.get_num_threads()

    summary = runner.corpus_summary(session, model, load_dataset("smoke"))
    assert summary.info["memory_bytes"] > 0
    assert summary.info["engine_info"]["family"] == family


def test_ignored_decoding_option_set_on_purpose_is_a_usage_error(tiny):
    folder = tiny("wav2vec2-ctc")
    spec = parse_model_spec(f"transformers:{folder},beam_size=4")
    with pytest.raises(ConfigError, match=r"option beam_size=4: .* wav2vec2-ctc model \(ctc\), "
                                          r"which ignores beam_size"):
        engine_class("transformers").load(spec, CPU)
    engine_class("transformers").load(parse_model_spec(f"transformers:{folder},beam_size=1"), CPU)


def test_a_folder_that_is_not_a_model_fails_at_start_up(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=rf"transformers:{empty}: {empty} is not a model folder: "
                                          r"it has no config\.json"):
        parse_model_spec(f"transformers:{empty}")
    with pytest.raises(ConfigError, match="no such model folder"):
        parse_model_spec(f"transformers:{tmp_path / 'missing'}")
    parse_model_spec("transformers:nvidia/parakeet-ctc-0.6b")  # a Hub id is checked at load


@pytest.mark.parametrize(("architecture", "match"), [
    ("BertForMaskedLM", "BertForMaskedLM is not a speech-recognition architecture this engine "
                        "runs; supported: "),
    ("CanaryForConditionalGeneration", "not supported: Canary needs a task prompt"),
    ("VoxtralRealtimeForConditionalGeneration", "Voxtral realtime is natively streaming"),
    (None, "config.json names no architecture"),
])
def test_an_unknown_or_unsupported_architecture_fails_at_start_up(tmp_path, architecture, match):
    folder = tmp_path / "m"
    folder.mkdir()
    config = {"model_type": "x", **({"architectures": [architecture]} if architecture else {})}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=match) as caught:
        parse_model_spec(f"transformers:{folder}")
    assert str(folder) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unsupported_families_are_named_and_none_is_also_supported():
    assert not set(UNSUPPORTED) & set(FAMILIES)
    import transformers

    for architecture in [*FAMILIES, *UNSUPPORTED]:  # every name is a real transformers class
        assert hasattr(transformers, architecture), architecture


def test_a_folder_whose_weights_are_missing_is_one_line(tiny, tmp_path):
    import shutil

    folder = shutil.copytree(tiny("wav2vec2-ctc"), tmp_path / "broken")
    (folder / "model.safetensors").unlink()
    with pytest.raises(EngineError, match=rf"transformers:{folder}: cannot load {folder}") as caught:
        engine_class("transformers").load(parse_model_spec(f"transformers:{folder}"), CPU)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("family", list(BUILDERS))
def test_benchmark_suite_report_names_the_family(pytester, tiny, family):
    folder = tiny(family)
    pytester.makepyfile(test_suite=SUITE.read_text())
    # random weights: no WER is claimed, so the thresholds are set where nothing can fail
    result = pytester.runpytest_inprocess(
        "--asr-model", f"transformers:{folder}", "--asr-device", "cpu", "--asr-max-wer", "1e9",
        "--asr-max-corpus-wer", "1e9", "--asr-rounds", "1", "--asr-warmup", "0",
        "--asr-report", "r.json", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    report = json.loads((pytester.path / "r.json").read_text())
    assert validate(report) == []
    [run] = report["runs"]
    assert (run["engine_info"]["family"], run["engine_info"]["architecture"]) == (
        family, ARCHITECTURES[family])


def test_moonshine_streaming_streams_through_local_agreement_and_says_why(tiny, smoke):
    folder = tiny("moonshine-streaming")
    engine = engine_class("transformers").load(parse_model_spec(f"transformers:{folder}"), CPU)
    assert engine.native_streaming is False
    clip = min(smoke, key=lambda u: len(u.audio)).audio
    session, updates, final = stream(engine, clip, chunk_ms=250)
    assert final.partial == final.committed  # finish commits everything
    assert final.partial == engine.transcribe(clip)  # the last decode reads the whole utterance
    # between decodes (min_chunk_s = 1 s of new audio) the session does no work: same update
    assert updates[0] == updates[1] == updates[2] == StreamUpdate("")
    assert sum(a != b for a, b in itertools.pairwise(updates)) <= len(clip) // 16000
    described = session.describe()
    assert described["policy"] == "local-agreement"
    assert described["native"].startswith("not native: transformers encodes the whole buffer")
    assert described["trimming"].startswith("none: transformers gives no word timings")
    # an offline family's stream has no such note
    plain = engine_class("transformers").load(
        parse_model_spec(f"transformers:{tiny('moonshine')}"), CPU)
    assert "native" not in plain.start_stream().describe()


@pytest.mark.parametrize(("family", "policy"), [("moonshine-streaming", "local-agreement"),
                                                ("kyutai-stt", "native")])
def test_streaming_families_run_the_streaming_suite(pytester, tiny, family, policy):
    folder = tiny(family)
    pytester.makepyfile(test_suite=SUITE.read_text())
    # the shortest smoke clip only: every decode re-reads the buffer, and the machine is shared
    result = pytester.runpytest_inprocess(
        "--asr-model", f"transformers:{folder}", "--asr-device", "cpu", "--asr-stream",
        "-m", "streaming", "-k", "austen-0930", "--asr-max-wer", "1e9", "--asr-fast",
        "--asr-report", "r.json", "--benchmark-disable", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, deselected=11)
    report = json.loads((pytester.path / "r.json").read_text())
    assert validate(report) == []
    [run] = report["runs"]
    assert run["engine_info"]["family"] == family
    assert run["commit_violations"] == 0
    described = run["disclosure"]["stream_policy"]
    assert described["policy"] == policy
    if policy != "native":
        assert described["native"].startswith("not native")
    [utterance] = report["utterances"]
    trace = utterance["stream"]["trace"]
    assert trace[-1]["committed"] == trace[-1]["partial"]


def test_kyutai_streams_natively_token_for_token_as_generate(tiny, smoke):
    import torch

    folder = tiny("kyutai-stt")
    engine = engine_class("transformers").load(parse_model_spec(f"transformers:{folder}"), CPU)
    assert engine.native_streaming is True
    full = min(smoke, key=lambda u: len(u.audio)).audio
    clip = full[:16000]  # 1 s: 34 frames with the padding
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        offline = engine.runner.ids(clip)
        session, updates, final = stream(engine, clip, chunk_ms=100)
        # the whole clip, in chunks that split frames otherwise: still generate's tokens
        whole = stream(engine, full, chunk_ms=330)[0]
        assert whole.tokens == engine.runner.ids(full)
    finally:
        torch.set_num_threads(threads)
    # the frame-by-frame loop emits generate's tokens exactly, one per 80 ms frame of the padded clip
    assert session.tokens == offline
    assert len(offline) == int((0.25 + 1.0 + 0.5 + 1.0) * 24000) // 1920
    assert len(set(offline)) > 3  # not one token repeated: the comparison can tell loops apart
    assert final.partial == final.committed == engine.transcribe(clip)
    # tokens come out as audio arrives: 0.25 s of leading silence, then a token per frame
    assert updates[0].partial  # the first 100 ms already completes the silence prefix's frames
    shown = [len(u.partial.split()) for u in updates]
    assert shown == sorted(shown)
    assert shown[-1] > shown[0]
    # every word but the last is committed as soon as it is shown
    assert all(u.committed.split() == u.partial.split()[:-1] for u in updates if u.partial)
    described = session.describe()
    assert (described["policy"], described["frame_ms"]) == ("native", 80.0)
    assert described["compute_clock"] == "thread_cpu" or threads != 1
    with pytest.raises(EngineError, match="accept\\(\\) after finish\\(\\)"):
        session.accept(clip[:1600])
