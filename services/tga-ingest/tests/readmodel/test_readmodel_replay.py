"""Exactly-once in effect: a redelivered stream and a blue/green rebuild from sequence 1 give the same rows
as the live projections, for a stream holding every kind of TGA event built from the real files."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from skillstream_contracts.streams import TGA
from skillstream_contracts.tga import (
    ComponentDeleted,
    ComponentDownloadFailed,
    ComponentSuperseded,
    ComponentType,
    DeleteOperation,
    PackageDownloaded,
    ParseFailure,
    UnitParseFailed,
    UsageRecommendation,
)
from skillstream_contracts.tga_queries import ListAvailable
from skillstream_runtime.projections import generation_schema
from skillstream_tga_ingest.projections import PROJECTIONS
from skillstream_tga_ingest.projections.queries import catalogue_stats, get_unit, list_available

HOUR = dt.timedelta(hours=1)


async def _fill(tga: Any, real: Any) -> None:
    """Catalogue refreshes (two of qualifications: the second one relists), a package, qualifications, units,
    re-downloads, failures, a supersession and a deletion, interleaved over many runner batches."""
    at = real.t0
    for refresh in ("q1", "q2"):
        for page in real.refresh_pages(refresh, ComponentType.QUALIFICATION, real.qualification_entries(), 900):
            await tga.append("catalogue", "qualification", page, at=at)
        at += HOUR
    for page in real.refresh_pages("p1", ComponentType.TRAINING_PACKAGE, real.package_entries(), 20):
        await tga.append("catalogue", "training_package", page, at=at)
    bsb = [q.code for q in real.vet_qualifications() if q.package == "BSB"]
    await tga.append(
        "training_package",
        "BSB",
        PackageDownloaded(
            code="BSB",
            title="Business Services Training Package",  # catalogue/data.txt
            usage_recommendation=UsageRecommendation.CURRENT,
            qualification_codes=bsb,
            unit_codes=["BSBCMM412"],
        ),
        at=at,
    )
    for code, package in (("BSB41419", "BSB"), ("RII30920", "RII"), ("MSM30318", "MSM")):
        await tga.append("qualification", code, real.qualification_downloaded(code, package), at=at)
    for code, package in (("BSBCMM412", "BSB"), ("CPCCBC4047A", "CPC08"), ("RIICOM201E", "RII"), ("CHCCDE024", "CHC")):
        event = real.unit_downloaded(code, package)
        await tga.append("unit", code, event, at=at)
        await tga.append("unit", code, msgspec.structs.replace(event, parser_version=2), at=at + HOUR)  # re-parse
    await tga.append(
        "unit",
        "CHCCDE024",
        UnitParseFailed(code="CHCCDE024", reason="no E&PC", failure=ParseFailure.MISSING_SECTION),
        ComponentDownloadFailed(
            code="CHCCDE024", component_type=ComponentType.UNIT, reason="HTTP 500", http_status=500
        ),
        at=at + 2 * HOUR,
    )
    await tga.append(
        "qualification",
        "MSM30318",
        ComponentSuperseded(
            code="MSM30318", component_type=ComponentType.QUALIFICATION, superseded_by="MSM30325", is_equivalent=True
        ),
        at=at + 2 * HOUR,
    )
    await tga.append(
        "unit",
        "CPCCBC4047A",
        ComponentDeleted(
            code="CPCCBC4047A",
            component_type=ComponentType.UNIT,
            operation=DeleteOperation.PHYSICAL,
            deleted_at=at + 3 * HOUR,
        ),
        at=at + 3 * HOUR,
    )


async def test_redelivery_and_rebuild_give_identical_rows(tga: Any, real: Any) -> None:
    await _fill(tga, real)
    await tga.catch_up()
    live = await tga.snapshot()
    assert await tga.dead_letters() == 0
    # The refreshes listed 3,539 distinct codes twice: one row each; 4 units with one row set each.
    assert len(live["catalogue"]) == 3539 + 59
    assert len(live["units"]) == 4
    stats = await catalogue_stats(tga.pool)
    # BSBCMM412 3 + CPCCBC4047A 4 + RIICOM201E 4 + CHCCDE024 3 elements (the real E&PC tables).
    assert (stats.units, stats.elements, stats.qualifications, stats.training_packages) == (4, 14, 3, 1)
    deleted = await get_unit(tga.pool, "CPCCBC4047A")
    assert deleted is not None
    assert (deleted.usage_recommendation, deleted.parser_version) == (UsageRecommendation.DELETED, 2)
    chc = await list_available(tga.pool, ListAvailable(component_type=ComponentType.UNIT, search="CHCCDE024"))
    assert [(i.downloaded, i.processed, i.failure) for i in chc.items] == [(True, False, "HTTP 500")]

    # Redelivery: forget the checkpoints, so every event reaches apply() a second time.
    await tga.pool.execute("UPDATE skillstream.projection_checkpoints SET last_sequence = 0")
    await tga.catch_up()
    assert await tga.snapshot() == live
    assert await tga.dead_letters() == 0

    # A late retry (a dead letter retried after newer events): older events applied again change nothing.
    old: list[Any] = []
    for subject in ("tga.catalogue.qualification", "tga.unit.CPCCBC4047A", "tga.unit.CHCCDE024"):
        stored = await tga.store.load(TGA, subject)
        old.extend(stored[:-1])  # all but the newest event of each subject
    assert {type(r.event).__name__ for r in old} >= {"CatalogueRefreshed", "UnitDownloaded", "UnitParseFailed"}
    for projection in PROJECTIONS:
        async with tga.pool.acquire() as conn, conn.transaction():
            await projection.apply(conn, generation_schema(projection.name, 1), old)
    assert await tga.snapshot() == live

    # Blue/green rebuild from sequence 1 into generation 2, swapped in.
    await tga.rebuild()
    for projection in PROJECTIONS:
        active = await tga.pool.fetchval(
            "SELECT active_generation FROM skillstream.projections WHERE name = $1", projection.name
        )
        assert active == 2
    assert await tga.snapshot() == live
