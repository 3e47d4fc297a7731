"""Browser acceptance test of the dashboard's TGA catalogue: headless Debian Chromium (Playwright) against the
live TGA stack (the TGA sandbox serving ``shared/real-data/tga``, orchestrator, tga-ingest and gateway as real
processes, NATS JetStream, PostgreSQL).

An administrator signs in with the dev login, loads the empty catalogue from TGA with the page's own refresh
button, searches the training packages for BSB, downloads it from the table, follows the download job to its
end on the job page, and reads unit BSBCMM412 on its page (the first element and its first performance
criterion as the real file writes them) and qualification BSB41419 on its page (core units and elective groups
as its Packaging Rules list them); then a qualification of the package that the real data holds no XML file
for, shown as metadata only (with the reason) in the list, its filter, the stats strip and its page.
Screenshots go to ``artifacts/browser/catalogue.png``, ``unit.png`` and ``catalogue-metadata-only.png``.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest_asyncio
from playwright.async_api import Page, expect

from skillstream_runtime.realdata import real_data
from skillstream_testing.tgastack import TgaStack, tga_stack

from .conftest import PageWatch

JOB_TIMEOUT = 120_000  # ms: the refresh and the BSB package download against the sandbox
UNIT = "BSBCMM412"
UNIT_FILE = ("tga", "units", "BSBCMM412_XML.xml")
# The first row of the "Elements and Performance Criteria" table of BSBCMM412_XML.xml (SOURCES.md §1:
# BSB\BSBCMM412_Complete_R2.xml), as the file writes them: <p>1. Prepare for conversation </p> in the element
# cell, <p>1.1 Identify conversational requirements</p> first in the criteria cell. The page shows the number
# without its dot and the text without the trailing space (PerformanceCriterion / Element in
# skillstream_contracts.tga); test_real_file_has_them ties these strings to the file.
FIRST_ELEMENT = ("1", "Prepare for conversation")
FIRST_CRITERION = ("1.1", "Identify conversational requirements")
UNIT_TITLE = "Lead difficult conversations"
QUALIFICATION = "BSB41419"
QUALIFICATION_FILE = ("tga", "qualifications", "BSB41419_XML.xml")
# The Packaging Rules of BSB41419_XML.xml (SOURCES.md §2: BSB\BSB41419_R2.xml): "Core units", then "Elective
# units" in "Group A" and "Group B", one <p id="4">CODE Title</p> per unit; test_real_file_has_them reads them
# back from the file.
CORE_UNITS = ("BSBWHS412", "BSBWHS413", "BSBWHS414", "BSBWHS415", "BSBWHS416")
GROUP_A = ("BSBINS401", "BSBWHS417", "BSBWHS418", "BSBWHS419", "BSBWHS431", "BSBWRT411")
GROUP_B_COUNT = 11
# A BSB qualification only the catalogue dump lists (catalogue/vet_qualifications.sql.gz: tpCode BSB,
# "Certificate IV in Work Health and Safety"): qualifications/ holds no XML file for it, so TGA (the sandbox)
# lists no release file and it is downloaded as metadata only.
BARE_QUALIFICATION = "BSB41415"
UNKNOWN_PACKAGE = "NOPE99"  # in no file of real-data/tga: the sandbox answers GetDetails with a NotFound fault
NO_CONTENT_FILE = "TGA lists no content file"
# The first words of the Qualification Description topic of BSB41419_XML.xml.
QUALIFICATION_DESCRIPTION = "This qualification applies to individuals working in a work health and safety"


@pytest_asyncio.fixture
async def tga(nats_url: str, database_url: str, tmp_path: Path) -> AsyncIterator[TgaStack]:
    async with tga_stack(nats_url, database_url, tmp_path) as s:
        yield s


def test_real_file_has_them() -> None:
    """The expected strings are the real file's, not the parser's output copied back."""
    text = real_data(*UNIT_FILE).read_text(encoding="utf-8")
    assert f'<p id="93">{FIRST_ELEMENT[0]}. {FIRST_ELEMENT[1]} </p>' in text
    first_row = text.index(f"{FIRST_ELEMENT[0]}. {FIRST_ELEMENT[1]}")
    criteria = re.findall(r"<p id=\"93\">(\d+\.\d+) ([^<]*)</p>", text[first_row:])
    assert criteria[0] == FIRST_CRITERION
    assert f"<Description>{UNIT} {UNIT_TITLE} (Release 2)</Description>" in text

    rules = real_data(*QUALIFICATION_FILE).read_text(encoding="utf-8")
    core_at = rules.index('<cs id="24">Core units</cs>')
    group_a_at = rules.index('<cs id="24">Group A</cs>', core_at)
    group_b_at = rules.index('<cs id="24">Group B</cs>', group_a_at)
    end = rules.index("</Text>", group_b_at)
    codes = re.compile(r'<p id="4">([A-Z0-9]{6,12}) ')
    assert tuple(codes.findall(rules, core_at, group_a_at)) == CORE_UNITS
    assert tuple(codes.findall(rules, group_a_at, group_b_at)) == GROUP_A
    assert len(codes.findall(rules, group_b_at, end)) == GROUP_B_COUNT
    assert QUALIFICATION_DESCRIPTION in rules

    assert not (real_data("tga", "qualifications") / f"{BARE_QUALIFICATION}_XML.xml").exists()
    dump = gzip.decompress(real_data("tga", "catalogue", "vet_qualifications.sql.gz").read_bytes()).decode()
    assert f"'BSB', '{BARE_QUALIFICATION}', 'Certificate IV in Work Health and Safety'" in dump


async def _screenshot(page: Page, path: Path) -> None:
    await page.screenshot(path=str(path), full_page=True, animations="disabled")


async def _dev_login(page: Page, gateway_url: str, role: str) -> None:
    await page.goto(gateway_url + "/")
    await expect(page.get_by_test_id("signin-token")).to_be_visible()
    await page.get_by_test_id("dev-login-role").select_option(role)
    await page.get_by_test_id("dev-login").click()
    await expect(page.get_by_test_id("signed-in-as")).to_contain_text(f"dev-{role}")


async def test_catalogue_refresh_download_and_unit_page(
    tga: TgaStack, new_page: Callable[[], Awaitable[PageWatch]], artifacts_dir: Path
) -> None:
    watch = await new_page()
    page = watch.page
    await _dev_login(page, tga.gateway_url, "admin")

    # The admin has catalogue.manage: the navigation offers the catalogue.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalogue").click()
    await expect(page).to_have_url(re.compile(r"#/catalogue/training-packages$"))
    await expect(page.get_by_role("heading", name="TGA catalogue", level=1)).to_be_visible()
    await expect(page.get_by_role("tab", name="Training packages")).to_have_attribute("aria-selected", "true")

    # Nothing fetched yet: the page offers the refresh job and follows it to its end.
    await expect(page.get_by_test_id("catalogue-not-loaded")).to_contain_text("Catalogue not loaded")
    await page.get_by_role("button", name="Refresh from TGA").click()
    rows = page.get_by_test_id("catalogue-row")
    await expect(rows.first).to_be_visible(timeout=JOB_TIMEOUT)
    await expect(page.get_by_test_id("catalogue-not-loaded")).to_be_hidden()
    # The sandbox lists the 59 training packages of catalogue/data.txt (its module docstring, SOURCES.md §3).
    await expect(page.get_by_test_id("catalogue-count")).to_have_text(re.compile(r"^1–50 of 59 training packages$"))

    # Search (debounced) narrows the table to the one package whose code or title holds "BSB".
    await page.get_by_label("Search code or title").fill("BSB")
    await expect(rows).to_have_count(1)
    bsb = page.locator('[data-testid="catalogue-row"][data-code="BSB"]')
    await expect(bsb).to_contain_text("Business Services Training Package")
    await expect(bsb.get_by_test_id("usage-status")).to_have_text("Current")
    await expect(page).to_have_url(re.compile(r"#/catalogue/training-packages\?search=BSB$"))

    download = page.get_by_test_id("catalogue-download")
    await expect(download).to_be_disabled()
    await bsb.get_by_role("checkbox", name="Select BSB").check()
    await expect(download).to_have_text("Download selected (1)")
    await download.click()

    # The package download job's page, live, to its end.
    await expect(page).to_have_url(re.compile(r"#/jobs/[0-9a-f]{32}$"))
    job_id = page.url.rsplit("/", 1)[-1]
    status = page.get_by_test_id("job-status")
    await expect(status).to_have_attribute("data-status", "completed", timeout=JOB_TIMEOUT)
    await expect(page.get_by_test_id("progress-bar")).to_have_attribute("aria-valuenow", "100")
    async with tga.client() as c:
        detail = (await c.get(f"/api/jobs/{job_id}")).json()
    assert detail["job"]["kind"] == "tga.download-packages"
    assert detail["job"]["parameters"]["codes"] == ["BSB"]
    assert detail["job"]["requested_by"] == "dev-admin"

    # The units tab, filtered to the package, marks BSBCMM412 downloaded and links it to its page.
    await page.goto(tga.gateway_url + "/#/catalogue/units?package=BSB&downloaded=true")
    unit_row = page.locator(f'[data-testid="catalogue-row"][data-code="{UNIT}"]')
    await expect(unit_row).to_have_attribute("data-downloaded", "true")
    await expect(unit_row.get_by_test_id("catalogue-failure")).to_have_text("")
    await expect(page.get_by_test_id("stat-units")).not_to_have_text("0")
    await _screenshot(page, artifacts_dir / "catalogue.png")
    await unit_row.get_by_role("link", name=UNIT).click()

    # The unit page: header, then the elements table with the real file's numbering and text.
    await expect(page).to_have_url(re.compile(rf"#/units/{UNIT}$"))
    await expect(page.get_by_test_id("component-title")).to_have_text(f"{UNIT} {UNIT_TITLE}")
    await expect(page.get_by_test_id("unit-format")).to_have_text("2012 format")
    first = page.get_by_test_id("element").first
    await expect(first.get_by_test_id("element-number")).to_have_text(FIRST_ELEMENT[0])
    await expect(first.get_by_test_id("element-title")).to_have_text(FIRST_ELEMENT[1])
    criterion = first.get_by_test_id("criterion").first
    await expect(criterion.get_by_test_id("criterion-number")).to_have_text(FIRST_CRITERION[0])
    await expect(criterion.get_by_test_id("criterion-text")).to_have_text(FIRST_CRITERION[1])
    # A 2012 unit: performance evidence and foundation skills are there, the pre-2012 sections are not.
    await expect(page.get_by_test_id("performance-evidence")).to_be_visible()
    await expect(page.get_by_test_id("foundation-skills")).to_be_visible()
    await expect(page.get_by_test_id("critical-aspects")).to_have_count(0)
    await _screenshot(page, artifacts_dir / "unit.png")

    # The package's qualification: its core units and elective groups as the Packaging Rules list them.
    await page.goto(tga.gateway_url + f"/#/qualifications/{QUALIFICATION}")
    await expect(page.get_by_test_id("component-code")).to_have_text(QUALIFICATION)
    core = page.get_by_test_id("core-units").get_by_test_id("qualification-unit")
    await expect(core).to_have_count(len(CORE_UNITS))
    assert [await row.get_attribute("data-code") for row in await core.all()] == list(CORE_UNITS)
    group_a = page.locator('[data-testid="elective-group"][data-group="Group A"]')
    await expect(group_a.get_by_role("heading")).to_have_text(f"Group A ({len(GROUP_A)})")
    await expect(group_a.get_by_test_id("qualification-unit")).to_have_count(len(GROUP_A))
    group_b = page.locator('[data-testid="elective-group"][data-group="Group B"]')
    await expect(group_b.get_by_test_id("qualification-unit")).to_have_count(GROUP_B_COUNT)

    # A qualification the package lists but the real data holds no XML file for (BSB41415 is a row of
    # catalogue/vet_qualifications.sql.gz only): downloaded as metadata only, and the page says why.
    await page.goto(tga.gateway_url + f"/#/catalogue/qualifications?search={BARE_QUALIFICATION}")
    bare = page.locator(f'[data-testid="catalogue-row"][data-code="{BARE_QUALIFICATION}"]')
    await expect(bare).to_have_attribute("data-state", "metadata_only")
    await expect(bare).to_have_attribute("data-downloaded", "true")
    await expect(bare.get_by_test_id("catalogue-state")).to_contain_text("Metadata only")
    await expect(bare.get_by_test_id("catalogue-metadata-only-reason")).to_contain_text(NO_CONTENT_FILE)
    await expect(bare.get_by_test_id("catalogue-failure")).to_have_text("")
    # The full one beside it is processed, with its description.
    await page.get_by_label("Search code or title").fill("BSB414")
    full = page.locator(f'[data-testid="catalogue-row"][data-code="{QUALIFICATION}"]')
    await expect(full).to_have_attribute("data-state", "downloaded")
    await expect(full.get_by_test_id("catalogue-description")).to_contain_text(QUALIFICATION_DESCRIPTION)
    await expect(bare).to_have_attribute("data-state", "metadata_only")
    # The state filter keeps the metadata-only ones; the stats strip counts the same number and links there.
    await page.get_by_label("Search code or title").fill("")
    await page.get_by_label("State", exact=True).select_option("metadata_only")
    await expect(page).to_have_url(re.compile(r"#/catalogue/qualifications\?state=metadata_only$"))
    async with tga.client() as c:
        r = await c.get("/api/qualifications/available", params={"state": "metadata_only", "page_size": 500})
        listed = r.json()["total"]
    assert listed > 50  # BSB lists many more dump qualifications than it has files for
    await expect(page.get_by_test_id("catalogue-count")).to_have_text(f"1–50 of {listed} qualifications")
    metadata_only = page.get_by_test_id("stat-metadata-only")
    await expect(metadata_only).to_have_text(str(listed))
    await expect(metadata_only).to_have_attribute("href", "#/catalogue/qualifications?state=metadata_only")
    states = await page.get_by_test_id("catalogue-row").evaluate_all("rows => rows.map(r => r.dataset.state)")
    assert set(states) == {"metadata_only"}, states
    await page.get_by_label("Search code or title").fill(BARE_QUALIFICATION)
    await expect(page.get_by_test_id("catalogue-row")).to_have_count(1)
    await expect(bare.get_by_test_id("catalogue-metadata-only-reason")).to_be_visible()
    await _screenshot(page, artifacts_dir / "catalogue-metadata-only.png")
    # Its page: no description or packaging rules, and the notice says why.
    await page.goto(tga.gateway_url + f"/#/qualifications/{BARE_QUALIFICATION}")
    await expect(page.get_by_test_id("qualification-metadata-only")).to_contain_text(NO_CONTENT_FILE)
    await expect(page.get_by_test_id("packaging-rules")).to_have_count(0)

    # A download of a code TGA does not know fails; the Failures card opens the failed components, each with
    # its code, kind and reason, linked to its row in the catalogue.
    async with tga.client() as c:
        r = await c.post("/api/training-packages/bulk-download", json={"codes": [UNKNOWN_PACKAGE]})
        await tga.wait_job(c, r.json()["job"]["job_id"])
    await page.goto(tga.gateway_url + "/#/catalogue/training-packages")
    await expect(page.get_by_test_id("stat-failures")).to_have_text("1")
    await page.get_by_test_id("stat-failures").click()
    failed = page.get_by_test_id("catalogue-failures").get_by_test_id("failed-item")
    await expect(failed).to_have_count(1)
    await expect(failed).to_have_attribute("data-code", UNKNOWN_PACKAGE)
    await expect(failed).to_have_attribute("data-kind", "download")
    await expect(failed.get_by_test_id("failed-reason")).to_contain_text(UNKNOWN_PACKAGE)
    await failed.get_by_role("link", name=UNKNOWN_PACKAGE).click()
    failed_row = rf"#/catalogue/training-packages\?search={UNKNOWN_PACKAGE}&state=failed$"
    await expect(page).to_have_url(re.compile(failed_row))
    unknown = page.locator(f'[data-testid="catalogue-row"][data-code="{UNKNOWN_PACKAGE}"]')
    await expect(unknown).to_have_attribute("data-state", "failed")
    await expect(unknown.get_by_test_id("catalogue-failure")).to_contain_text("Download failed")

    # At most one event stream at a time (the refresh's, then the job page's), and a clean console.
    assert watch.max_open_sse == 1
    watch.assert_clean()

    # Without catalogue.manage (a training officer): no navigation entry, and the page says it is not allowed.
    officer = await new_page()
    await _dev_login(officer.page, tga.gateway_url, "training_officer")
    await expect(officer.page.get_by_test_id("nav-catalogue")).to_have_count(0)
    await officer.page.goto(tga.gateway_url + "/#/catalogue")
    await expect(officer.page.get_by_role("alert").filter(has_text="Not allowed")).to_be_visible()
    await expect(officer.page.get_by_test_id("catalogue-row")).to_have_count(0)
    officer.assert_clean()
