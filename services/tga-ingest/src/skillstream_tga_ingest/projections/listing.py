"""The catalogue list and its counts (``qry.tga.list_available``, ``qry.tga.catalogue_stats``), over the
read-model views in ``tga_ingest`` (:mod:`skillstream_tga_ingest.projections.catalogue`).

Each reply is read with one statement, so it is one consistent snapshot even while the projections write.

Errors: :func:`list_available` raises :class:`~skillstream_runtime.errors.CommandRejected`
(``invalid_request``) for a page below 1 or a page size outside 1..500, which the endpoint host replies as
400; PostgreSQL errors (``asyncpg.PostgresError``) propagate.
"""

from __future__ import annotations

from typing import Any, Final, TypeAlias

import asyncpg
import msgspec

from skillstream_contracts import ErrorCode
from skillstream_contracts.tga import ComponentType, ParseFailure
from skillstream_contracts.tga_queries import (
    MAX_FAILED_LISTED,
    CatalogueItem,
    CataloguePage,
    CatalogueStats,
    FailedComponent,
    FailureCount,
    ListAvailable,
    LocalState,
)
from skillstream_runtime.errors import CommandRejected
from skillstream_tga_ingest.projections._readmodel import READ_SCHEMA
from skillstream_tga_ingest.projections.component_state import DOWNLOAD_FAILURE

Db: TypeAlias = "asyncpg.Connection | asyncpg.Pool"
"""Where to read: a connection (inside the caller's transaction, if any) or a pool."""

MAX_PAGE_SIZE: Final = 500
"""``ListAvailable.page_size`` limit (tga_queries: "``page_size`` ≤ 500")."""

# component type → (its own table, its training package column, its description, its release date)
_OWN: Final = {
    ComponentType.TRAINING_PACKAGE: ("training_packages", "NULL::text", "''", "d.release_date"),
    ComponentType.QUALIFICATION: ("qualifications", "d.training_package", "d.description", "NULL::date"),
    ComponentType.SKILL_SET: ("skillsets", "d.training_package", "''", "NULL::date"),
    ComponentType.UNIT: ("units", "d.training_package", "''", "NULL::date"),
}
_ITEM_FIELDS: Final = tuple(CatalogueItem.__struct_fields__)
# The local state of an item (LocalState): the latest failure first, then metadata only, then downloaded.
_STATE_SQL: Final = f"""CASE WHEN st.failure IS NOT NULL THEN '{LocalState.FAILED.value}'
                WHEN st.metadata_only IS NOT NULL THEN '{LocalState.METADATA_ONLY.value}'
                WHEN coalesce(st.downloaded, false) THEN '{LocalState.DOWNLOADED.value}'
                ELSE '{LocalState.NOT_DOWNLOADED.value}' END"""


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
    if q.state is not None:
        w.conditions.append(f"i.state = {w.arg(q.state.value)}")
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
    own, own_package, description, release_date = _OWN[ctype]
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
                st.downloaded_at, st.failure, st.failure_kind, {_STATE_SQL} AS state,
                st.metadata_only AS metadata_only_reason, coalesce({description}, '') AS description,
                {release_date} AS release_date
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
    (``component_state``, the component's own table) even when no refresh listed it — a code TGA does not
    know, whose download failed, is listed too. Its title and usage recommendation come from whichever of the
    listing and the download is newer (stream sequence). ``search`` is a case-insensitive substring of code or
    title (wildcards matched literally); ``training_package`` keeps the package's components as its downloaded
    release lists them (``package_components``), else codes starting with the package code or listed under
    it; ``state`` keeps one :class:`~skillstream_contracts.tga_queries.LocalState`. ``refreshed_at`` is the
    last completed refresh of the whole type (or of that package, when filtered), None if never.

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


async def catalogue_stats(db: Db, *, schema: str = READ_SCHEMA) -> CatalogueStats:
    """Counts over the read models: downloaded components per type, units parsed, elements and performance
    criteria stored, current failures by kind (``failure`` None = download failures) and the failed
    components themselves (code, type, kind, reason; newest first, at most ``MAX_FAILED_LISTED``), and the
    metadata-only components per type."""
    s = f'"{schema}"'
    failed_row = (
        "jsonb_build_object('code', code, 'component_type', component_type, 'kind', failure_kind,"
        " 'reason', failure, 'failed_at', failed_at)"
    )
    row = await db.fetchrow(
        f"""SELECT (SELECT count(*) FROM {s}.training_packages) AS training_packages,
                (SELECT count(*) FROM {s}.qualifications) AS qualifications,
                (SELECT count(*) FROM {s}.skillsets) AS skill_sets,
                (SELECT count(*) FROM {s}.units) AS units,
                (SELECT count(*) FROM {s}.unit_elements) AS elements,
                (SELECT count(*) FROM {s}.unit_performance_criteria) AS performance_criteria,
                (SELECT coalesce(jsonb_agg(jsonb_build_array(kind, n) ORDER BY kind), '[]'::jsonb) FROM (
                    SELECT failure_kind AS kind, count(*) AS n FROM {s}.component_state
                    WHERE failure IS NOT NULL GROUP BY failure_kind) f) AS failures,
                (SELECT coalesce(jsonb_agg(x.item ORDER BY x.failed_at DESC NULLS LAST, x.t, x.c), '[]'::jsonb)
                 FROM (SELECT {failed_row} AS item, failed_at, component_type AS t, code COLLATE "C" AS c
                    FROM {s}.component_state WHERE failure IS NOT NULL
                    ORDER BY failed_at DESC NULLS LAST, component_type, code COLLATE "C" LIMIT $1) x) AS failed,
                (SELECT coalesce(jsonb_object_agg(component_type, n), '{{}}'::jsonb) FROM (
                    SELECT component_type, count(*) AS n FROM {s}.component_state
                    WHERE metadata_only IS NOT NULL GROUP BY component_type) m) AS metadata_only""",
        MAX_FAILED_LISTED,
    )
    failures = [
        FailureCount(failure=None if kind == DOWNLOAD_FAILURE else ParseFailure(kind), count=n, kind=kind)
        for kind, n in msgspec.json.decode(row["failures"], type=list[tuple[str, int]])
    ]
    counts = {f: int(row[f]) for f in ("training_packages", "qualifications", "skill_sets", "units")}
    counts |= {f: int(row[f]) for f in ("elements", "performance_criteria")}
    return CatalogueStats(
        **counts,
        failures=failures,
        failed=msgspec.json.decode(row["failed"], type=list[FailedComponent]),
        metadata_only=msgspec.json.decode(row["metadata_only"], type=dict[ComponentType, int]),
    )


__all__ = ["MAX_PAGE_SIZE", "Db", "catalogue_stats", "escape_like", "list_available"]
