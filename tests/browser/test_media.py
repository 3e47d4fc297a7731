"""Browser acceptance test of the dashboard's media library: headless Debian Chromium (Playwright)
against the live media stack (the media sandbox's catalogue API and signed-URL CDN, orchestrator,
media-downloader and gateway as real processes, NATS JetStream, PostgreSQL).

An administrator signs in with a pasted token and opens ``#/media``: the summary shows the library's courses
and downloadable segments as the sandbox's catalogue API lists them. "Download all courses" asks for
confirmation; in test mode the job downloads one course (the first with a downloadable segment, seed 001's
``?test=true``), and the page follows it over its job's event stream to the end: the overall counters and the
course's row show exactly that course's segments downloaded, the files are on disk, and the page's one event
stream closes. A training officer (no ``media.manage``) gets "Not allowed" and no download button. The
screenshot goes to ``artifacts/browser/media.png``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio
from playwright.async_api import Page, expect

from skillstream_testing.mediastack import MediaStack, media_stack

from .conftest import PageWatch

JOB_TIMEOUT = 120_000  # ms: planning the course and downloading its segments from the sandbox CDN
# A small library whose files are slowed a little by the CDN, so the bar and the counters move visibly.
CATALOGUE = {"courses": 3, "segments": 60, "min_bytes": 4096, "max_bytes": 16384, "hostile": False}
CDN_LATENCY_MS = 30
VIDEO_PREFIX = "mp4:"

# Recorded in the page before the dashboard's scripts run: every value the media page's overall "succeeded"
# counter takes, so the test can check that it only ever grows (whatever the timing of the updates).
RECORDER = """
(() => {
  const log = [];
  window.__succeeded = log;
  const record = (el) => {
    if (el.getAttribute('data-testid') !== 'count-succeeded' || !el.closest('[data-testid="media-progress"]')) return;
    const value = el.getAttribute('data-value');
    if (value != null) log.push(Number(value));
  };
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === 'attributes') record(m.target);
      else for (const node of m.addedNodes) {
        if (node.nodeType !== 1) continue;
        record(node);
        for (const el of node.querySelectorAll('[data-testid]')) record(el);
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-value'] });
})();
"""


@dataclass(frozen=True)
class Library:
    """The sandbox library as the downloader counts it: ``downloadable`` maps a course id to its number of
    segments with a video (``mp4:<path>``), for the courses that have at least one; ``titles`` maps course ids
    to titles."""

    downloadable: dict[int, int]
    titles: dict[int, str]

    @property
    def courses(self) -> int:
        return len(self.downloadable)

    @property
    def segments(self) -> int:
        return sum(self.downloadable.values())

    @property
    def first_course(self) -> int:
        """The course a test-mode download picks: the lowest id with a downloadable segment."""
        return min(self.downloadable)


@pytest_asyncio.fixture
async def media(nats_url: str, database_url: str, tmp_path: Path) -> AsyncIterator[MediaStack]:
    async with media_stack(nats_url, database_url, tmp_path) as s:
        yield s


async def _library(stack: MediaStack) -> Library:
    """Every page of the sandbox's catalogue API and every course document (the numbers the page must show)."""
    downloadable: dict[int, int] = {}
    titles: dict[int, str] = {}
    for course in await stack.courses():
        n = sum(
            1
            for channel in course["channels"]
            for segment in channel["segments"]
            if segment["video"].startswith(VIDEO_PREFIX) and len(segment["video"]) > len(VIDEO_PREFIX)
        )
        if n:
            downloadable[course["id"]] = n
            titles[course["id"]] = course["title"]
    return Library(downloadable, titles)


async def _sign_in(page: Page, stack: MediaStack, role: str) -> None:
    await page.goto(stack.gateway.url + "/")
    await expect(page.get_by_test_id("signin-token")).to_be_visible()
    await page.get_by_test_id("signin-token").fill(stack.token(role))
    await page.get_by_test_id("signin-submit").click()
    await expect(page.get_by_test_id("signed-in-as")).to_contain_text(f"test-{role}")


async def _eventually(check: Callable[[], bool], what: str, within: float = 15.0) -> None:
    """Wait until ``check()`` holds (checked every 50 ms), failing with ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"still not true after {within} s: {what}"
        await asyncio.sleep(0.05)


async def test_media_library_test_mode_download(
    media: MediaStack, new_page: Callable[[], Awaitable[PageWatch]], artifacts_dir: Path
) -> None:
    await media.set_catalogue(**CATALOGUE)
    await media.set_faults(latency_ms=CDN_LATENCY_MS)
    library = await _library(media)
    assert library.courses >= 1, "the sandbox catalogue has no downloadable segment"
    first = library.first_course
    expected = library.downloadable[first]

    watch = await new_page()
    page = watch.page
    await page.add_init_script(RECORDER)
    await _sign_in(page, media, "admin")

    # The admin has media.manage: the navigation offers the media library.
    await page.get_by_test_id("nav-media").click()
    await expect(page).to_have_url(re.compile(r"#/media$"))
    await expect(page.get_by_role("heading", name="Media library", level=1)).to_be_visible()

    # The summary counts what the catalogue API lists: courses with a video, and their video segments.
    summary = page.get_by_test_id("media-summary")
    await expect(summary.get_by_test_id("media-stat-courses")).to_have_text(f"{library.courses:,}")
    await expect(summary.get_by_test_id("media-stat-segments")).to_have_text(f"{library.segments:,}")
    await expect(summary.get_by_test_id("media-stat-downloaded")).to_have_text("0")
    await expect(page.get_by_test_id("media-none")).to_contain_text("No bulk download yet")
    await expect(page.get_by_test_id("media-progress")).to_be_hidden()

    # "Download all courses" asks first, naming the whole library; test mode is off until ticked.
    download = page.get_by_test_id("media-download-all")
    await expect(download).to_be_enabled()
    await download.click()
    dialog = page.get_by_test_id("media-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("heading", name="Download all courses?")).to_be_visible()
    await expect(dialog.get_by_test_id("media-confirm-what")).to_contain_text(
        f"Every course of the library: {library.courses:,} courses, {library.segments:,} segments"
    )
    test_mode = dialog.get_by_test_id("media-test-mode")
    await expect(test_mode).not_to_be_checked()
    await dialog.get_by_label("Test mode: one course").check()
    await expect(test_mode).to_be_checked()
    await dialog.get_by_test_id("media-confirm").click()
    await expect(dialog).to_be_hidden()

    # The page follows the job live: tagged as a test-mode download, no second download while it runs.
    progress = page.get_by_test_id("media-progress")
    await expect(progress).to_be_visible()
    await expect(page.get_by_text("Bulk download queued: one course (test mode)")).to_be_visible()
    await expect(progress.get_by_test_id("media-test-tag")).to_be_visible()
    await expect(page.get_by_test_id("media-none")).to_be_hidden()

    # To its end: every segment of the first course downloaded, nothing failed or skipped.
    await expect(progress.get_by_test_id("media-status")).to_have_attribute(
        "data-status", "completed", timeout=JOB_TIMEOUT
    )
    await expect(progress.get_by_test_id("count-succeeded")).to_have_attribute("data-value", str(expected))
    for name in ("queued", "processing", "failed", "skipped"):
        await expect(progress.get_by_test_id(f"count-{name}")).to_have_attribute("data-value", "0")
    await expect(progress.get_by_test_id("progress-bar")).to_have_attribute("aria-valuenow", "100")
    await expect(progress).to_contain_text(f"{expected:,} of {expected:,} segments")
    await expect(download).to_be_enabled()

    # One row, the first course's, completed with its counts and (once fetched) its catalogue title.
    table = page.get_by_test_id("media-course-table")
    rows = table.get_by_test_id("media-course-row")
    await expect(rows).to_have_count(1)
    row = table.locator(f'[data-testid="media-course-row"][data-course-id="{first}"]')
    await expect(row).to_have_attribute("data-state", "completed")
    await expect(row.get_by_test_id("media-course-state")).to_have_text("Completed")
    await expect(row.get_by_test_id("media-course-title")).to_have_text(library.titles[first])
    await expect(row.get_by_test_id("media-course-total")).to_have_attribute("data-value", str(expected))
    await expect(row.get_by_test_id("media-course-succeeded")).to_have_attribute("data-value", str(expected))
    await expect(row.get_by_test_id("media-course-failed")).to_have_attribute("data-value", "0")
    await expect(row.get_by_test_id("media-course-skipped")).to_have_attribute("data-value", "0")
    await expect(page.get_by_test_id("media-course-count")).to_have_text("1 course")

    # The summary is read again at the end: the course's segments are now downloaded.
    await expect(summary.get_by_test_id("media-stat-downloaded")).to_have_text(f"{expected:,}")

    screenshot = artifacts_dir / "media.png"
    screenshot.unlink(missing_ok=True)
    await page.screenshot(path=str(screenshot), full_page=True, animations="disabled")
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), "the screenshot is not a PNG file"

    # The service agrees with the page, and the files are on disk.
    async with media.client() as client:
        status = (await client.get("/truefire-courses/bulk-download-status")).raise_for_status().json()
    assert status["status"] == "completed"
    assert status["test_mode"] is True
    assert status["requested_by"] == "test-admin"
    assert [c["course_id"] for c in status["course_details"]] == [first]
    assert status["counts"]["succeeded"] == expected
    assert len(media.files()) == expected

    # The succeeded counter only grew, to the exact count; the page's one event stream closed at the end.
    seen: list[int] = await page.evaluate("window.__succeeded")
    assert seen, "the succeeded counter was never rendered"
    assert seen == sorted(seen), f"the succeeded counter went backwards: {seen}"
    assert seen[-1] == expected
    await expect(page.get_by_test_id("live-state")).to_be_hidden()
    assert watch.max_open_sse == 1
    await _eventually(lambda: not watch.open_sse(), "the job's event stream is closed")
    watch.assert_clean()

    # Without media.manage (a training officer): no navigation entry, and the page says it is not allowed.
    officer = await new_page()
    await _sign_in(officer.page, media, "training_officer")
    await expect(officer.page.get_by_test_id("nav-media")).to_have_count(0)
    await officer.page.goto(media.gateway.url + "/#/media")
    await expect(officer.page.get_by_role("alert").filter(has_text="Not allowed")).to_be_visible()
    await expect(officer.page.get_by_test_id("media-download-all")).to_have_count(0)
    await expect(officer.page.get_by_test_id("media-summary")).to_have_count(0)
    officer.assert_clean()
