"""A figure declared once in the figures table reaches summary, report, schema, compare and merge.

A test-only figure is registered from a pytester conftest through the public ``register_figure``;
older reports (version 2, before the table's cost figures) still load in compare and merge.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from asrbench.bench import figures
from asrbench.cli import main
from asrbench.reporting.merge import merge_reports
from asrbench.reporting.report import REPORT_VERSION
from asrbench.reporting.schema import load_schema, validate
from conftest import BASE  # type: ignore[import-not-found]

ROOT = Path(__file__).parents[2]
CPU = [*BASE, "--asr-device", "cpu", "--asr-fast", "--asr-max-wer", "1", "--benchmark-disable"]

FIGURE = """
from stub_engine import StubEngine
from asrbench.bench.figures import RunFigure, register_figure
from asrbench.core.figures import Figure, ratio
from asrbench.engines import register_engine

def words_per_second(rows, facts):
    return ratio(sum(len(r.hypothesis.split()) for r in rows), sum(r.audio_seconds for r in rows),
                 what="hypothesis words per audio second")

register_engine("stub", StubEngine)
register_figure(RunFigure("hyp_words_per_second", "hyp w/s", "w/s", words_per_second, fmt=".4f",
                          lower_is_better=False, compact=True), replace=True)
"""


@pytest.fixture
def with_figure(project):
    project.makeconftest(FIGURE)
    yield project
    figures.unregister_figure("hyp_words_per_second")


def _expected(report: dict[str, Any]) -> float:
    """The figure computed independently, from the report's utterances."""
    words = sum(len(u["hypothesis"].split()) for u in report["utterances"])
    return words / sum(u["audio_seconds"] for u in report["utterances"])


def test_a_registered_figure_reaches_summary_report_schema_compare_and_merge(with_figure, capsys):
    result = with_figure.runpytest_inprocess(*CPU, "--asr-report", "a.json")
    result.assert_outcomes(passed=4)
    report = json.loads((with_figure.path / "a.json").read_text())
    [run] = report["runs"]
    expected = _expected(report)
    assert expected > 0
    assert run["hyp_words_per_second"] == pytest.approx(expected)
    assert validate(report) == []
    assert "hyp_words_per_second" in load_schema()["$defs"]["run"]["properties"]
    result.stdout.fnmatch_lines([f"*hyp w/s {expected:.4f}*"])

    # compare: table, CSV and JSON carry it, with its change against the baseline
    with_figure.runpytest_inprocess(*CPU, "--asr-report", "b.json").assert_outcomes(passed=4)
    capsys.readouterr()
    assert main(["compare", "a.json", "b.json", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["hyp_words_per_second"] for r in records] == pytest.approx([expected, expected])
    assert records[1]["delta_hyp_words_per_second"] == pytest.approx(0.0)
    assert main(["compare", "a.json", "b.json", "--format", "csv"]) == 0
    assert "hyp_words_per_second" in capsys.readouterr().out.splitlines()[0]
    assert main(["compare", "a.json", "b.json"]) == 0
    assert f"hyp w/s {expected:.4f}" in capsys.readouterr().out

    # merge recomputes it from the shards' utterances
    paths = []
    for index in (1, 2):
        path = with_figure.path / f"s{index}.json"
        with_figure.runpytest_inprocess(*CPU, f"--asr-shard={index}/2", f"--asr-report={path}")
        paths.append(path)
    merged = merge_reports(paths)
    [whole] = merged["runs"]
    assert whole["hyp_words_per_second"] == pytest.approx(_expected(merged))
    assert whole["hyp_words_per_second"] == pytest.approx(expected)
    assert validate(merged) == []


def test_every_figure_of_the_table_is_in_the_shipped_schema():
    shipped = json.loads((ROOT / "src/asrbench/reporting/report.schema.json").read_text())
    properties = shipped["$defs"]["run"]["properties"]
    for fig in figures.figures():
        assert fig.name in properties, fig.name
        assert f"{fig.name}_reason" in properties, fig.name


def _version2(fresh: dict[str, Any]) -> dict[str, Any]:
    """The golden report as version 2 wrote it (before this table), its volatile values filled
    from a fresh run at the same places: a real version-2 report."""
    text = (ROOT / "tests/golden/report_v2.json").read_text()  # tests/golden/report.json at v2
    old = json.loads(text)

    def fill(value: Any, new: Any) -> Any:
        if value == "<volatile>":
            return new
        if isinstance(value, dict) and isinstance(new, dict):
            return {k: fill(v, new.get(k)) for k, v in value.items()}
        if isinstance(value, list) and isinstance(new, list) and len(value) == len(new):
            return [fill(v, n) for v, n in zip(value, new, strict=True)]
        return value

    filled: dict[str, Any] = fill(old, fresh)
    assert filled["version"] == 2
    return filled


def test_version_2_reports_load_in_compare_and_merge(project, capsys):
    project.runpytest_inprocess(*CPU, "--asr-report", "new.json").assert_outcomes(passed=4)
    fresh = json.loads((project.path / "new.json").read_text())
    assert fresh["version"] == REPORT_VERSION == 3
    old = _version2(fresh)
    assert "cpu_seconds" not in old["runs"][0]
    assert validate(old) == []
    (project.path / "old.json").write_text(json.dumps(old))
    capsys.readouterr()
    assert main(["compare", "old.json", "new.json", "--format", "json"]) == 0
    base, new = json.loads(capsys.readouterr().out)
    assert base["core_hours_per_audio_hour"] is None
    assert new["core_hours_per_audio_hour"] is not None
    assert new["delta_core_hours_per_audio_hour"] is None  # nothing to compare against
    assert main(["compare", "old.json", "new.json"]) == 0

    # two version-2 shards of the old run merge; the new figures are null with the reason
    ids = old["datasets"][0]["ids"]
    paths = []
    for index, part in enumerate((ids[:1], ids[1:]), start=1):
        shard = json.loads(json.dumps(old))
        shard["shard"] = {"index": index, "count": 2}
        shard["datasets"][0]["shard_ids"] = part
        shard["utterances"] = [u for u in old["utterances"] if u["id"] in part]
        path = project.path / f"old-{index}.json"
        path.write_text(json.dumps(shard))
        paths.append(path)
    merged = merge_reports(paths)
    [run] = merged["runs"]
    assert run["wer"] == old["runs"][0]["wer"]
    assert run["cpu_seconds"] is None
    assert "older than version 3" in run["cpu_seconds_reason"]
    assert validate(merged) == []
