"""Browser acceptance test of the dashboard: headless Debian Chromium (Playwright) against the live stack
(real orchestrator and gateway processes, NATS JetStream, PostgreSQL, the test-only ``test.items`` kind).

Signs in with a pasted token, starts a job from the start form, watches the progress bar and the counters
advance live to the exact final counts, and saves screenshots to ``artifacts/browser/``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from playwright.async_api import Locator, Page, expect

from skillstream_testing.jobstack import JobStack

from .conftest import PageWatch

COMPLETION_TIMEOUT = 60_000  # ms

# Recorded in the page, before the dashboard's own scripts run: every value the job page's progress bar and
# counters take, with the status shown at that moment. Only the job page (".job-page") counts; the rows of
# the job list carry the same test ids.
RECORDER = """
(() => {
  const log = [];
  window.__progress = log;
  const WATCHED = new Set(['progress-bar', 'count-succeeded', 'count-failed', 'count-skipped']);
  const record = (el) => {
    const testid = el.getAttribute('data-testid');
    if (!WATCHED.has(testid) || !el.closest('.job-page')) return;
    const value = testid === 'progress-bar' ? el.getAttribute('aria-valuenow') : el.getAttribute('data-value');
    if (value == null) return;
    const status = document.querySelector('.job-page [data-testid="job-status"]');
    log.push({ testid, value: Number(value), status: status ? status.getAttribute('data-status') : null });
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
  }).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow', 'data-value'],
  });
})();
"""


def _sse(watch: PageWatch, since: int) -> list[str]:
    return watch.sse_paths()[since:]


def _running_values(log: list[dict[str, Any]], testid: str) -> list[float]:
    return [e["value"] for e in log if e["testid"] == testid and e["status"] == "running"]


def _assert_advances(values: list[float], final: float, what: str) -> None:
    """Never goes back, and shows at least five distinct values strictly between 0 and ``final``."""
    assert values == sorted(values), f"{what} went backwards: {values}"
    between = sorted({v for v in values if 0 < v < final})
    assert len(between) >= 5, f"{what} did not visibly advance while running: {values}"


async def _rendered_fill(bar: Locator, within: float = 5.0) -> float:
    """The share of the bar's track its coloured segments cover once their width transition settles."""
    deadline = time.monotonic() + within
    while True:
        fill = float(
            await bar.evaluate(
                "el => [...el.children].reduce((sum, seg) => sum + seg.getBoundingClientRect().width, 0)"
                " / el.getBoundingClientRect().width"
            )
        )
        if fill >= 0.99 or time.monotonic() > deadline:
            return fill
        await asyncio.sleep(0.1)


async def _screenshot(page: Page, path: Path) -> None:
    await page.screenshot(path=str(path), full_page=True, animations="disabled")


async def _sign_in_with_token(page: Page, stack: JobStack) -> None:
    await page.goto(stack.gateway.url + "/")
    token = page.get_by_test_id("signin-token")
    await expect(token).to_be_visible()
    await expect(page).to_have_title("Sign in · Skillstream")
    await token.fill(stack.token("admin"))
    await page.get_by_test_id("signin-submit").click()
    signed_in = page.get_by_test_id("signed-in-as")
    await expect(signed_in).to_contain_text("test-admin")
    await expect(signed_in).to_contain_text("admin")


async def test_dashboard_job_progress_and_sign_in(
    stack: JobStack, new_page: Callable[[], Awaitable[PageWatch]], artifacts_dir: Path
) -> None:
    """Both sign-in paths on one live stack (each stack costs seconds to start and stop), each in a fresh
    browser context: the admin's token and job first, then a dev login that must not see the admin's job."""
    job_id = await _token_sign_in_start_job_and_watch_it(stack, await new_page(), artifacts_dir)
    await _dev_login_and_sign_out(stack, await new_page(), job_id)


async def _token_sign_in_start_job_and_watch_it(stack: JobStack, watch: PageWatch, artifacts_dir: Path) -> str:
    page = watch.page
    await page.add_init_script(RECORDER)
    await _sign_in_with_token(page, stack)

    # The job list (the default page): live over exactly one connection to the all-jobs stream.
    await expect(page.get_by_role("heading", name="Jobs", level=1)).to_be_visible()
    await expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "live")
    assert watch.sse_paths() == ["/api/events"]

    # Start a test.items job from the form generated from the kind's parameter schema.
    form = page.get_by_test_id("start-job-form")
    await expect(form).to_be_visible()
    await page.get_by_test_id("start-job-kind").select_option("test.items")
    await form.locator("input[name=count]").fill("40")
    await form.locator("textarea[name=fail]").fill("3")
    await form.locator("textarea[name=skip]").fill("5")
    await form.locator("input[name=delay]").fill("0.1")
    before_job_page = len(watch.sse)
    started = time.monotonic()
    await page.get_by_test_id("start-job-submit").click()

    # The page goes to the new job's page, which follows the job over its own one-job stream.
    await expect(page).to_have_url(re.compile(r"#/jobs/[0-9a-f]{32}$"))
    job_id = unquote(urlsplit(page.url).fragment.rsplit("/", 1)[-1])
    bar = page.get_by_test_id("progress-bar")
    status = page.get_by_test_id("job-status")
    await expect(bar).to_be_visible()
    await expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "live")
    await expect(status).to_have_attribute("data-status", "completed", timeout=COMPLETION_TIMEOUT)
    await expect(status).to_have_text("Completed")
    elapsed = time.monotonic() - started

    # Exact final counts on the page.
    for name, value in {"succeeded": 38, "failed": 1, "skipped": 1, "queued": 0, "processing": 0}.items():
        await expect(page.get_by_test_id(f"count-{name}")).to_have_attribute("data-value", str(value))
    await expect(bar).to_have_attribute("aria-valuenow", "100")
    await expect(bar).to_have_attribute("aria-valuetext", re.compile(r"^100% — 40 of 40 items$"))
    assert await _rendered_fill(bar) >= 0.99, "the job page's bar is not drawn full"
    errors = page.get_by_test_id("error-row")
    await expect(errors).to_have_count(1)
    await expect(errors).to_contain_text("item-0003")
    await expect(errors).to_contain_text("item-0003 failed on purpose")
    await expect(page.get_by_test_id("retry-failed")).to_have_text("Retry 1 failed item")
    await expect(page.get_by_test_id("cancel-job")).to_be_hidden()

    # The bar and the counters advanced live, in steps, while the job ran.
    log: list[dict[str, Any]] = await page.evaluate("window.__progress")
    _assert_advances(_running_values(log, "progress-bar"), 100, f"the progress bar ({elapsed:.1f}s job)")
    _assert_advances(_running_values(log, "count-succeeded"), 38, f"the succeeded counter ({elapsed:.1f}s job)")
    assert [e["value"] for e in log if e["testid"] == "count-failed"][-1] == 1
    assert [e["value"] for e in log if e["testid"] == "count-skipped"][-1] == 1

    # The form sent the parameters it showed (arrays of strings from the text areas).
    async with stack.client() as c:
        detail = (await c.get(f"/api/jobs/{job_id}")).json()
    assert detail["job"]["parameters"] == {"count": 40, "fail": ["3"], "skip": ["5"], "delay": 0.1, "groups": 2}
    assert detail["job"]["requested_by"] == "test-admin"

    # One SSE connection for the job page, and the job list's was closed on leaving it.
    assert _sse(watch, before_job_page) == [f"/api/jobs/{job_id}/events"]
    assert [c.path for c in watch.open_sse()] == [f"/api/jobs/{job_id}/events"]
    assert watch.max_open_sse == 1

    await _screenshot(page, artifacts_dir / "dashboard-job.png")

    # Back to the job list: the job is there, completed, with the same counts.
    before_list = len(watch.sse)
    await page.get_by_role("link", name="← All jobs").click()
    await expect(page).to_have_url(re.compile(r"#/jobs$"))
    row = page.locator(f'[data-testid="job-row"][data-job-id="{job_id}"]')
    await expect(row).to_have_attribute("data-status", "completed")
    await expect(row.get_by_test_id("count-succeeded")).to_have_attribute("data-value", "38")
    await expect(row.get_by_test_id("count-failed")).to_have_attribute("data-value", "1")
    await expect(row.get_by_test_id("count-skipped")).to_have_attribute("data-value", "1")
    await expect(row.get_by_test_id("progress-bar")).to_have_attribute("aria-valuenow", "100")
    assert await _rendered_fill(row.get_by_test_id("progress-bar")) >= 0.99, "the job row's bar is not drawn full"
    await expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "live")
    assert _sse(watch, before_list) == ["/api/events"]
    assert [c.path for c in watch.open_sse()] == ["/api/events"]
    assert watch.max_open_sse == 1
    await _screenshot(page, artifacts_dir / "dashboard-jobs.png")

    watch.assert_clean()
    return job_id


async def _dev_login_and_sign_out(stack: JobStack, watch: PageWatch, admin_job: str) -> None:
    page = watch.page
    await page.goto(stack.gateway.url + "/")
    await expect(page.get_by_test_id("signin-token")).to_be_visible()
    # Submitting without a token is refused in the page, without a request.
    await page.get_by_test_id("signin-submit").click()
    await expect(page.get_by_test_id("signin-problem")).to_contain_text("Paste a token first.")

    await page.get_by_test_id("dev-login-role").select_option("training_officer")
    await page.get_by_test_id("dev-login").click()
    signed_in = page.get_by_test_id("signed-in-as")
    await expect(signed_in).to_contain_text("dev-training_officer")
    # A training officer follows jobs but may not start them, and sees only its own (none, not the admin's).
    await expect(page.get_by_text("Your roles let you follow jobs but not start them")).to_be_visible()
    await expect(page.get_by_test_id("start-job-form")).to_have_count(0)
    await expect(page.get_by_text("No jobs yet")).to_be_visible()
    await expect(page.locator(f'[data-testid="job-row"][data-job-id="{admin_job}"]')).to_have_count(0)
    await expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "live")
    assert watch.sse_paths() == ["/api/events"]

    # The session is the HttpOnly cookie: a reload stays signed in, over a fresh single stream.
    await page.reload()
    await expect(signed_in).to_contain_text("dev-training_officer")
    await expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "live")
    assert watch.sse_paths() == ["/api/events", "/api/events"]
    cookies = await page.context.cookies(stack.gateway.url)
    session = [c for c in cookies if c["name"] == "skillstream_session"]
    assert len(session) == 1
    assert session[0]["httpOnly"] is True
    assert session[0]["sameSite"] == "Strict"

    await page.get_by_test_id("sign-out").click()
    await expect(page.get_by_test_id("signin-token")).to_be_visible()
    await expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert watch.open_sse() == []
    assert not [c for c in await page.context.cookies(stack.gateway.url) if c["name"] == "skillstream_session"]

    watch.assert_clean()
