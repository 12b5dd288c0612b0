"""The options table: every entry reaches the command line, ini, [tool.asrbench] and Settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asrbench.config.options import OPTIONS, Settings, Source, read_tool_table, resolve, tool_keys
from asrbench.core.errors import ConfigError
from asrbench.data.formats import load_datasets

#: One value per option (the same text on the command line, in ini and in pyproject), and what
#: Settings must hold for it. A new table entry without a sample here fails the first test.
SAMPLES = {
    "models": ("whisper:base", lambda s: [m.label for m in s.models] == ["whisper:base"]),
    "devices": ("cuda:1", lambda s: [str(d) for d in s.devices] == ["cuda:1"]),
    "datasets": ("set.jsonl", lambda s: [d.name for d in load_datasets(s.datasets).datasets] == ["set"]),
    "max_wer": ("0.25", lambda s: s.thresholds.max_wer("m", "d") == 0.25),
    "max_corpus_wer": ("0.125", lambda s: s.thresholds.max_corpus_wer("m", "d") == 0.125),
    "report": ("out.json", lambda s: s.report.name == "out.json"),
    "rounds": ("7", lambda s: s.rounds == 7),
    "warmup": ("2", lambda s: s.warmup == 2),
    "normaliser": ("none", lambda s: s.normaliser == "none"),
    "baseline": ("0001", lambda s: s.baseline == "0001"),
    "baseline_margin": ("0.05", lambda s: s.baseline_margin == 0.05),
    "baseline_significant": (True, lambda s: s.baseline_significant is True),
    "baseline_rtf_margin": ("12.5%", lambda s: s.baseline_rtf_margin == 12.5),
    "shard": ("2/3", lambda s: (s.shard.index, s.shard.count) == (2, 3)),
    "cache_dir": ("weights", lambda s: s.cache_dir.name == "weights"),
    "hf_audio_column": ("speech", lambda s: s.hf_audio_column == "speech"),
    "hf_text_column": ("sentence", lambda s: s.hf_text_column == "sentence"),
    "timeout": ("2.5", lambda s: s.timeout == 2.5),
    "allow_outside_paths": (True, lambda s: s.allow_outside_paths is True),
    "report_overwrite": (True, lambda s: s.report_overwrite is True),
    "threads": ("2", lambda s: s.threads == 2),
    "fast": (True, lambda s: s.fast is True),
    "batch_size": ("4", lambda s: s.batch_size == 4),
    "require_devices": ("cuda", lambda s: [str(d) for d in s.require_devices] == ["cuda"]),
    "html": ("page.html", lambda s: s.html.name == "page.html"),
    "markdown": ("summary.md", lambda s: s.markdown.name == "summary.md"),
    "stream": (True, lambda s: s.stream is True),
    "stream_clock": ("unaware", lambda s: s.stream_clock == "unaware"),
    "chunk_ms": ("250", lambda s: s.chunk_ms == 250),
    "align": (True, lambda s: s.align is True),
    "max_latency_p90": ("1.5", lambda s: s.max_latency_p90 == 1.5),
    "max_erasure": ("0.2", lambda s: s.max_erasure == 0.2),
}
BY_FIELD = {o.field: o for o in OPTIONS}


def test_every_option_has_a_sample_and_a_settings_field():
    assert set(SAMPLES) == set(BY_FIELD)
    assert set(Settings.__dataclass_fields__) == set(BY_FIELD)
    assert list(Settings.__dataclass_fields__) == [o.field for o in OPTIONS]  # in --help order
    assert len({o.name for o in OPTIONS}) == len(OPTIONS)


def test_help_text_ends_with_the_default():
    for option in OPTIONS:
        assert option.help_text.startswith(option.help)
        assert option.help_text.endswith(")"), option.name
        assert "(default: " in option.help_text, option.name
    assert BY_FIELD["rounds"].help_text.endswith("(default: 3)")
    assert BY_FIELD["models"].help_text.endswith("(default: faster_whisper, whisper)")


def test_defaults_parse_into_settings():
    settings = Settings.build()
    assert (settings.rounds, settings.warmup, settings.normaliser) == (3, 1, "whisper-english")
    assert [str(d) for d in settings.devices] == ["cpu", "cuda", "mps"]
    assert settings.report is None
    assert settings.baseline is None
    assert settings.thresholds.max_corpus_wer("any", "set") == 0.5
    with pytest.raises(AttributeError):
        settings.rounds = 4  # type: ignore[misc]


@pytest.fixture
def dataset(pytester: pytest.Pytester) -> Path:
    (pytester.path / "set.jsonl").write_text(json.dumps({"id": "a", "audio": "a.wav", "text": "x"}))
    (pytester.path / "a.wav").write_bytes(b"")  # listed, never decoded here
    return pytester.path


def _check(pytester: pytest.Pytester, field: str, *args: str) -> None:
    from asrbench.config.options import settings_from_config

    settings = settings_from_config(pytester.parseconfig(*args))
    assert SAMPLES[field][1](settings), (field, getattr(settings, field))


@pytest.mark.parametrize("field", sorted(SAMPLES))
def test_option_reaches_settings_from_the_command_line(pytester, dataset, field):
    option = BY_FIELD[field]
    _check(pytester, field, *([option.flag] if option.switch else [option.flag, SAMPLES[field][0]]))


@pytest.mark.parametrize("field", sorted(SAMPLES))
def test_option_reaches_settings_from_ini(pytester, dataset, field):
    pytester.makeini(f"[pytest]\n{BY_FIELD[field].ini} = {SAMPLES[field][0]}\n")
    _check(pytester, field)


@pytest.mark.parametrize("field", sorted(SAMPLES))
def test_option_reaches_settings_from_pyproject(pytester, dataset, field):
    option, value = BY_FIELD[field], SAMPLES[field][0]
    assert option.key is not None
    toml = json.dumps([value]) if option.repeatable else json.dumps(value)
    pytester.makepyprojecttoml(f"[tool.asrbench]\n{option.key} = {toml}\n")
    _check(pytester, field)


def test_every_option_is_in_help(pytester):
    result = pytester.runpytest("--help")
    for option in OPTIONS:
        result.stdout.fnmatch_lines([f"*{option.flag}*"])
    assert result.stdout.str().count("(default: ") >= len(OPTIONS)


def test_precedence_command_line_ini_pyproject_default(tmp_path):
    rounds = BY_FIELD["rounds"]
    layers = [(Source("default", tmp_path), 3), (Source("pyproject", tmp_path), "4"),
              (Source("ini", tmp_path), "5"), (Source("--asr-rounds", tmp_path, True), 6)]
    for n in range(1, 5):
        assert resolve(rounds, layers[:n]) == [3, 4, 5, 6][n - 1]


def test_rules_add_up_and_the_command_line_replaces_only_the_default(tmp_path):
    wer = BY_FIELD["max_wer"]
    rules = resolve(wer, [(Source("default", tmp_path), 0.5),
                          (Source("pyproject", tmp_path), {"whisper:*": 0.2}),
                          (Source("ini", tmp_path), ["0.0"]),
                          (Source("--asr-max-wer", tmp_path, True), 0.3)])
    assert [(r.model, r.value) for r in rules] == [("*", 0.3), ("whisper:*", 0.2)]


def test_errors_name_the_option(tmp_path):
    with pytest.raises(ConfigError, match="--asr-rounds 0: must be at least 1"):
        Settings.build(rounds=0)
    with pytest.raises(ConfigError, match="ini asr_warmup 'x': expected an integer"):
        resolve(BY_FIELD["warmup"], [(Source("ini asr_warmup", tmp_path), "x")])
    with pytest.raises(TypeError, match="unknown field"):
        Settings.build(round=3)


def test_unknown_pyproject_key_lists_the_valid_ones(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.asrbench]\nround = 3\n")
    with pytest.raises(ConfigError, match="unknown key 'round'; valid: " + ", ".join(tool_keys())):
        read_tool_table(path)
