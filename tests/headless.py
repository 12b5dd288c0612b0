"""A headless Chromium driven over the DevTools protocol, for the HTML report's browser test.

The protocol runs over a pipe (``--remote-debugging-pipe``: JSON messages ended by a NUL byte on the
browser's file descriptors 3 and 4), so it needs nothing beyond the standard library: no websocket
client, no port. The page's console errors, uncaught exceptions and every request it starts are
recorded while it loads and runs.

Without a browser on PATH, :func:`require_chromium` skips the test with one line naming what is
missing and how to get it; ``ASRBENCH_REQUIRE_BROWSER=1`` (set by ``.ci/run``) turns that skip into
a failure, so CI still proves the page in a real browser.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = ["FLAGS", "NO_BROWSER", "REQUIRE_BROWSER", "Browser", "PageLog", "browser_required",
           "find_chromium", "require_chromium"]

#: Headless, no sandbox (CI runs as root in a container), and nothing the browser fetches on its own.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars",
         "--disable-default-apps", "--disable-extensions", "--remote-debugging-pipe")


def find_chromium() -> str | None:
    """Debian's ``chromium`` (or Google's build) on PATH, or ``None``."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


#: The environment variable that makes a missing browser a failure rather than a skip.
REQUIRE_BROWSER = "ASRBENCH_REQUIRE_BROWSER"
#: The skip reason: what is missing and how to get it (tests/conftest.py allows this skip).
NO_BROWSER = ("no headless browser on PATH (chromium, chromium-browser or google-chrome): "
              "apt install chromium, or on a Mac brew install --cask chromium")


def browser_required() -> bool:
    """Whether ``ASRBENCH_REQUIRE_BROWSER`` is set to something other than empty or ``0``."""
    return os.environ.get(REQUIRE_BROWSER, "").strip() not in ("", "0")


def require_chromium() -> str:
    """The browser to drive; without one, skip with :data:`NO_BROWSER`, or fail when
    ``ASRBENCH_REQUIRE_BROWSER`` is set (CI must not pass without the page having run)."""
    found = find_chromium()
    if found is not None:
        return found
    if browser_required():
        pytest.fail(f"{NO_BROWSER} ({REQUIRE_BROWSER}=1 requires one)", pytrace=False)
    pytest.skip(NO_BROWSER)


@dataclass
class PageLog:
    """What a page did: console errors and exceptions (as text), and the URLs it requested."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class Browser:
    """One Chromium process with one page; use as a context manager."""

    def __init__(self, executable: str, profile: Path, *, timeout: float = 20.0) -> None:
        self.timeout = timeout
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()
        # the browser reads commands on fd 3 and writes answers on fd 4; the pipe ends are moved
        # above 9 first so that one redirection cannot overwrite the other (bash, not sh: dash
        # reads "3<&12" as "3<&1" followed by an argument "2")
        ends = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_browser, from_browser)]
        os.close(to_browser)
        os.close(from_browser)
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{ends[0]} 4>&{ends[1]}', executable, *FLAGS,
             f"--user-data-dir={profile}", "about:blank"],
            pass_fds=ends, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        for fd in ends:
            os.close(fd)
        self._buffer = b""
        self._next = 0
        self._events: list[dict[str, Any]] = []
        self.log = PageLog()
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.call(f"{domain}.enable", session=self.session)
        self.call("Emulation.setDeviceMetricsOverride", session=self.session, width=1280,
                  height=900, deviceScaleFactor=1, mobile=False)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                self._send("Browser.close", {}, None)
                self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        finally:
            for fd in (self._write, self._read):
                try:
                    os.close(fd)
                except OSError:
                    pass
            if self.process.stderr is not None:
                self.process.stderr.close()

    # -- protocol ---------------------------------------------------------------------------------

    def _send(self, method: str, params: dict[str, Any], session: str | None) -> int:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        return self._next

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._read], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("the browser did not answer in time")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                stderr = self.process.stderr.read().decode(errors="replace") if (
                    self.process.stderr is not None and self.process.poll() is not None) else ""
                raise RuntimeError(f"the browser exited (status {self.process.poll()}): "
                                   f"{stderr[-2000:]}")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        if "method" in message:
            self._record(message)
        return message

    def _record(self, event: dict[str, Any]) -> None:
        method, params = event["method"], event.get("params", {})
        self._events.append(event)
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            self.log.errors.append(f"console.{params['type']}: {args}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            self.log.errors.append(f"uncaught: {text}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.log.errors.append(f"log: {params['entry']['text']}")
        elif method == "Network.requestWillBeSent":
            self.log.requests.append(str(params["request"]["url"]))

    def call(self, method: str, *, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer (events meanwhile are recorded)."""
        ident = self._send(method, params, session)
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._receive(deadline)
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    # -- the page ---------------------------------------------------------------------------------

    def open(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self._events.clear()
        self.log = PageLog()
        self.call("Page.navigate", session=self.session, url=url)
        deadline = time.monotonic() + self.timeout
        while not any(e["method"] == "Page.loadEventFired" for e in self._events):
            self._receive(deadline)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page; a thrown exception raises."""
        out = self.call("Runtime.evaluate", session=self.session, expression=expression,
                        returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in out:
            raise RuntimeError(f"{expression}: {out['exceptionDetails']}")
        return out["result"].get("value")

    def screenshot(self, path: Path, *, max_height: int = 6000) -> Path:
        """A PNG of the whole page (up to ``max_height`` CSS pixels tall)."""
        size = self.call("Page.getLayoutMetrics", session=self.session)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": 1280, "height": min(int(size["height"]), max_height),
                "scale": 1}
        data = self.call("Page.captureScreenshot", session=self.session, format="png", clip=clip,
                         captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path
