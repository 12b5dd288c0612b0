"""The HTML report's content security policy in a real headless browser: the page's own script and
style sheet run (it sorts, filters and plays audio), and markup that slipped past an escape does not.

The second guard is tested without the first: the page is rendered through the same template with
escaping switched off, so an injected ``<script>``, ``onerror=`` and ``style=`` reach the page as
markup; the policy must stop all three. The same page under a policy that allows inline script is
the control: there the injection runs, so the check can tell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from asrbench.reporting import html as html_page
from asrbench.reporting.html import write_html
from asrbench.reporting.html_assets import CSP
from asrbench.reporting.html_media import AudioFiles
from headless import Browser, require_chromium  # type: ignore[import-not-found]
from sample_report import sample_report  # type: ignore[import-not-found]

CLIP = Path(__file__).parents[2] / "fixtures" / "audio" / "austen-0880.flac"
INJECTED = ('<script>window.pwned = "script";</script>'
            '<img id="bait" alt="" src="data:," onerror="window.pwned = &quot;handler&quot;;">'
            '<b id="styled" style="display: none">styled</b>')
#: What the report allowed before its policy named hashes: inline script and style of any origin.
OLD_CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
           "img-src data:; media-src data:")


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_chromium()  # skips naming what to install, or fails under ASRBENCH_REQUIRE_BROWSER


def _report() -> dict[str, Any]:
    report = sample_report()
    report["utterances"][1]["hypothesis"] = INJECTED
    return report


def _audio() -> AudioFiles:
    return AudioFiles({("set", uid): CLIP for uid in ("one", "two", "three")})


def _injection(browser: Browser) -> dict[str, Any]:
    result: dict[str, Any] = browser.evaluate(
        "({scripts: document.querySelectorAll('body script').length, "
        "bait: !!document.getElementById('bait'), pwned: window.pwned || null, "
        "display: (function (el) { return el ? getComputedStyle(el).display : null; })"
        "(document.getElementById('styled'))})")
    return result


def test_the_page_sorts_filters_and_plays_audio_under_its_policy(chromium, tmp_path):
    page = write_html(_report(), tmp_path / "report.html", audio=_audio(), worst=3)
    assert "'unsafe-inline'" not in page.read_text()
    with Browser(chromium, tmp_path / "profile") as browser:
        browser.open(page.as_uri())
        ids = "Array.from(document.querySelectorAll('#utterances tbody tr')).map(r => r.dataset.id)"
        before = browser.evaluate(ids)
        sorted_ids = browser.evaluate(
            "(function () { var th = document.querySelector('th[data-key=wer]'); th.click(); "
            f"th.click(); return {ids}; }})()")
        shown = browser.evaluate(
            "(function () { var f = document.getElementById('f-wer'); f.value = '1'; "
            "f.dispatchEvent(new Event('input')); "
            "return document.getElementById('shown').textContent; })()")
        # as if the reader pressed play (browsers play only after a user gesture)
        played = browser.call(
            "Runtime.evaluate", session=browser.session, userGesture=True, awaitPromise=True,
            returnByValue=True, expression=(
                "new Promise(function (done) { var a = document.querySelector('audio'); "
                "a.play().then(function () { setTimeout(function () { done({time: a.currentTime, "
                "duration: a.duration, error: a.error && a.error.code}); }, 600); }, "
                "function (e) { done({failed: String(e)}); }); })"))["result"]["value"]
        injected = _injection(browser)
        log = browser.log
    assert log.errors == []  # nothing refused: the page's own script and style sheet are allowed
    assert [u for u in log.requests if not u.startswith("data:") and u != page.as_uri()] == []
    assert before == ["one", "two", "three"]
    assert sorted_ids == ["two", "one", "three"]  # "two" alone has errors; ties keep their order
    assert shown == "1"
    assert played.get("error", "failed") is None, played
    assert played["duration"] == pytest.approx(2.99, abs=0.02)
    assert played["time"] > 0.1, played
    assert injected == {"scripts": 1, "bait": False, "pwned": None, "display": None}


def test_markup_that_escaped_escaping_runs_nothing(chromium, tmp_path, monkeypatch):
    monkeypatch.setattr(html_page, "escape", lambda text, quote=True: text)
    page = write_html(_report(), tmp_path / "report.html", audio=_audio(), worst=3)
    monkeypatch.setattr(html_page, "CSP", OLD_CSP)
    control = write_html(_report(), tmp_path / "control.html", audio=_audio(), worst=3)
    with Browser(chromium, tmp_path / "profile") as browser:
        browser.open(page.as_uri())
        injected = _injection(browser)
        sorts = browser.evaluate(
            "(function () { document.querySelector('th[data-key=wer]').click(); "
            "return document.querySelector('th[data-key=wer]').classList.contains('asc'); })()")
        refused = browser.log.errors
        browser.open(control.as_uri())
        ran = _injection(browser)
    # the markup is in the page, unescaped, twice (texts of the row and of the worst utterance)
    assert injected["scripts"] == 3
    assert injected["bait"] is True
    assert injected["pwned"] is None  # neither the script nor the onerror handler ran
    assert injected["display"] == "inline"  # the style= attribute was not applied
    assert sorts is True  # the page's own script still runs, allowed by its hash
    for blocked in ("inline script", "inline event handler", "inline style"):
        # Chromium's wording: "Executing inline script violates ..." (older: "Refused to ...")
        assert any(blocked in e and "violates" in e for e in refused), (blocked, refused)
    assert CSP.split("; ")[1].startswith("script-src 'sha256-")
    # the control: the same page allowing inline script runs the injection, so the check can tell
    assert ran["pwned"] in ("script", "handler")
    assert ran["display"] == "none"
