"""Headless Debian Chromium for tests, driven with Selenium through /usr/bin/chromedriver.

Each browser gets a fresh profile directory, the flags of a quiet headless
run (no first-run UI, no background network, no component updates), and
records two things a page must never produce:

- console errors: Chromium's browser log at level SEVERE (``console.error``,
  uncaught exceptions, failed loads, CSP refusals);
- Content-Security-Policy violations: every ``securitypolicyviolation``
  event, recorded by a script installed before any page script runs (via
  the DevTools protocol, so the page's own CSP does not apply to it).

Selenium is synchronous; :class:`AsyncBrowser` runs each call in a worker
thread so that a server running in the test's event loop keeps serving.

Usage::

    async with async_chromium(tmp_path / "profile") as browser:
        await browser.open(base_url + "/")
        await browser.wait_for("return document.body.dataset.state === 'complete'", timeout_s=60)
        assert await browser.console_errors() == []
        await browser.screenshot(tmp_path / "page.png")
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

__all__ = ["CHROMEDRIVER", "CHROMIUM", "AsyncBrowser", "Browser", "async_chromium", "chromium"]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)

_RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push({
    directive: event.violatedDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
  });
});
"""


class Browser:
    """One headless Chromium window (synchronous; see :class:`AsyncBrowser`)."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver
        self._log: list[dict[str, Any]] = []

    def open(self, url: str) -> None:
        """Load ``url`` and wait for its ``load`` event."""
        self.driver.get(url)

    def run(self, script: str, *args: Any) -> Any:
        """Run ``script`` (a function body: ``return ...``) in the page; returns its result."""
        return self.driver.execute_script(script, *args)

    def wait_for(self, script: str, *, timeout_s: float, poll_s: float = 0.1) -> Any:
        """Poll ``script`` until it returns a truthy value; returns that value.

        Raises:
            selenium.common.exceptions.TimeoutException: not truthy within ``timeout_s``.
        """
        return WebDriverWait(self.driver, timeout_s, poll_frequency=poll_s).until(lambda d: d.execute_script(script))

    def log(self) -> list[dict[str, Any]]:
        """Every browser log entry so far (``level``, ``message``, ``source``, ``timestamp``)."""
        self._log.extend(self.driver.get_log("browser"))  # type: ignore[no-untyped-call]
        return list(self._log)

    def console_errors(self) -> list[dict[str, Any]]:
        """Browser log entries at level SEVERE so far."""
        return [entry for entry in self.log() if entry.get("level") == "SEVERE"]

    def csp_violations(self) -> list[dict[str, Any]]:
        """Every ``securitypolicyviolation`` of the current page so far."""
        return list(self.run("return window.__cspViolations || []"))

    def screenshot(self, path: Path) -> Path:
        """Save a PNG of the whole page at ``path`` (parents created); returns ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        height = self.run("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
        width = self.run("return document.documentElement.clientWidth")
        self.driver.set_window_size(max(int(width), 800), min(int(height) + 100, 8000))
        self.driver.save_screenshot(str(path))
        return path


@contextmanager
def chromium(profile_dir: Path, *, width: int = 1280, height: int = 1000) -> Iterator[Browser]:
    """A headless Chromium with a fresh profile in ``profile_dir``, closed after the block.

    Raises:
        RuntimeError: Chromium or chromedriver is not installed (make test installs them).
    """
    for binary in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(binary) is None:
            raise RuntimeError(f"{binary} is not installed (make test installs it)")
    profile_dir.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in _FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER, log_output=str(profile_dir / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _RECORD_VIOLATIONS})
        yield Browser(driver)
    finally:
        driver.quit()


class AsyncBrowser:
    """:class:`Browser` with every call run in a worker thread (awaitable)."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser

    async def open(self, url: str) -> None:
        await asyncio.to_thread(self.browser.open, url)

    async def run(self, script: str, *args: Any) -> Any:
        return await asyncio.to_thread(self.browser.run, script, *args)

    async def wait_for(self, script: str, *, timeout_s: float, poll_s: float = 0.1) -> Any:
        return await asyncio.to_thread(self.browser.wait_for, script, timeout_s=timeout_s, poll_s=poll_s)

    async def console_errors(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.browser.console_errors)

    async def csp_violations(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.browser.csp_violations)

    async def screenshot(self, path: Path) -> Path:
        return await asyncio.to_thread(self.browser.screenshot, path)


@asynccontextmanager
async def async_chromium(profile_dir: Path, *, width: int = 1280, height: int = 1000) -> AsyncIterator[AsyncBrowser]:
    """:func:`chromium` for async tests: started and closed in worker threads."""
    manager = chromium(profile_dir, width=width, height=height)
    browser = await asyncio.to_thread(manager.__enter__)
    try:
        yield AsyncBrowser(browser)
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)
