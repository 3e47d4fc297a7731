"""Read functions behind the tga-ingest queries (``qry.tga.*``), over the read-model views in ``tga_ingest``.

Each function takes an asyncpg connection or pool and a ``schema`` (default ``tga_ingest``) and returns the
reply Struct of :mod:`skillstream_contracts.tga_queries`, or None when the component is not in the read
models. Each reply is read with one statement, so it is one consistent snapshot even while the projections
(:mod:`skillstream_tga_ingest.projections`) write.

Errors: :func:`list_available` raises :class:`~skillstream_runtime.errors.CommandRejected`
(``invalid_request``) for a page below 1 or a page size outside 1..500, which the endpoint host replies as
400; PostgreSQL errors (``asyncpg.PostgresError``) propagate.
"""

from __future__ import annotations

from typing import Any, Final, TypeAlias

import asyncpg
import msgspec

from skillstream_contracts import ErrorCode
from skillstream_contracts.tga import (
    ComponentType,
    Element,
    FoundationSkill,
    ParseFailure,
    UnitFormat,
    UsageRecommendation,
)
from skillstream_contracts.tga_queries import (
    CatalogueItem,
    CataloguePage,
    CatalogueStats,
    CriterionRow,
    ElementSummary,
    FailureCount,
    ListAvailable,
    QualificationDetail,
    QualificationUnit,
    SourceRef,
    UnitDetail,
    UnitElements,
    UnitPerformanceCriteria,
)
from skillstream_runtime.errors import CommandRejected
from skillstream_tga_ingest.projections._readmodel import READ_SCHEMA
from skillstream_tga_ingest.projections.component_state import DOWNLOAD_FAILURE
from skillstream_tga_ingest.projections.units import TEXT_LISTS

Db: TypeAlias = "asyncpg.Connection | asyncpg.Pool"
"""Where to read: a connection (inside the caller's transaction, if any) or a pool."""

MAX_PAGE_SIZE: Final = 500
"""``ListAvailable.page_size`` limit (tga_queries: "``page_size`` ≤ 500")."""

# component type → (its own table, its training package column)
_OWN: Final = {
    ComponentType.TRAINING_PACKAGE: ("training_packages", "NULL::text"),
    ComponentType.QUALIFICATION: ("qualifications", "d.training_package"),
    ComponentType.SKILL_SET: ("skillsets", "d.training_package"),
    ComponentType.UNIT: ("units", "d.training_package"),
}
_ITEM_FIELDS: Final = tuple(CatalogueItem.__struct_fields__)


def escape_like(text: str) -> str:
    """``text`` with the LIKE wildcards ``%`` and ``_`` (and the escape ``\\``) escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Where:
    """Numbered parameters and the conditions that use them."""

    def __init__(self, *params: Any) -> None:
        self.params = list(params)
        self.conditions: list[str] = []

    def arg(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"


def _filters(q: ListAvailable, s: str) -> tuple[_Where, str]:
    """The conditions of ``q`` over the ``items`` of :func:`_list_sql` (``$1`` is the component type), and the
    ``catalogue_refreshes`` scopes whose last refresh counts (``''`` = every package, or also the package)."""
    w = _Where(q.component_type.value)
    if q.search:
        pattern = w.arg(f"%{escape_like(q.search)}%")
        w.conditions.append(f"(i.code ILIKE {pattern} OR i.title ILIKE {pattern})")
    if q.status is not None:
        w.conditions.append(f"i.usage_recommendation = {w.arg(q.status.value)}")
    if q.downloaded is not None:
        w.conditions.append(f"i.downloaded = {w.arg(q.downloaded)}")
    scope = "''"
    if q.training_package:
        tp, prefix = w.arg(q.training_package), w.arg(escape_like(q.training_package) + "%")
        scope = f"'', {tp}"
        w.conditions.append(
            f"CASE WHEN EXISTS (SELECT 1 FROM {s}.training_packages WHERE code = {tp})"
            f" THEN i.code IN (SELECT component_code FROM {s}.package_components"
            f"  WHERE package_code = {tp} AND component_type = $1)"
            f" ELSE i.code LIKE {prefix} OR i.training_package = {tp} END"
        )
    return w, scope


def _list_sql(s: str, ctype: ComponentType, where: str, scope: str, limit: str, offset: str) -> str:
    """One page of the items of ``ctype`` matching ``where``, with the total and the last refresh on every
    row (a page past the end is one row whose item columns are NULL)."""
    own, own_package = _OWN[ctype]
    return f"""
        WITH keys AS (
            SELECT code FROM {s}.catalogue WHERE component_type = $1
            UNION SELECT code FROM {s}.component_state WHERE component_type = $1
            UNION SELECT code FROM {s}.{own}
        ), items AS (
            SELECT k.code, $1::text AS component_type,
                CASE WHEN n.own THEN d.title ELSE coalesce(c.title, '') END AS title,
                CASE WHEN n.own THEN d.usage_recommendation ELSE coalesce(c.usage_recommendation, 'unknown') END
                    AS usage_recommendation,
                coalesce({own_package}, c.training_package) AS training_package,
                d.release, c.updated_at,
                coalesce(st.downloaded, false) AS downloaded, coalesce(st.processed, false) AS processed,
                st.downloaded_at, st.failure
            FROM keys k
            LEFT JOIN {s}.catalogue c ON c.component_type = $1 AND c.code = k.code
            LEFT JOIN {s}.{own} d ON d.code = k.code
            LEFT JOIN {s}.component_state st ON st.component_type = $1 AND st.code = k.code
            CROSS JOIN LATERAL (
                SELECT d.code IS NOT NULL AND (c.code IS NULL OR d.last_sequence > c.last_sequence) AS own
            ) n
        ), matches AS (SELECT * FROM items i WHERE {where})
        SELECT t.total, r.refreshed_at, p.*
        FROM (SELECT count(*) AS total FROM matches) t
        CROSS JOIN (
            SELECT max(refreshed_at) AS refreshed_at FROM {s}.catalogue_refreshes
            WHERE component_type = $1 AND training_package IN ({scope})
        ) r
        LEFT JOIN LATERAL (
            SELECT * FROM matches ORDER BY code COLLATE "C" LIMIT {limit} OFFSET {offset}
        ) p ON true
        ORDER BY p.code COLLATE "C"
    """


async def list_available(db: Db, q: ListAvailable, *, schema: str = READ_SCHEMA) -> CataloguePage:
    """One page of the components of ``q.component_type`` known locally, ordered by code (byte order).

    An item is every code TGA listed (``catalogue``) plus every code downloaded or attempted
    (``component_state``, the component's own table) even when no refresh listed it. Its title and usage
    recommendation come from whichever of the listing and the download is newer (stream sequence).
    ``search`` is a case-insensitive substring of code or title (wildcards matched literally);
    ``training_package`` keeps the package's components as its downloaded release lists them
    (``package_components``), else codes starting with the package code or listed under it. ``refreshed_at``
    is the last completed refresh of the whole type (or of that package, when filtered), None if never.

    Raises:
        CommandRejected: ``invalid_request`` when ``page`` < 1 or ``page_size`` is not in 1..500.
    """
    if q.page < 1 or not 1 <= q.page_size <= MAX_PAGE_SIZE:
        raise CommandRejected(
            ErrorCode.INVALID_REQUEST,
            f"page must be ≥ 1 and page_size in 1..{MAX_PAGE_SIZE} (got page={q.page}, page_size={q.page_size})",
        )
    w, scope = _filters(q, f'"{schema}"')
    limit, offset = w.arg(q.page_size), w.arg((q.page - 1) * q.page_size)
    sql = _list_sql(f'"{schema}"', q.component_type, " AND ".join(w.conditions) or "true", scope, limit, offset)
    rows = await db.fetch(sql, *w.params)
    items = [
        msgspec.convert({f: row[f] for f in _ITEM_FIELDS}, CatalogueItem) for row in rows if row["code"] is not None
    ]
    return CataloguePage(
        items=items,
        total=int(rows[0]["total"]),
        page=q.page,
        page_size=q.page_size,
        refreshed_at=rows[0]["refreshed_at"],
    )


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
    lists = ", ".join(f"{_json_list(s, table, 'x.text')} AS {field}" for field, table in TEXT_LISTS.items())
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
        required_skills=strings("required_skills"),
        required_knowledge=strings("required_knowledge"),
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
    is the downloaded unit's, else the catalogue's; ``downloaded`` = the unit is in ``units``. None if the
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
                WHERE qu.qualification_code = q.code) AS units
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
    )


async def catalogue_stats(db: Db, *, schema: str = READ_SCHEMA) -> CatalogueStats:
    """Counts over the read models: downloaded components per type, units parsed, elements and performance
    criteria stored, and current failures by kind (``failure`` None = download failures)."""
    s = f'"{schema}"'
    row = await db.fetchrow(
        f"""SELECT (SELECT count(*) FROM {s}.training_packages) AS training_packages,
                (SELECT count(*) FROM {s}.qualifications) AS qualifications,
                (SELECT count(*) FROM {s}.skillsets) AS skill_sets,
                (SELECT count(*) FROM {s}.units) AS units,
                (SELECT count(*) FROM {s}.unit_elements) AS elements,
                (SELECT count(*) FROM {s}.unit_performance_criteria) AS performance_criteria,
                (SELECT coalesce(jsonb_agg(jsonb_build_array(kind, n) ORDER BY kind), '[]'::jsonb) FROM (
                    SELECT failure_kind AS kind, count(*) AS n FROM {s}.component_state
                    WHERE failure IS NOT NULL GROUP BY failure_kind) f) AS failures"""
    )
    failures = [
        FailureCount(failure=None if kind == DOWNLOAD_FAILURE else ParseFailure(kind), count=n)
        for kind, n in msgspec.json.decode(row["failures"], type=list[tuple[str, int]])
    ]
    counts = {f: int(row[f]) for f in CatalogueStats.__struct_fields__ if f != "failures"}
    return CatalogueStats(**counts, failures=failures)


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
