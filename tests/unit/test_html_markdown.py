"""The HTML page and the Markdown summary, rendered from a report: rows, figures, escaping, audio."""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from asrbench.reporting.html import render_html, write_html
from asrbench.reporting.html_media import AudioFiles, find_audio
from asrbench.reporting.markdown import render_markdown, write_markdown
from sample_report import sample_report  # type: ignore[import-not-found]

SMOKE = Path(__file__).parents[2] / "fixtures" / "audio"


class Page(HTMLParser):
    """Rows (data attributes and cell texts) of every table with an id; tags and attributes seen."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[dict[str, str], list[str]]]] = {}
        self.tags: list[tuple[str, dict[str, str]]] = []
        self._table: str | None = None
        self._in_body = False
        self._cell: list[str] | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.append((tag, found))
        if tag == "table" and "id" in found and self._table is None:
            self._table = found["id"]
            self.tables[self._table] = []
        elif self._table is not None and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.tables[self._table].append((found, []))  # type: ignore[index]
        elif self._in_body and tag == "td" and self._cell is None:
            self._cell = []
            self._depth = 0
        elif self._cell is not None and tag == "td":
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            if self._depth:
                self._depth -= 1
                return
            self.tables[self._table][-1][1].append("".join(self._cell).strip())  # type: ignore[index]
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table" and self._cell is None:
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    return page


@pytest.fixture
def report() -> dict[str, Any]:
    return sample_report()


def _rate(errors: dict[str, int]) -> float:
    return (errors["substitutions"] + errors["deletions"] + errors["insertions"]) / errors[
        "reference_tokens"]


def test_every_utterance_is_a_row_with_the_reports_figures(report):
    page = parse(render_html(report, audio=AudioFiles()))
    rows = page.tables["utterances"]
    assert len(rows) == len(report["utterances"]) == 3
    for (data, cells), u in zip(rows, report["utterances"], strict=True):
        assert (data["data-id"], data["data-model"], data["data-dataset"]) == (
            u["id"], u["model"], u["dataset"])
        wer = _rate(u["word_errors"])  # from the counts, not from the report's wer field
        assert float(data["data-wer"]) == pytest.approx(wer)
        assert cells[4] == f"{100 * wer:.1f}"
        assert cells[5] == f"{100 * _rate(u['char_errors']):.1f}"
        e = u["word_errors"]
        assert cells[6] == f"{e['substitutions']}/{e['deletions']}/{e['insertions']}"
        assert cells[7] == f"{u['latency'] / u['audio_seconds']:.3f}"


def test_the_alignment_marks_as_many_errors_as_the_report_counts(report):
    text = render_html(report, audio=AudioFiles())
    body = text.split('<table id="utterances">', 1)[1].split("</table>", 1)[0]
    rows = body.split("<tr ")[1:]
    for row, u in zip(rows, report["utterances"], strict=True):
        e = u["word_errors"]
        assert row.count('class="op-s"') == e["substitutions"]
        assert row.count('class="op-d"') == e["deletions"]
        assert row.count('class="op-i"') == e["insertions"]
    # "he was not an ill disposed young man" → "he was an ill posed young man": not deleted, S
    assert '<span class="op-d" title="deletion"><del>not</del></span>' in rows[1]
    assert '<del>disposed</del> <ins>posed</ins>' in rows[1]


def test_the_run_table_states_the_reports_figures(report):
    page = parse(render_html(report, audio=AudioFiles()))
    [(_, cells)] = page.tables["runs"]
    run = report["runs"][0]
    rows = report["utterances"]
    words = {k: sum(u["word_errors"][k] for u in rows) for k in rows[0]["word_errors"]}
    chars = {k: sum(u["char_errors"][k] for u in rows) for k in rows[0]["char_errors"]}
    spent, audio = sum(u["latency"] for u in rows), sum(u["audio_seconds"] for u in rows)
    assert cells[:4] == [run["model"], "cpu", "set", "3"]
    assert cells[5] == f"{100 * _rate(words):.2f}" == "8.00"
    assert cells[6] == f"{100 * run['wer_ci95'][0]:.2f}–{100 * run['wer_ci95'][1]:.2f}"
    assert cells[7] == f"{100 * _rate(chars):.2f}"
    assert cells[8] == f"{spent / audio:.3f}"
    assert cells[9] == f"{audio / spent:.1f}"
    assert cells[12] == "0.500"  # first call
    assert cells[14] == "300 MiB RSS"
    assert cells[15] == "float32"


def test_hostile_text_is_escaped_everywhere(report):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    report["utterances"][0]["hypothesis"] = hostile
    report["utterances"][0]["normalised_hypothesis"] = hostile
    report["runs"][0]["identity"]["options"] = {"note": hostile}
    report["skipped"] = [{"model": "m<b>", "device": "cuda", "reason": hostile}]
    report["failures"] = [{"id": "x", "model": "m", "device": "cpu", "dataset": "set",
                           "error_type": "AudioError", "message": hostile, "audio": None}]
    text = render_html(report, audio=AudioFiles())
    assert text.count("<script") == 1  # ours, at the end
    assert "<img src=x" not in text
    assert "onerror=alert(1)>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    page = parse(text)
    assert page.tables["skipped"][0][1] == ["m<b>", "cuda", hostile]
    assert hostile in page.tables["failures"][0][1][5]


def test_the_page_fetches_nothing(report):
    text = render_html(report, audio=AudioFiles())
    page = parse(text)
    for tag, attrs in page.tags:
        for name in ("src", "href", "data", "poster"):
            if name in attrs:
                assert attrs[name].startswith("data:"), (tag, attrs[name][:60])
    assert not re.search(r"url\(|@import|https?://", text.split("<body>", 1)[0])
    assert "default-src 'none'" in text


class Inline(HTMLParser):
    """Every inline script and style element's text, and every attribute that would run or style."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.blocks: list[tuple[str, str]] = []
        self.risky: list[tuple[str, str]] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.risky += [(tag, k) for k, _ in attrs if k == "style" or k.startswith("on")]
        if tag in ("script", "style"):
            self._open = tag
            self.blocks.append((tag, ""))

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            tag, text = self.blocks[-1]
            self.blocks[-1] = (tag, text + data)


def test_the_policy_allows_the_pages_own_script_and_style_by_hash_and_nothing_else(report):
    text = render_html(report, audio=AudioFiles())
    [policy] = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-hashes'" not in policy
    assert directives["default-src"] == ["'none'"]
    page = Inline()
    page.feed(text)
    assert page.risky == []  # no style= or on...= attribute: the policy would block it
    assert [tag for tag, _ in page.blocks] == ["style", "script"]
    for tag, body in page.blocks:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert directives[f"{tag}-src"] == [f"'sha256-{digest}'"]
    assert directives["img-src"] == ["data:"]
    assert directives["media-src"] == ["data:", "blob:"]


def test_the_worst_utterances_have_their_audio_inline(report):
    clip = SMOKE / "austen-0880.flac"
    audio = AudioFiles({("set", "two"): clip}, {"set": "audio not available: test says so"})
    text = render_html(report, audio=audio, worst=2)
    worst = text.split("<h2>Worst utterances</h2>", 1)[1].split("<h2>", 1)[0]
    # "two" has the only errors: first; then one of the perfect ones, without audio
    assert worst.count('<div class="worst">') == 2
    others = [worst.index(f"set/{uid}") for uid in ("one", "three") if f"set/{uid}" in worst]
    assert len(others) == 1
    assert worst.index("set/two") < others[0]
    [uri] = re.findall(r'<audio controls preload="none" src="([^"]+)"', worst)
    assert uri.startswith("data:audio/flac;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == clip.read_bytes()
    assert "audio not available: test says so" in worst


def test_audio_is_found_from_the_datasets_manifest(report, tmp_path):
    report["datasets"][0]["source"] = str(SMOKE / "smoke.jsonl")
    report["datasets"][0]["name"] = "smoke"
    found = find_audio(report)
    assert found.paths[("smoke", "austen-0880")] == (SMOKE / "austen-0880.flac").resolve()
    assert found.why_missing("smoke", "austen-0880") is None
    report["datasets"][0]["source"] = str(tmp_path / "gone.jsonl")
    assert "not a file or folder on this machine" in find_audio(report).why_missing("smoke", "x")


def test_audio_from_a_link_out_of_the_dataset_folder_is_not_inlined_unless_allowed(report,
                                                                                   tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "private.flac").write_bytes((SMOKE / "austen-0880.flac").read_bytes())
    (data / "two.flac").symlink_to(tmp_path / "private.flac")  # added after the run, say
    (data / "set.jsonl").write_text('{"audio": "two.flac", "text": "x"}\n')
    report["datasets"][0]["source"] = str(data / "set.jsonl")
    refused = find_audio(report)
    assert refused.paths == {}
    assert f"through a symbolic link (to {tmp_path / 'private.flac'})" in str(
        refused.why_missing("set", "two"))
    page = render_html(report, audio=refused, worst=3)
    assert "data:audio/" not in page
    allowed = find_audio(report, allow_outside_paths=True)
    assert allowed.paths == {("set", "two"): tmp_path / "private.flac"}
    assert "data:audio/flac;base64," in render_html(report, audio=allowed, worst=3)


def test_cost_plot_only_with_cost_figures(report):
    page = render_html(report, audio=AudioFiles())
    assert "Accuracy against speed</figcaption>" in page
    assert "this report has no cost figures" in page
    costed = copy.deepcopy(report)
    costed["runs"][0]["core_hours_per_audio_hour"] = 0.15
    page = render_html(costed, audio=AudioFiles())
    assert "Accuracy against cost (core_hours_per_audio_hour)</figcaption>" in page
    assert "no cost figures" not in page
    assert parse(page).tables["runs"][0][1][-1] == "0.1500"


def test_absent_figures_and_an_incomplete_run(report):
    report["complete"] = False
    report["runs"][0]["rtfx"] = None
    report["runs"][0].pop("memory_bytes")
    page = render_html(report, audio=AudioFiles())
    assert "did not finish" in page
    assert "no run has both a WER and an RTFx" in page
    cells = parse(page).tables["runs"][0][1]
    assert cells[9] == "–"
    assert cells[14] == "–"


def test_disclosure_shows_machine_software_and_settings(report):
    page = render_html(report, audio=AudioFiles())
    disclosure = page.split("<h2>Disclosure</h2>", 1)[1]
    for text in ("bench-host", "jiwer", "threads_source", "measured_rounds", "model_hash",
                 "4922f22dab0a", "/nowhere/set.jsonl"):
        assert text in disclosure


def test_write_html_and_markdown(report, tmp_path):
    html_path = write_html(report, tmp_path / "out" / "r.html", audio=AudioFiles())
    md_path = write_markdown(report, tmp_path / "out" / "r.md")
    assert html_path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert md_path.read_text(encoding="utf-8") == render_markdown(report)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["r.html", "r.md"]


def test_markdown_table_states_the_reports_figures(report):
    report["runs"][0]["model"] = "stub:a|b"
    report["skipped"] = [{"model": "m", "device": "cuda", "reason": "CUDA is not available"}]
    text = render_markdown(report)
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| model"))
    assert lines[header + 1].count("|") == lines[header].count("|")
    row = lines[header + 2]
    cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
    assert len(cells) == lines[header].count("|") - 1
    run = report["runs"][0]
    assert cells[:4] == [r"stub:a\|b", "cpu", "set", "3"]
    assert cells[4] == f"{100 * _rate(run['word_errors']):.2f}"
    assert cells[6] == f"{100 * _rate(run['char_errors']):.2f}"
    assert cells[7] == f"{run['rtf']:.3f}"
    assert cells[8] == f"{run['rtfx']:.1f}"
    assert cells[12] == "300 MiB RSS"
    assert "- m / cuda: CUDA is not available" in lines
