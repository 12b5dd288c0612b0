"""Every transformers family the engine runs, on tiny random-weight checkpoints built here.

Each family loads from a local folder, transcribes a smoke clip, batches (each clip of a batch
decodes as it does alone), reports memory and threads through the benchmark session, and its
``info()`` names the family, architecture, parameter count and dtype. Random weights: no test here
looks at the words' accuracy (the real-accuracy tests stay on tiny.en).
"""

from __future__ import annotations

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
from asrbench.hardware.devices import Device
from asrbench.reporting.schema import validate

CPU = Device("cpu")
SUITE = Path(__file__).parents[1] / "benchmarks" / "test_transcribe.py"
ARCHITECTURES = {"wav2vec2-ctc": "Wav2Vec2ForCTC", "parakeet-ctc": "ParakeetForCTC",
                 "moonshine": "MoonshineForConditionalGeneration",
                 "parakeet-tdt": "ParakeetForTDT", "parakeet-rnnt": "ParakeetForRNNT",
                 "lasr-ctc": "LasrForCTC", "hubert-ctc": "HubertForCTC"}

BUFFERS = ("running_mean", "running_var", "num_batches_tracked")

pytestmark = [
    # LASR's 1-D convolutions pad "same" with an even kernel: torch warns, the result is right
    pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning"),
]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """``tiny("moonshine")``: that family's checkpoint folder, built once per session."""
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
    # counted from the file, less batch-norm statistics (buffers, not parameters)
    assert info["parameters"] == sum(v.size for k, v in stored.items() if not k.endswith(BUFFERS))
    assert (info["weights_dtype"], info["precision"]) == ("float32", "float32")
    honoured = {"moonshine": {"beam_size": 1, "temperature": 0.0}}.get(family, {})
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
    ("KyutaiSpeechToTextForConditionalGeneration", "Kyutai STT is natively streaming"),
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
