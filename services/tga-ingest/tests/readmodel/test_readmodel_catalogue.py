"""The catalogue read model and ``list_available`` / ``get_qualification`` / ``catalogue_stats`` against real
NATS + PostgreSQL. The catalogue is real: the 3,688 qualification rows of ``catalogue/vet_qualifications.sql.gz``
(2016) and the 59 training packages of ``catalogue/data.txt``; downloads are parsed from the real XML files.
Expected values are computed from those inputs or read from the files, never from the read model."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from skillstream_contracts.tga import (
    ComponentDownloadFailed,
    ComponentSuperseded,
    ComponentType,
    PackageDownloaded,
    ParseFailure,
    UnitParseFailed,
    UsageRecommendation,
)
from skillstream_contracts.tga_queries import FailureCount, ListAvailable, QualificationUnit
from skillstream_runtime.errors import CommandRejected
from skillstream_tga_ingest.parser import ParseError, parse_unit
from skillstream_tga_ingest.projections.queries import catalogue_stats, get_qualification, list_available

QUAL = ComponentType.QUALIFICATION
UNIT = ComponentType.UNIT
HOUR = dt.timedelta(hours=1)


def _codes(page: Any) -> list[str]:
    return [item.code for item in page.items]


async def test_list_available_pages_searches_and_filters_the_real_catalogue(tga: Any, real: Any) -> None:
    vet = real.vet_qualifications()
    pages = real.refresh_pages("refresh-q1", QUAL, real.qualification_entries(), 1000)
    assert (len(vet), len(pages)) == (3688, 4)
    for page in pages:
        await tga.append("catalogue", "qualification", page, at=real.t0)
    # BSB41419 (2019) is downloaded but absent from the 2016 catalogue: it must still be listed.
    await tga.append("qualification", "BSB41419", real.qualification_downloaded("BSB41419", "BSB"), at=real.t0 + HOUR)
    await tga.catch_up()

    titles = {q.code: q.title for q in vet}  # a code listed twice keeps its last listing
    titles["BSB41419"] = "Certificate IV in Work Health and Safety"  # BSB41419_XML.xml, Book variable Title
    codes = sorted(titles)  # ASCII codes: Python order is byte order
    assert len(codes) == 3540

    async def page_of(**filters: Any) -> Any:
        return await list_available(tga.pool, ListAvailable(component_type=QUAL, **filters))

    first = await page_of(page_size=500)
    assert (first.total, first.page, first.page_size, first.refreshed_at) == (3540, 1, 500, real.t0)
    assert _codes(first) == codes[:500]
    assert all(i.title == titles[i.code] and not i.downloaded for i in first.items if i.code != "BSB41419")
    assert (first.items[0].code, first.items[0].title) == ("ACM10110", "Certificate I in Animal Studies")  # the dump
    last = await page_of(page=8, page_size=500)
    assert _codes(last) == codes[3500:]
    beyond = await page_of(page=9, page_size=500)
    assert (beyond.items, beyond.total) == ([], 3540)

    downloaded = await page_of(search="bsb41419")
    [item] = downloaded.items
    assert (item.title, item.release, item.training_package) == ("Certificate IV in Work Health and Safety", "2", "BSB")
    assert (item.usage_recommendation, item.downloaded, item.processed) == (UsageRecommendation.CURRENT, True, True)
    assert (item.downloaded_at, item.failure) == (real.t0 + HOUR, None)

    def matching(text: str) -> list[str]:
        low = text.lower()
        return [c for c in codes if low in c.lower() or low in titles[c].lower()]

    assert len(matching("Children's Services")) >= 5  # the dump writes Children''s: the quote is matched
    for text in ("Children's Services", "work health", "BSB414", "%", "_", "\\"):
        found = await page_of(search=text, page_size=500)
        assert _codes(found) == matching(text), text
        assert found.total == len(matching(text))
    assert (await page_of(search="%")).total == 0  # a LIKE wildcard is matched literally

    assert _codes(await page_of(status=UsageRecommendation.CURRENT)) == ["BSB41419"]
    assert (await page_of(status=UsageRecommendation.UNKNOWN)).total == 3539
    assert _codes(await page_of(downloaded=True)) == ["BSB41419"]
    assert (await page_of(downloaded=False)).total == 3539

    # Before the BSB package is downloaded, its components are the codes starting with "BSB".
    bsb_prefix = [c for c in codes if c.startswith("BSB")]
    assert (await page_of(training_package="BSB", page_size=500)).total == len(bsb_prefix)
    # After: exactly the package's components (here: the dump's qualifications listed under package BSB).
    package = next(p for p in real.training_packages() if p["code"] == "BSB")
    bsb = [q.code for q in vet if q.package == "BSB"]
    await tga.append(
        "training_package",
        "BSB",
        PackageDownloaded(
            code="BSB",
            title=package["title"],
            usage_recommendation=UsageRecommendation.CURRENT,
            release_date=dt.date.fromisoformat(package["release_date"]),
            qualification_codes=bsb,
        ),
        at=real.t0 + 2 * HOUR,
    )
    await tga.catch_up()
    in_package = await page_of(training_package="BSB", page_size=500)
    assert _codes(in_package) == sorted(set(bsb))
    assert len(set(bsb)) < len(bsb_prefix)  # the filter changed: BSB07 codes and BSB41419 are not components
    health = await page_of(training_package="BSB", search="Work Health")
    assert _codes(health) == [c for c in sorted(set(bsb)) if "work health" in titles[c].lower()]

    for bad in (ListAvailable(component_type=QUAL, page_size=501), ListAvailable(component_type=QUAL, page=0)):
        with pytest.raises(CommandRejected):
            await list_available(tga.pool, bad)


async def test_training_packages_and_an_empty_type(tga: Any, real: Any) -> None:
    packages = real.training_packages()
    for page in real.refresh_pages("refresh-p1", ComponentType.TRAINING_PACKAGE, real.package_entries(), 25):
        await tga.append("catalogue", "training_package", page, at=real.t0 + HOUR)
    await tga.catch_up()
    listed = await list_available(tga.pool, ListAvailable(component_type=ComponentType.TRAINING_PACKAGE))
    assert listed.total == 59
    assert listed.refreshed_at == real.t0 + HOUR
    assert _codes(listed) == sorted(p["code"] for p in packages)[:50]
    bsb = next(i for i in listed.items if i.code == "BSB")
    assert (bsb.title, bsb.usage_recommendation) == ("Business Services Training Package", UsageRecommendation.CURRENT)
    # Nothing refreshed or downloaded for skill sets: an empty page, never refreshed.
    empty = await list_available(tga.pool, ListAvailable(component_type=ComponentType.SKILL_SET))
    assert (empty.items, empty.total, empty.refreshed_at) == ([], 0, None)


async def test_component_state_records_failures_and_clears_them_on_success(tga: Any, real: Any) -> None:
    bsb_bytes = real.unit_file("BSBCMM412")
    truncated = bsb_bytes[: len(bsb_bytes) // 2]  # a truncated download of the real file
    with pytest.raises(ParseError) as malformed:
        parse_unit(truncated)
    with pytest.raises(ParseError) as too_large:
        parse_unit(real.unit_file("CPCCBC4047A"), max_bytes=100_000)  # the file is 192,513 bytes
    assert (malformed.value.failure, too_large.value.failure) == (ParseFailure.MALFORMED, ParseFailure.TOO_LARGE)
    kept = real.source_of(truncated, "BSB/BSBCMM412_Complete_R2.xml")
    await tga.append(
        UNIT.value,
        "BSBCMM412",
        UnitParseFailed(code="BSBCMM412", reason=malformed.value.reason, failure=ParseFailure.MALFORMED, source=kept),
    )
    await tga.append(
        UNIT.value,
        "CPCCBC4047A",
        UnitParseFailed(code="CPCCBC4047A", reason=too_large.value.reason, failure=ParseFailure.TOO_LARGE),
    )
    outage = "GET TrainingComponentFiles/RII/RIICOM201E_Complete_R1.xml: HTTP 503 after 5 attempts"
    await tga.append(
        UNIT.value,
        "RIICOM201E",
        ComponentDownloadFailed(code="RIICOM201E", component_type=UNIT, reason=outage, attempts=5, http_status=503),
    )
    await tga.catch_up()

    async def states() -> dict[str, tuple[Any, ...]]:
        page = await list_available(tga.pool, ListAvailable(component_type=UNIT))
        return {i.code: (i.downloaded, i.processed, i.downloaded_at, i.failure) for i in page.items}

    assert await states() == {
        "BSBCMM412": (True, False, real.t0, malformed.value.reason),  # the bytes were kept
        "CPCCBC4047A": (False, False, None, too_large.value.reason),  # refused before keeping them
        "RIICOM201E": (False, False, None, outage),
    }
    assert (await catalogue_stats(tga.pool)).failures == [
        FailureCount(failure=None, count=1, kind="download"),
        FailureCount(failure=ParseFailure.MALFORMED, count=1, kind="malformed"),
        FailureCount(failure=ParseFailure.TOO_LARGE, count=1, kind="too_large"),
    ]

    later = real.t0 + HOUR
    for code, package in (("BSBCMM412", "BSB"), ("CPCCBC4047A", "CPC08"), ("RIICOM201E", "RII")):
        await tga.append(UNIT.value, code, real.unit_downloaded(code, package), at=later)
    await tga.catch_up()
    assert await states() == dict.fromkeys(("BSBCMM412", "CPCCBC4047A", "RIICOM201E"), (True, True, later, None))
    assert (await catalogue_stats(tga.pool)).failures == []

    # A failed re-download later keeps what was downloaded and parsed, and shows the failure.
    await tga.append(
        UNIT.value,
        "RIICOM201E",
        ComponentDownloadFailed(code="RIICOM201E", component_type=UNIT, reason=outage, attempts=5, http_status=503),
        at=later + HOUR,
    )
    # A re-parse of the same kept bytes that fails: not processed any more, still downloaded at the same time.
    good = real.unit_downloaded("BSBCMM412", "BSB").source
    await tga.append(
        UNIT.value,
        "BSBCMM412",
        UnitParseFailed(
            code="BSBCMM412", reason="element table missing", failure=ParseFailure.MISSING_SECTION, source=good
        ),
        at=later + HOUR,
    )
    await tga.catch_up()
    after = await states()
    assert after["RIICOM201E"] == (True, True, later, outage)
    assert after["BSBCMM412"] == (True, False, later, "element table missing")


async def test_qualification_detail_lists_core_then_electives_and_keeps_supersession(tga: Any, real: Any) -> None:
    await tga.append("qualification", "RII30920", real.qualification_downloaded("RII30920", "RII"))
    await tga.append(UNIT.value, "RIICOM201E", real.unit_downloaded("RIICOM201E", "RII"))
    for code in ("MSM30318", "MSM30325"):
        await tga.append("qualification", code, real.qualification_downloaded(code, "MSM"))
    # MSM30325_XML.xml, "Qualification Mapping Information": MSM30325 ← MSM30318, "Equivalent".
    superseded = ComponentSuperseded(code="MSM30318", component_type=QUAL, superseded_by="MSM30325", is_equivalent=True)
    await tga.append("qualification", "MSM30318", superseded, at=real.t0 + HOUR)
    await tga.catch_up()

    rii = await get_qualification(tga.pool, "RII30920")
    assert rii is not None
    assert (rii.title, rii.release, rii.aqf_level) == ("Certificate III in Civil Construction", "4", "Certificate III")
    core = [u for u in rii.units if u.core]
    # RII30920_XML.xml, Packaging Rules, "Core units of competency" table.
    assert [u.code for u in core] == [
        "RIIBEF201E", "RIICCM201E", "RIICCM203E", "RIICOM201E", "RIIRIS301E", "RIISAM203E", "RIISAM204E", "RIIWHS201E",
    ]  # fmt: skip
    assert rii.units[: len(core)] == core  # core units first
    assert core[3] == QualificationUnit(
        code="RIICOM201E", core=True, title="Communicate in the workplace", downloaded=True
    )
    assert core[0] == QualificationUnit(code="RIIBEF201E", core=True, title=None, downloaded=False)
    electives = rii.units[len(core) :]
    assert not any(u.core for u in electives)
    # "Group A Asphalt Surfacing" starts with RIICBS202E Hand spread asphalt; every group membership is kept.
    assert (electives[0].code, electives[0].group) == ("RIICBS202E", "Group A")
    event = real.qualification_downloaded("RII30920", "RII")
    assert len(electives) == sum(len(codes) for codes in event.elective_groups.values())
    assert {u.code for u in electives} == set(event.elective_units)

    old = await get_qualification(tga.pool, "MSM30318")
    assert old is not None
    assert (old.superseded_by, old.usage_recommendation) == ("MSM30325", UsageRecommendation.SUPERSEDED)
    # MSM30318: 5 core units, then 33 electives (Group A "Measurements": MSMOPS101, PMAOPS101).
    assert (len(old.units), old.units[5].code, old.units[5].group) == (38, "MSMOPS101", "Group A")
    await tga.append(
        "qualification", "MSM30318", real.qualification_downloaded("MSM30318", "MSM"), at=real.t0 + 2 * HOUR
    )
    await tga.catch_up()
    again = await get_qualification(tga.pool, "MSM30318")
    assert again is not None
    assert (again.superseded_by, len(again.units)) == ("MSM30325", 38)  # kept; children replaced, not doubled
    assert await get_qualification(tga.pool, "BSB41419") is None
    stats = await catalogue_stats(tga.pool)
    assert (stats.qualifications, stats.units, stats.training_packages, stats.skill_sets) == (3, 1, 0, 0)
