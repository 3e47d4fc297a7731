"""Fixtures of the browser acceptance tests: the live job stack and a headless Debian Chromium driven by
Playwright, with a watch on the page's console, JavaScript exceptions and server-sent-event connections.

Chromium is Debian's ``/usr/bin/chromium`` (installed by ``make browser``, which ``make test`` and CI run), not
a browser downloaded by Playwright. Without it the tests fail, they never skip.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Request, async_playwright

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
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. Install it with `make browser` "
            "(deploy/install-browser.sh; `make test` and CI's .ci/run do it first), then run the tests again.",
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
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """A headless Chromium; each ``new_context()`` of it is a fresh profile (no cookies, no cache)."""
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest_asyncio.fixture
async def new_page(
    browser: Browser, artifacts_dir: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[[], Awaitable[PageWatch]]]:
    """Opens a page under watch in a context of its own (1280x800); on a failing test every page's
    screenshot goes to the artifacts."""
    contexts: list[BrowserContext] = []
    watches: list[PageWatch] = []

    async def open_page() -> PageWatch:
        context = await browser.new_context(viewport=VIEWPORT, locale="en-AU", timezone_id="Australia/Sydney")
        context.set_default_timeout(15_000)
        contexts.append(context)
        w = PageWatch(await context.new_page())
        w.attach()
        watches.append(w)
        return w

    yield open_page
    report = getattr(request.node, "report_call", None)
    for n, w in enumerate(watches, 1):
        if report is not None and report.failed and not w.page.is_closed():
            await w.page.screenshot(path=str(artifacts_dir / f"failed-{request.node.name}-{n}.png"), full_page=True)
    for context in contexts:
        await context.close()
