"""Browser acceptance test of a pre-2012 unit's page: headless Debian Chromium (Playwright) against the live TGA
stack (the TGA sandbox serving ``shared/real-data/tga``, orchestrator, tga-ingest and gateway as real processes,
NATS JetStream, PostgreSQL).

An administrator downloads units CPCCBC4047A and WRWSL201A (both pre-2012) and reads their required skills:
each entry with its sub-entries as a nested list under its text, three levels deep where the file has them
(CPCCBC4047A "communication skills to:" → "read and interpret:" → "codes and standards"), and WRWSL201A's
"Underpinning knowledge and skills" from its Evidence Guide. The screenshot of CPCCBC4047A's assessment
requirements goes to ``artifacts/browser/unit-pre2012-nested-skills.png``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest_asyncio
from playwright.async_api import Locator, Page, expect

from skillstream_contracts.tga_queries import KIND_DOWNLOAD_UNITS
from skillstream_runtime.realdata import real_data
from skillstream_testing.tgastack import TgaStack, tga_stack

from .conftest import PageWatch

JOB_TIMEOUT = 120  # s: downloading two units from the sandbox
UNIT = "CPCCBC4047A"
# CPCCBC4047A_XML.xml (SOURCES.md §1: CPC08\CPCCBC4047A_R1.xml), Required Skills and Knowledge: a List Bullet
# (p id=13) with seven List Bullet 2 lines (p id=14), the second of them with three List Bullet 3 lines
# (p id=31016). test_real_files_have_them ties the strings to the files.
HEADING = "communication skills to:"
SUB_HEADING = "read and interpret:"
SUB_ENTRIES = 7
DEEPEST = ("codes and standards", "documentation from a variety of sources", "plans, specifications and drawings")
# WRWSL201A_XML.xml (SOURCES.md §1: WRW01\WRWSL201A_R1.xml), Evidence Guide, "Underpinning knowledge and
# skills": plain paragraphs, "Apply techniques covering:" then five lines and an empty paragraph.
WRW = "WRWSL201A"
WRW_HEADING = "Apply techniques covering:"
WRW_ENTRIES = (
    "Verbal and non verbal communications",
    "Questioning/listening/observation",
    "Handling difficult customers",
    "Negotiating",
    "Problem solving",
)


@pytest_asyncio.fixture
async def tga(nats_url: str, database_url: str, tmp_path: Path) -> AsyncIterator[TgaStack]:
    async with tga_stack(nats_url, database_url, tmp_path) as s:
        yield s


def _paragraph(style: str, text: str) -> re.Pattern[str]:
    return re.compile(f'<p id="{style}">{re.escape(text)}\\s*</p>')


def test_real_files_have_them() -> None:
    """The expected strings are the real files' paragraphs, in the order and styles quoted above."""
    cpc = real_data("tga", "units", f"{UNIT}_XML.xml").read_text(encoding="utf-8")
    heading = _paragraph("13", HEADING).search(cpc)
    assert heading is not None
    sub = _paragraph("14", SUB_HEADING).search(cpc, heading.end())
    assert sub is not None
    at = sub.end()
    for text in DEEPEST:
        found = _paragraph("31016", text).search(cpc, at)
        assert found is not None, text
        at = found.end()
    wrw = real_data("tga", "units", f"{WRW}_XML.xml").read_text(encoding="utf-8")
    assert '<cs id="24">Underpinning knowledge and skills</cs>' in wrw
    found = _paragraph("4", WRW_HEADING).search(wrw)
    assert found is not None
    for text in WRW_ENTRIES:
        found = _paragraph("4", text).search(wrw, found.end())
        assert found is not None, text


async def _dev_login(page: Page, gateway_url: str, role: str) -> None:
    await page.goto(gateway_url + "/")
    await page.get_by_test_id("dev-login-role").select_option(role)
    await page.get_by_test_id("dev-login").click()
    await expect(page.get_by_test_id("signed-in-as")).to_contain_text(f"dev-{role}")


def _entry(scope: Locator, text: str) -> Locator:
    """The list item of the entry whose own text is ``text`` (not one of its sub-entries)."""
    own = scope.page.get_by_test_id("required-entry-text").filter(has_text=re.compile(f"^{re.escape(text)}$"))
    return scope.get_by_test_id("required-entry").filter(has=own).last


async def _indent(inner: Locator, outer: Locator) -> float:
    inner_box, outer_box = await inner.bounding_box(), await outer.bounding_box()
    assert inner_box is not None
    assert outer_box is not None
    return inner_box["x"] - outer_box["x"]


async def _section_screenshot(page: Page, section: Locator, path: Path) -> None:
    """The section cut out of a full-page screenshot (an element screenshot scrolls, and the sticky top bar
    then covers the section's top)."""
    await page.evaluate("window.scrollTo(0, 0)")
    box = await section.bounding_box()
    assert box is not None
    await page.screenshot(path=str(path), full_page=True, clip=box, animations="disabled")


async def test_pre_2012_unit_page_shows_required_skills_nested(
    tga: TgaStack, new_page: Callable[[], Awaitable[PageWatch]], artifacts_dir: Path
) -> None:
    async with tga.client() as c:
        detail = await tga.run_job(c, KIND_DOWNLOAD_UNITS, {"codes": [UNIT, WRW]}, within=JOB_TIMEOUT)
    assert detail["job"]["status"] == "completed", detail

    watch = await new_page()
    page = watch.page
    await _dev_login(page, tga.gateway_url, "admin")
    await page.goto(tga.gateway_url + f"/#/units/{UNIT}")
    await expect(page.get_by_test_id("component-code")).to_have_text(UNIT)
    await expect(page.get_by_test_id("unit-format")).to_have_text("Pre-2012 format")

    skills = page.get_by_test_id("required-skills")
    await expect(skills.get_by_role("heading", name="Required skills")).to_be_visible()
    heading = _entry(skills, HEADING)
    await expect(heading).to_have_attribute("data-depth", "1")
    nested = heading.get_by_test_id("required-subentries").first
    await expect(nested).to_be_visible()
    await expect(nested.locator(':scope > [data-testid="required-entry"]')).to_have_count(SUB_ENTRIES)
    sub = _entry(nested, SUB_HEADING)
    await expect(sub).to_have_attribute("data-depth", "2")
    deepest = sub.get_by_test_id("required-subentries")
    await expect(deepest.get_by_test_id("required-entry-text")).to_have_text(list(DEEPEST))
    await expect(deepest.get_by_test_id("required-entry").first).to_have_attribute("data-depth", "3")
    # The nesting shows: each level's text starts further right than its heading's.
    heading_text = heading.get_by_test_id("required-entry-text").first
    sub_text = sub.get_by_test_id("required-entry-text").first
    assert await _indent(sub_text, heading_text) > 10
    assert await _indent(deepest.get_by_test_id("required-entry-text").first, sub_text) > 10
    # A top-level entry without sub-entries has no nested list.
    plain = _entry(skills, "numeracy skills to apply measurements and calculations")
    await expect(plain.get_by_test_id("required-subentries")).to_have_count(0)
    await _section_screenshot(page, page.get_by_test_id("assessment"), artifacts_dir / "unit-pre2012-nested-skills.png")

    # WRWSL201A: the Evidence Guide's "Underpinning knowledge and skills", nested as the file's paragraphs say.
    await page.goto(tga.gateway_url + f"/#/units/{WRW}")
    await expect(page.get_by_test_id("component-code")).to_have_text(WRW)
    wrw = _entry(page.get_by_test_id("required-skills"), WRW_HEADING)
    await expect(wrw.get_by_test_id("required-subentries").get_by_test_id("required-entry-text")).to_have_text(
        list(WRW_ENTRIES)
    )
    await expect(page.get_by_test_id("required-knowledge")).to_contain_text("Product knowledge including:")
    watch.assert_clean()
