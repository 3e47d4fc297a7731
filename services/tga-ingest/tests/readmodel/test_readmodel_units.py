"""The units read model against real NATS + PostgreSQL, fed ``UnitDownloaded`` events parsed from the real
unit files; expected values are read from those files (quoted below with where they are)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from skillstream_contracts.tga import (
    ComponentDeleted,
    ComponentSuperseded,
    ComponentType,
    DeleteOperation,
    UnitFormat,
    UsageRecommendation,
)
from skillstream_contracts.tga_queries import CriterionRow, ElementSummary, SourceRef, UnitDetail
from skillstream_tga_ingest.projections.queries import (
    catalogue_stats,
    get_unit,
    get_unit_elements,
    get_unit_performance_criteria,
)

UNIT = ComponentType.UNIT.value


async def test_get_unit_round_trips_every_field_of_a_2012_unit(tga: Any, real: Any) -> None:
    event = real.unit_downloaded("BSBCMM412", "BSB")
    await tga.append(UNIT, "BSBCMM412", event, at=real.t0)
    await tga.catch_up()

    unit = await get_unit(tga.pool, "BSBCMM412")
    # Every field of the event comes back (the reply adds only the marks, which are unset).
    expected = UnitDetail(
        **{f: getattr(event, f) for f in UnitDetail.__struct_fields__ if hasattr(event, f) and f != "source"},
        source=SourceRef(relative_path=event.source.relative_path, sha256=event.source.sha256, size=event.source.size),
        downloaded_at=real.t0,
    )
    assert unit == expected
    # BSBCMM412_XML.xml, Book variables and the "Elements and Performance Criteria" topic.
    assert unit is not None
    assert (unit.title, unit.release, unit.format) == ("Lead difficult conversations", "2", UnitFormat.STREAMLINED_2012)
    assert unit.source == SourceRef(
        relative_path="BSB/BSBCMM412_Complete_R2.xml",
        sha256=event.source.sha256,
        size=255483,  # SOURCES.md: size of BSBCMM412_XML.xml in bytes
    )
    assert [(e.number, e.title, len(e.performance_criteria)) for e in unit.elements] == [
        ("1", "Prepare for conversation", 6),
        ("2", "Facilitate difficult conversation", 5),
        ("3", "Follow up and review conversation", 3),
    ]
    assert unit.elements[0].performance_criteria[5].text == (
        "Select delivery style according to conversational context and stakeholder requirements"
    )
    assert unit.foundation_skills[0].skill == "Reading"
    assert unit.knowledge_evidence[-1] == "common support services."
    assert unit.assessment_conditions[1] == "workplace documentation and resources relevant to performance evidence."

    elements = await get_unit_elements(tga.pool, "BSBCMM412")
    assert elements is not None
    assert elements.elements == [
        ElementSummary(number="1", title="Prepare for conversation", performance_criteria_count=6),
        ElementSummary(number="2", title="Facilitate difficult conversation", performance_criteria_count=5),
        ElementSummary(number="3", title="Follow up and review conversation", performance_criteria_count=3),
    ]
    criteria = await get_unit_performance_criteria(tga.pool, "BSBCMM412")
    assert criteria is not None
    assert len(criteria.performance_criteria) == 14
    assert criteria.performance_criteria[6] == CriterionRow(
        element_number="2",
        element_title="Facilitate difficult conversation",
        number="2.1",
        text="Undertake conversation with relevant stakeholders",
    )
    assert criteria.performance_criteria[-1].number == "3.3"
    for missing in (get_unit, get_unit_elements, get_unit_performance_criteria):
        assert await missing(tga.pool, "BSBCMM499") is None


async def test_get_unit_round_trips_a_pre_2012_unit(tga: Any, real: Any) -> None:
    event = real.unit_downloaded("CPCCBC4047A", "CPC08")
    await tga.append(UNIT, "CPCCBC4047A", event)
    await tga.catch_up()
    unit = await get_unit(tga.pool, "CPCCBC4047A")
    assert unit is not None
    assert unit.format is UnitFormat.PRE_2012
    # The pre-2012 lists (Evidence Guide, Required Skills and Knowledge, Range Statement) round-trip in order.
    for field in ("critical_aspects", "required_skills", "required_knowledge", "range_statement", "elements"):
        assert getattr(unit, field) == getattr(event, field), field
    assert len(unit.elements) == 4  # CPCCBC4047A_XML.xml: elements 1-4
    assert sum(len(e.performance_criteria) for e in unit.elements) == 15  # criteria 1.1 … 4.x
    assert unit.critical_aspects
    assert unit.required_skills
    assert unit.required_knowledge


async def test_redownload_replaces_the_units_content(tga: Any, real: Any) -> None:
    first = real.unit_downloaded("BSBCMM412", "BSB")
    await tga.append(UNIT, "BSBCMM412", first, at=real.t0)
    # A re-parse of the kept bytes (same source) by a newer parser: replaces, keeps the download time.
    reparse = msgspec.structs.replace(first, parser_version=first.parser_version + 1)
    await tga.append(UNIT, "BSBCMM412", reparse, at=real.t0 + dt.timedelta(days=1))
    await tga.catch_up()

    unit = await get_unit(tga.pool, "BSBCMM412")
    assert unit is not None
    assert unit.parser_version == first.parser_version + 1
    assert unit.downloaded_at == real.t0
    assert await _child_counts(tga) == {"elements": 3, "criteria": 14, "foundation": 7, "performance_evidence": 5}

    # A new release with different bytes and one element fewer: the third element and its 3 criteria go.
    data = real.unit_file("BSBCMM412")
    newer = msgspec.structs.replace(
        first,
        release="3",
        elements=first.elements[:2],
        source=real.source_of(data + b"\n", "BSB/BSBCMM412_Complete_R3.xml"),
    )
    at = real.t0 + dt.timedelta(days=30)
    await tga.append(UNIT, "BSBCMM412", newer, at=at)
    await tga.catch_up()
    unit = await get_unit(tga.pool, "BSBCMM412")
    assert unit is not None
    assert (unit.release, unit.downloaded_at) == ("3", at)
    assert [e.number for e in unit.elements] == ["1", "2"]
    assert await _child_counts(tga) == {"elements": 2, "criteria": 11, "foundation": 7, "performance_evidence": 5}


async def _child_counts(tga: Any) -> dict[str, int]:
    row = await tga.pool.fetchrow(
        "SELECT (SELECT count(*) FROM tga_ingest.unit_elements) AS elements,"
        " (SELECT count(*) FROM tga_ingest.unit_performance_criteria) AS criteria,"
        " (SELECT count(*) FROM tga_ingest.unit_foundation_skills) AS foundation,"
        " (SELECT count(*) FROM tga_ingest.unit_performance_evidence) AS performance_evidence"
    )
    return dict(row)


async def test_superseded_and_deleted_units(tga: Any, real: Any) -> None:
    await tga.append(UNIT, "RIICOM201E", real.unit_downloaded("RIICOM201E", "RII"))
    cpc = real.unit_downloaded("CPCCBC4047A", "CPC08")
    assert cpc.usage_recommendation is UsageRecommendation.CURRENT  # CPCCBC4047A_XML.xml Book variable
    await tga.append(UNIT, "CPCCBC4047A", cpc)
    # TGA marks the unit superseded without naming a successor (XSD Mapping absent): usage changes.
    superseded_event = ComponentSuperseded(code="CPCCBC4047A", component_type=ComponentType.UNIT)
    await tga.append(UNIT, "CPCCBC4047A", superseded_event, at=real.t0 + dt.timedelta(days=1))
    deleted_at = real.t0 + dt.timedelta(days=2)
    deletion = ComponentDeleted(
        code="RIICOM201E", component_type=ComponentType.UNIT, operation=DeleteOperation.LOGICAL, deleted_at=deleted_at
    )
    await tga.append(UNIT, "RIICOM201E", deletion)
    # A mark for a unit never downloaded creates nothing.
    await tga.append(UNIT, "BSBCMM412", ComponentSuperseded(code="BSBCMM412", component_type=ComponentType.UNIT))
    await tga.catch_up()

    superseded = await get_unit(tga.pool, "CPCCBC4047A")
    assert superseded is not None
    assert (superseded.usage_recommendation, superseded.superseded_by) == (UsageRecommendation.SUPERSEDED, None)
    deleted = await get_unit(tga.pool, "RIICOM201E")
    assert deleted is not None
    assert (deleted.usage_recommendation, deleted.deleted_at) == (UsageRecommendation.DELETED, deleted_at)
    assert await get_unit(tga.pool, "BSBCMM412") is None

    # A re-parse after the deletion keeps deleted_at; being the newest event, its usage is the file's.
    await tga.append(UNIT, "RIICOM201E", real.unit_downloaded("RIICOM201E", "RII", parser_version=99))
    await tga.catch_up()
    reparsed = await get_unit(tga.pool, "RIICOM201E")
    assert reparsed is not None
    assert (reparsed.parser_version, reparsed.deleted_at) == (99, deleted_at)
    assert reparsed.usage_recommendation is UsageRecommendation.CURRENT

    stats = await catalogue_stats(tga.pool)
    # CPCCBC4047A: 4 elements, 15 criteria; RIICOM201E: 4 elements, 20 criteria (the two XML files).
    assert (stats.units, stats.elements, stats.performance_criteria) == (2, 8, 35)
