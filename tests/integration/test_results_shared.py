"""Results people share, from real runs: JUnit properties, pytest-html extras, ``asrbench report``,
``compare --format markdown``, and the HTML page in a real headless browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from asrbench.cli import main
from asrbench.reporting.html import write_html
from conftest import BASE, write_answers  # type: ignore[import-not-found]
from headless import Browser, require_chromium  # type: ignore[import-not-found]

RUN = [*BASE, "--asr-device", "cpu", "--asr-max-wer", "1", "--asr-rounds", "2"]
SMOKE = Path(__file__).parents[2] / "fixtures" / "audio"


def test_junitxml_carries_wer_cer_rtf_equal_to_the_report(project):
    write_answers(project, two="he was an ill posed young man")
    project.runpytest_inprocess(*RUN, "--asr-report", "report.json", "--junitxml", "junit.xml"
                                ).assert_outcomes(passed=4)
    report = json.loads((project.path / "report.json").read_text())
    cases = ET.parse(project.path / "junit.xml").getroot().iter("testcase")
    props = {case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
             for case in cases}
    utterances = {u["id"]: u for u in report["utterances"]}
    seen = 0
    for name, found in props.items():
        if name.startswith("test_utterance"):
            uid = re.search(r"-(one|two|three)\]$", name).group(1)  # type: ignore[union-attr]
            want = utterances[uid]
        else:
            assert name.startswith("test_corpus")
            want = report["runs"][0]
        assert set(found) == {"wer", "cer", "rtf"}
        for figure in ("wer", "cer", "rtf"):
            assert float(found[figure]) == want[figure], (name, figure)
        seen += 1
    assert seen == 4
    assert float(props[next(n for n in props if n.endswith("-two]"))]["wer"]) == 0.25


def test_pytest_html_extras_show_the_alignment_when_it_is_active(project):
    """pytest-html is simulated: a ``pytest_html.extras`` module and a plugin named ``html``."""
    package = project.path / "pytest_html"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "extras.py").write_text(
        "def html(content):\n"
        "    return {'name': 'HTML', 'format_type': 'html', 'extension': 'html', "
        "'content': content}\n")
    project.makeconftest(
        "import json, types\n"
        "from stub_engine import StubEngine\n"
        "from asrbench.engines import register_engine\n"
        "register_engine('stub', StubEngine)\n"
        "SEEN = {}\n"
        "def pytest_configure(config):\n"
        "    config.pluginmanager.register(types.SimpleNamespace(), 'html')\n"
        "def pytest_runtest_logreport(report):\n"
        "    if report.when == 'call':\n"
        "        SEEN[report.nodeid] = getattr(report, 'extras', [])\n"
        "def pytest_sessionfinish(session):\n"
        "    open('extras.json', 'w').write(json.dumps(SEEN))\n")
    project.syspathinsert()
    write_answers(project, two="he was an ill posed young man")
    project.runpytest_inprocess(*RUN).assert_outcomes(passed=4)
    seen = json.loads((project.path / "extras.json").read_text())
    two = next(v for k, v in seen.items() if k.endswith("-two]"))
    [extra] = two
    assert extra["format_type"] == "html"
    assert "WER 25.0%" in extra["content"]
    assert "S substitution" in extra["content"]
    assert extra["content"].startswith("<pre>")
    assert next(v for k, v in seen.items() if "test_corpus" in k) == []


def test_without_pytest_html_nothing_is_attached(project):
    project.runpytest_inprocess(*RUN, "-p", "no:html").assert_outcomes(passed=4)


@pytest.fixture
def saved_report(project):
    write_answers(project, two="he was an ill posed young man")
    project.runpytest_inprocess(*RUN, "--asr-report", "report.json").assert_outcomes(passed=4)
    return project.path / "report.json"


def test_report_command_writes_html_and_markdown(saved_report, capsys):
    html_path, md_path = saved_report.with_name("r.html"), saved_report.with_name("r.md")
    assert main(["report", str(saved_report), "--html", str(html_path), "--markdown",
                 str(md_path), "--worst", "1"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {html_path}" in out
    assert f"wrote {md_path}" in out
    page = html_path.read_text()
    # the worst utterance ("two") is playable: its WAV file from the dataset, inline
    assert page.count('<audio controls preload="none" src="data:audio/wav;base64,') == 1
    assert page.count("<tr data-id=") == 3
    assert "| stub:answers.json | cpu | set | 3 | 8.00 |" in md_path.read_text()
    assert main(["report", str(saved_report)]) == 0
    assert capsys.readouterr().out == md_path.read_text()


def test_report_command_inlines_no_audio_from_a_link_out_unless_allowed(saved_report):
    data = saved_report.parent / "data"
    outside = saved_report.parent / "outside"
    outside.mkdir()
    (data / "two.wav").rename(outside / "private.wav")  # a link added to the dataset after the run
    (data / "two.wav").symlink_to(outside / "private.wav")
    html_path = saved_report.with_name("r.html")
    assert main(["report", str(saved_report), "--html", str(html_path), "--worst", "1"]) == 0
    page = html_path.read_text()
    assert "data:audio/" not in page
    assert "through a symbolic link" in page
    assert main(["report", str(saved_report), "--html", str(html_path), "--worst", "1",
                 "--allow-outside-paths"]) == 0
    assert html_path.read_text().count('src="data:audio/wav;base64,') == 1


@pytest.mark.parametrize(("content", "cause"), [
    (None, "cannot read saved run"),
    ("{not json", "cannot read saved run"),
    ("{}", "no asrbench results in this file"),
    ('{"runs": [], "version": 1}', "report version 1"),
])
def test_report_command_bad_input_is_one_line_and_exit_2(tmp_path, capsys, content, cause):
    path = tmp_path / "in.json"
    if content is not None:
        path.write_text(content)
    assert main(["report", str(path), "--html", str(tmp_path / "o.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(path) in err
    assert cause in err
    assert not (tmp_path / "o.html").exists()


def test_compare_format_markdown(saved_report, capsys):
    second = saved_report.with_name("second.json")
    data = json.loads(saved_report.read_text())
    data["runs"][0]["wer"] = 0.12
    second.write_text(json.dumps(data))
    assert main(["compare", str(saved_report), str(second), "--format", "markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| model / device / dataset | run | WER %")
    rows = lines[2:]
    assert len(rows) == 2
    assert re.match(r"\| stub:answers.json / cpu / set \| \S+/report \| 8.0 \[0.0–25.0\] \|", rows[0])
    assert "| baseline |" in rows[0]
    assert re.match(r"\| stub:answers.json / cpu / set \| \S+/second \| 12.0 \[", rows[1])
    # the paired bootstrap runs over the utterances, which did not change
    assert "| +0.00 [+0.00, +0.00], p=1.000 | +0.0% [+0.0, +0.0] (not significant) |" in rows[1]
    # then a column per cost figure the runs measured, with its change against the baseline
    header = lines[0].split(" | ")
    assert header[-2:] == ["core-h/audio-h", "CPU util |"]
    cpu = data["runs"][0]["core_hours_per_audio_hour"]
    assert rows[0].endswith(f"| {cpu:.3g} | {data['runs'][0]['cpu_utilisation']:.2f} |")
    assert f"| {cpu:.3g} (+0.0% [+0.0, +0.0] not significant) |" in rows[1]


# -- the page in a real browser -----------------------------------------------------------------

def _smoke_answers() -> dict[str, str]:
    """Canned transcripts for the smoke set, by sample count: some wrong, one hostile."""
    import soundfile as sf

    lines = [json.loads(line) for line in (SMOKE / "smoke.jsonl").read_text().splitlines()]
    answers = {}
    for index, item in enumerate(lines):
        words = item["text"].split()
        if index == 1:
            words = [*words[:2], *words[3:], "<script>alert(1)</script>"]
        elif index == 3:
            words = [*words[:len(words) // 2], "marred", *words[len(words) // 2 + 1:]]
        answers[str(sf.info(str(SMOKE / item["audio"])).frames)] = " ".join(words)
    return answers


def test_the_html_report_in_a_headless_browser(pytester, tmp_path):
    chromium = require_chromium()  # skips naming what to install; fails in CI (.ci/run)
    (pytester.path / "answers.json").write_text(json.dumps(_smoke_answers()))
    pytester.makeconftest("from stub_engine import StubEngine\n"
                          "from asrbench.engines import register_engine\n"
                          "register_engine('stub', StubEngine)\n")
    pytester.makepyfile(test_suite=(Path(__file__).parents[1] / "benchmarks" /
                                    "test_transcribe.py").read_text())
    pytester.runpytest_inprocess("--asr-model", "stub:answers.json", "--asr-dataset", "smoke",
                                 "--asr-device", "cpu", "--asr-max-wer", "1", "--asr-max-corpus-wer",
                                 "1", "-p", "no:cacheprovider", "--asr-report", "report.json"
                                 ).assert_outcomes(passed=6)
    report = json.loads((pytester.path / "report.json").read_text())
    page = write_html(report, tmp_path / "report.html")
    started = time.monotonic()
    with Browser(chromium, tmp_path / "profile") as browser:
        browser.open(page.as_uri())
        rows = browser.evaluate("document.querySelectorAll('#utterances tbody tr').length")
        players = browser.evaluate("document.querySelectorAll('audio').length")
        hostile = browser.evaluate("document.querySelectorAll('body script').length")
        # sorting by WER (twice: descending) puts the worst first; filtering hides rows
        worst = browser.evaluate(
            "(function () { var th = document.querySelector('th[data-key=wer]'); th.click(); "
            "th.click(); return document.querySelector('#utterances tbody tr').dataset.id; })()")
        shown = browser.evaluate(
            "(function () { var f = document.getElementById('f-wer'); f.value = '1'; "
            "f.dispatchEvent(new Event('input')); "
            "return [document.getElementById('shown').textContent, "
            "document.querySelectorAll('#utterances tbody tr:not([hidden])').length]; })()")
        browser.evaluate("(function () { var f = document.getElementById('f-wer'); "
                         "f.value = ''; f.dispatchEvent(new Event('input')); })()")
        shot = browser.screenshot(tmp_path / "report.png")
        log = browser.log
    elapsed = time.monotonic() - started
    assert log.errors == []
    requests = [u for u in log.requests if not u.startswith("data:") and u != page.as_uri()]
    assert requests == [], "the page made requests"
    assert rows == len(report["utterances"]) == 5
    assert players == 5  # the five worst: every clip of the smoke set, inline
    assert hostile == 1  # the hypothesis' <script> stayed text
    ranked = sorted(report["utterances"], key=lambda u: -u["wer"])
    assert worst == ranked[0]["id"]
    wrong = sum(u["wer"] >= 0.01 for u in report["utterances"])
    assert shown == [str(wrong), wrong]
    assert wrong == 2
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert elapsed < 15
    if os.environ.get("ASRBENCH_SCREENSHOT_DIR"):
        target = Path(os.environ["ASRBENCH_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, target / "html-report.png")
        shutil.copy(page, target / "html-report.html")
