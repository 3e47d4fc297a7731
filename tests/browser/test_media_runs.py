"""Browser acceptance test of a cancelled bulk download in the dashboard (headless Debian Chromium against the
live media stack: media sandbox, orchestrator, media-downloader and gateway as real processes).

A full bulk download is cancelled while segments are still queued and one waits to retry, then a test-mode run
completes after it. The media page shows the latest run and lists both in its run picker, so the cancelled run
is not hidden: picked, it shows its segments as cancelled and none queued, processing or retrying. Its job page
offers "Resume" for exactly those segments; the resumed run says which items it runs. Screenshots of the
cancelled run go to ``artifacts/browser/media-cancelled-bulk-download.png`` and
``artifacts/browser/job-cancelled-bulk-download.png``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio
from playwright.async_api import Page, expect

from skillstream_contracts.media_queries import KIND_BULK_DOWNLOAD
from skillstream_testing.jobstack import job_ended, poll_job
from skillstream_testing.mediastack import MediaStack, media_stack

from .conftest import PageWatch

CATALOGUE = {"courses": 3, "segments": 60, "min_bytes": 4096, "max_bytes": 8192, "seed": 5, "hostile": False}
ENV = {"MEDIA_RETRY_DELAYS": "60,60,60,60,60", "MEDIA_RETRY_JITTER": "0"}
TIMEOUT = 60_000  # ms


@pytest_asyncio.fixture
async def media(nats_url: str, database_url: str, tmp_path: Path) -> AsyncIterator[MediaStack]:
    async with media_stack(nats_url, database_url, tmp_path, media_env=ENV) as s:
        yield s


async def _cancelled_then_test_run(stack: MediaStack) -> tuple[dict[str, Any], str]:
    """A full run cancelled with segments queued and one waiting to retry, then a completed test-mode run:
    the cancelled run's ended detail, and the test run's job id."""
    videos = await stack.videos()
    await stack.set_faults(latency_ms=150, script={videos[min(videos)]: ["500"] * 20})
    async with stack.client() as client:
        r = await client.post("/api/jobs", json={"kind": KIND_BULK_DOWNLOAD, "parameters": {}})
        job_id = r.raise_for_status().json()["job"]["job_id"]
        await poll_job(
            client, job_id, lambda d: d["progress"]["succeeded"] >= 5 and d["progress"]["retrying"] >= 1, 120
        )
        (await client.post(f"/api/jobs/{job_id}/cancel")).raise_for_status()
        cancelled = await poll_job(client, job_id, job_ended, 120)
        await stack.set_faults()
        r = await client.post("/api/jobs", json={"kind": KIND_BULK_DOWNLOAD, "parameters": {"test_mode": True}})
        test_id = r.raise_for_status().json()["job"]["job_id"]
        await poll_job(client, test_id, job_ended, 120)
    return cancelled, test_id


async def _sign_in(page: Page, stack: MediaStack) -> None:
    await page.goto(stack.gateway.url + "/")
    await page.get_by_test_id("signin-token").fill(stack.token("admin"))
    await page.get_by_test_id("signin-submit").click()
    await expect(page.get_by_test_id("signed-in-as")).to_contain_text("test-admin")


async def _shoot(page: Page, path: Path) -> None:
    path.unlink(missing_ok=True)
    await page.screenshot(path=str(path), full_page=True, animations="disabled")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), f"{path.name} is not a PNG file"


async def test_a_cancelled_bulk_download_is_listed_shows_cancelled_segments_and_resumes(
    media: MediaStack, new_page: Callable[[], Awaitable[PageWatch]], artifacts_dir: Path
) -> None:
    await media.set_catalogue(**CATALOGUE)
    cancelled, test_id = await _cancelled_then_test_run(media)
    job_id, unrun = cancelled["job"]["job_id"], cancelled["progress"]["cancelled"]
    assert cancelled["job"]["status"] == "cancelled"
    assert unrun > 0

    watch = await new_page()
    page = watch.page
    await _sign_in(page, media)
    await page.goto(media.gateway.url + "/#/media")
    progress = page.get_by_test_id("media-progress")
    await expect(progress.get_by_test_id("media-status")).to_have_attribute("data-status", "completed")
    await expect(progress.get_by_test_id("media-test-tag")).to_be_visible()  # the latest run: test mode

    # Both runs are listed; picking the cancelled one shows it, its unrun segments cancelled.
    runs = page.get_by_test_id("media-runs")
    await expect(runs.locator("option")).to_have_count(2)
    await expect(runs).to_have_value(test_id)
    await runs.select_option(job_id)
    await expect(progress.get_by_test_id("media-status")).to_have_attribute("data-status", "cancelled")
    await expect(progress.get_by_test_id("media-test-tag")).to_be_hidden()
    await expect(progress.get_by_test_id("count-cancelled")).to_have_attribute("data-value", str(unrun))
    for name in ("queued", "processing", "retrying"):
        await expect(progress.get_by_test_id(f"count-{name}")).to_have_attribute("data-value", "0")
    await _shoot(page, artifacts_dir / "media-cancelled-bulk-download.png")

    # Its job page offers to resume exactly the segments it did not run.
    await progress.get_by_role("link", name="Open the job").click()
    await expect(page).to_have_url(re.compile(rf"#/jobs/{job_id}$"))
    resume = page.get_by_test_id("resume-job")
    await expect(resume).to_have_text(f"Resume {unrun:,} items not run", timeout=TIMEOUT)
    await expect(page.get_by_test_id("count-cancelled")).to_have_attribute("data-value", str(unrun))
    await _shoot(page, artifacts_dir / "job-cancelled-bulk-download.png")
    await resume.click()
    await expect(page).not_to_have_url(re.compile(rf"#/jobs/{job_id}$"))
    await expect(page.get_by_test_id("only-items")).to_contain_text(f"Runs only {unrun:,} items")
    await expect(page.get_by_test_id("job-status")).to_have_attribute("data-status", "completed", timeout=TIMEOUT)
    watch.assert_clean()
