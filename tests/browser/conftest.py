"""Fixtures of the browser acceptance tests: the live job stack and a headless Debian Chromium driven by
Playwright, with a watch on the page's console, JavaScript exceptions and server-sent-event connections.

Chromium is Debian's ``/usr/bin/chromium`` (installed by the project's own bootstrap / CI script), not a
browser downloaded by Playwright. Without it the tests fail, they never skip.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, ConsoleMessage, Page, Request, async_playwright

from skillstream_testing.jobstack import JobStack, job_stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}

SSE_PATH = re.compile(r"^/api/(?:events|jobs/[^/]+/events)$")
"""The dashboard's two server-sent-event routes: every job, one job."""

# Chromium logs every non-2xx response as a console error; the dashboard makes some on purpose (the
# signed-out GET /auth/session answers 401). Those lines are not errors of the page.
_RESOURCE_ERROR = re.compile(r"^Failed to load resource: the server responded with a status of \d+")


@dataclass
class SseConnection:
    url: str
    path: str
    opened_at: float
    closed_at: float | None = None


@dataclass
class PageWatch:
    """What a page did that a test checks besides the DOM: console errors, uncaught exceptions, SSE."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    sse: list[SseConnection] = field(default_factory=list)
    max_open_sse: int = 0
    _by_request: dict[int, SseConnection] = field(default_factory=dict)

    def attach(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.page_errors.append(f"{error.name}: {error.message}"))
        self.page.on("request", self._on_request)
        self.page.on("requestfinished", self._on_request_end)
        self.page.on("requestfailed", self._on_request_end)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not _RESOURCE_ERROR.match(message.text):
            self.console_errors.append(f"{message.text} ({message.location.get('url', '?')})")

    def _on_request(self, request: Request) -> None:
        path = urlsplit(request.url).path
        if not SSE_PATH.match(path):
            return
        conn = SseConnection(request.url, path, time.monotonic())
        self.sse.append(conn)
        self._by_request[id(request)] = conn
        self.max_open_sse = max(self.max_open_sse, len(self.open_sse()))

    def _on_request_end(self, request: Request) -> None:
        conn = self._by_request.pop(id(request), None)
        if conn is not None:
            conn.closed_at = time.monotonic()

    def open_sse(self) -> list[SseConnection]:
        return [c for c in self.sse if c.closed_at is None]

    def sse_paths(self) -> list[str]:
        return [c.path for c in self.sse]

    def assert_clean(self) -> None:
        """No uncaught JavaScript exception and no console error (besides deliberate non-2xx answers)."""
        assert not self.page_errors, f"JavaScript exceptions on the page: {self.page_errors}"
        assert not self.console_errors, f"console errors on the page: {self.console_errors}"


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. Run `make bootstrap` "
            "(CI installs it through .ci/run) and run the tests again.",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def artifacts_dir(request: pytest.FixtureRequest) -> Path:
    """``artifacts/browser`` at the repository root (gitignored; CI keeps it)."""
    path = Path(request.config.rootpath) / "artifacts" / "browser"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest_asyncio.fixture
async def stack(nats_url: str, database_url: str, tmp_path: Path) -> AsyncIterator[JobStack]:
    async with job_stack(nats_url, database_url, tmp_path) as s:
        yield s


@pytest_asyncio.fixture
async def browser(chromium: Path, tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """A headless Chromium with a fresh profile (no cookies, no cache) of its own."""
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
            locale="en-AU",
            timezone_id="Australia/Sydney",
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            await context.close()


@pytest_asyncio.fixture
async def watch(
    browser: BrowserContext, artifacts_dir: Path, request: pytest.FixtureRequest
) -> AsyncIterator[PageWatch]:
    """A page of ``browser`` under watch; on a failing test its screenshot goes to the artifacts."""
    page = browser.pages[0] if browser.pages else await browser.new_page()
    w = PageWatch(page)
    w.attach()
    yield w
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and not page.is_closed():
        await page.screenshot(path=str(artifacts_dir / f"failed-{request.node.name}.png"), full_page=True)
