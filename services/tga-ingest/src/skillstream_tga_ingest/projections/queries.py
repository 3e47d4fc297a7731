"""Read functions behind the tga-ingest queries (``qry.tga.*``), over the read-model views in ``tga_ingest``.

Each function takes an asyncpg connection or pool and a ``schema`` (default ``tga_ingest``) and returns the
reply Struct of :mod:`skillstream_contracts.tga_queries`, or None when the component is not in the read
models. Each reply is read with one statement, so it is one consistent snapshot even while the projections
(:mod:`skillstream_tga_ingest.projections`) write. The catalogue list and its counts
(:func:`list_available`, :func:`catalogue_stats`) are :mod:`skillstream_tga_ingest.projections.listing`'s,
re-exported here.

Errors: :func:`list_available` raises :class:`~skillstream_runtime.errors.CommandRejected`
(``invalid_request``) for a page below 1 or a page size outside 1..500, which the endpoint host replies as
400; PostgreSQL errors (``asyncpg.PostgresError``) propagate.
"""

from __future__ import annotations

from typing import Any

import msgspec

from skillstream_contracts.tga import (
    Element,
    FoundationSkill,
    UnitFormat,
    UsageRecommendation,
)
from skillstream_contracts.tga_content import RequiredItem
from skillstream_contracts.tga_queries import (
    CriterionRow,
    ElementSummary,
    QualificationDetail,
    QualificationUnit,
    SourceRef,
    UnitDetail,
    UnitElements,
    UnitPerformanceCriteria,
)
from skillstream_tga_ingest.projections._readmodel import READ_SCHEMA
from skillstream_tga_ingest.projections.listing import MAX_PAGE_SIZE, Db, catalogue_stats, escape_like, list_available
from skillstream_tga_ingest.projections.units import REQUIRED_ITEM_JSON, REQUIRED_LISTS, TEXT_LISTS


def _json_list(s: str, table: str, expression: str, where: str = "x.unit_code = u.code") -> str:
    """A subquery aggregating ``expression`` over ``table`` rows in position order as a jsonb array."""
    return (
        f"(SELECT coalesce(jsonb_agg({expression} ORDER BY x.position), '[]'::jsonb) FROM {s}.{table} x WHERE {where})"
    )


def _source(row: Any) -> SourceRef | None:
    if row["source_relative_path"] is None:
        return None
    return SourceRef(
        relative_path=row["source_relative_path"], sha256=row["source_sha256"], size=int(row["source_size"])
    )


async def get_unit(db: Db, code: str, *, schema: str = READ_SCHEMA) -> UnitDetail | None:
    """Everything stored about unit ``code`` (elements with their criteria, every parsed list, the source
    file, marks), or None if it was never downloaded and parsed."""
    s = f'"{schema}"'
    criteria = _json_list(
        s,
        "unit_performance_criteria",
        "jsonb_build_object('number', x.number, 'text', x.text)",
        "x.unit_code = e.unit_code AND x.element_position = e.position",
    )
    elements = (
        "(SELECT coalesce(jsonb_agg(jsonb_build_object('number', e.number, 'title', e.title,"
        f" 'performance_criteria', {criteria}) ORDER BY e.position), '[]'::jsonb)"
        f" FROM {s}.unit_elements e WHERE e.unit_code = u.code) AS elements"
    )
    lists = ", ".join(
        f"{_json_list(s, table, REQUIRED_ITEM_JSON if field in REQUIRED_LISTS else 'x.text')} AS {field}"
        for field, table in TEXT_LISTS.items()
    )
    foundation = _json_list(
        s, "unit_foundation_skills", "jsonb_build_object('skill', x.skill, 'description', x.description)"
    )
    row = await db.fetchrow(
        f"SELECT u.*, {elements}, {lists}, {foundation} AS foundation_skills FROM {s}.units u WHERE u.code = $1",
        code,
    )
    if row is None:
        return None

    def strings(field: str) -> list[str]:
        return msgspec.json.decode(row[field], type=list[str])

    return UnitDetail(
        code=row["code"],
        title=row["title"],
        release=row["release"],
        training_package=row["training_package"],
        usage_recommendation=UsageRecommendation(row["usage_recommendation"]),
        format=UnitFormat(row["format"]),
        application=row["application"],
        competency_field=row["competency_field"],
        prerequisites=strings("prerequisites"),
        elements=msgspec.json.decode(row["elements"], type=list[Element]),
        critical_aspects=strings("critical_aspects"),
        required_skills=msgspec.json.decode(row["required_skills"], type=list[RequiredItem]),
        required_knowledge=msgspec.json.decode(row["required_knowledge"], type=list[RequiredItem]),
        performance_evidence=strings("performance_evidence"),
        knowledge_evidence=strings("knowledge_evidence"),
        assessment_conditions=strings("assessment_conditions"),
        foundation_skills=msgspec.json.decode(row["foundation_skills"], type=list[FoundationSkill]),
        range_statement=strings("range_statement"),
        source=_source(row),
        parser_version=row["parser_version"],
        downloaded_at=row["downloaded_at"],
        superseded_by=row["superseded_by"],
        deleted_at=row["deleted_at"],
    )


async def get_unit_elements(db: Db, code: str, *, schema: str = READ_SCHEMA) -> UnitElements | None:
    """The elements of unit ``code`` in document order with their performance criteria counts, or None."""
    s = f'"{schema}"'
    rows = await db.fetch(
        f"""SELECT u.code, u.title, e.number, e.title AS element_title,
                (SELECT count(*) FROM {s}.unit_performance_criteria pc
                 WHERE pc.unit_code = e.unit_code AND pc.element_position = e.position) AS criteria
            FROM {s}.units u LEFT JOIN {s}.unit_elements e ON e.unit_code = u.code
            WHERE u.code = $1 ORDER BY e.position""",
        code,
    )
    if not rows:
        return None
    elements = [
        ElementSummary(number=r["number"], title=r["element_title"], performance_criteria_count=int(r["criteria"]))
        for r in rows
        if r["number"] is not None
    ]
    return UnitElements(code=rows[0]["code"], title=rows[0]["title"], elements=elements)


async def get_unit_performance_criteria(
    db: Db, code: str, *, schema: str = READ_SCHEMA
) -> UnitPerformanceCriteria | None:
    """The performance criteria of unit ``code``, each with its element's number and title, or None."""
    s = f'"{schema}"'
    rows = await db.fetch(
        f"""SELECT u.code, u.title, e.number AS element_number, e.title AS element_title, pc.number, pc.text
            FROM {s}.units u
            LEFT JOIN {s}.unit_elements e ON e.unit_code = u.code
            LEFT JOIN {s}.unit_performance_criteria pc
                ON pc.unit_code = e.unit_code AND pc.element_position = e.position
            WHERE u.code = $1 ORDER BY e.position, pc.position""",
        code,
    )
    if not rows:
        return None
    criteria = [
        CriterionRow(
            element_number=r["element_number"], element_title=r["element_title"], number=r["number"], text=r["text"]
        )
        for r in rows
        if r["number"] is not None
    ]
    return UnitPerformanceCriteria(code=rows[0]["code"], title=rows[0]["title"], performance_criteria=criteria)


async def get_qualification(db: Db, code: str, *, schema: str = READ_SCHEMA) -> QualificationDetail | None:
    """Qualification ``code`` with its units (core first, then electives with their group); a unit's title
    is the downloaded unit's, else the catalogue's; ``downloaded`` = the unit is in ``units``;
    ``metadata_only_reason`` why only its details are held (TGA lists no content file). None if the
    qualification was never downloaded."""
    s = f'"{schema}"'
    row = await db.fetchrow(
        f"""SELECT q.*, (
                SELECT coalesce(jsonb_agg(jsonb_build_object('code', qu.unit_code, 'core', qu.core,
                    'group', qu.group_name, 'title', coalesce(u.title, c.title), 'downloaded', u.code IS NOT NULL)
                    ORDER BY qu.position), '[]'::jsonb)
                FROM {s}.qualification_units qu
                LEFT JOIN {s}.units u ON u.code = qu.unit_code
                LEFT JOIN {s}.catalogue c ON c.component_type = 'unit' AND c.code = qu.unit_code
                WHERE qu.qualification_code = q.code) AS units,
                (SELECT st.metadata_only FROM {s}.component_state st
                 WHERE st.component_type = 'qualification' AND st.code = q.code) AS metadata_only_reason
            FROM {s}.qualifications q WHERE q.code = $1""",
        code,
    )
    if row is None:
        return None
    return QualificationDetail(
        code=row["code"],
        title=row["title"],
        release=row["release"],
        training_package=row["training_package"],
        usage_recommendation=UsageRecommendation(row["usage_recommendation"]),
        aqf_level=row["aqf_level"],
        description=row["description"],
        entry_requirements=row["entry_requirements"],
        packaging_rules=row["packaging_rules"],
        total_units=row["total_units"],
        units=msgspec.json.decode(row["units"], type=list[QualificationUnit]),
        source=_source(row),
        downloaded_at=row["downloaded_at"],
        superseded_by=row["superseded_by"],
        deleted_at=row["deleted_at"],
        metadata_only_reason=row["metadata_only_reason"],
    )


__all__ = [
    "MAX_PAGE_SIZE",
    "Db",
    "catalogue_stats",
    "escape_like",
    "get_qualification",
    "get_unit",
    "get_unit_elements",
    "get_unit_performance_criteria",
    "list_available",
]
