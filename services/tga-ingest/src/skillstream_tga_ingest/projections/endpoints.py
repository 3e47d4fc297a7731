"""Query handlers of tga-ingest (``qry.tga.*``, :mod:`skillstream_contracts.tga_queries`).

Each reads the service's own read models through :mod:`skillstream_tga_ingest.projections.queries`; an
unknown code replies ``not_found``. Downloads are not commands here: they are jobs the orchestrator
dispatches to the job handlers in :mod:`skillstream_tga_ingest.handlers`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from skillstream_contracts import ErrorCode
from skillstream_contracts.tga_queries import (
    CATALOGUE_STATS,
    GET_QUALIFICATION,
    GET_UNIT,
    GET_UNIT_CRITERIA,
    GET_UNIT_ELEMENTS,
    LIST_AVAILABLE,
    CataloguePage,
    CatalogueStats,
    GetCatalogueStats,
    GetComponent,
    ListAvailable,
)
from skillstream_runtime.endpoints import Endpoint
from skillstream_runtime.errors import CommandRejected
from skillstream_runtime.host import ServiceContext
from skillstream_tga_ingest.projections import queries

T = TypeVar("T")


async def list_available(ctx: ServiceContext, q: ListAvailable) -> CataloguePage:
    """A page of the catalogue with each row's local state.

    Raises:
        CommandRejected: ``invalid_request`` for a page below 1 or a page size outside 1..500.
    """
    assert ctx.pool is not None
    async with ctx.pool.acquire() as conn:
        return await queries.list_available(conn, q)


def _by_code(read: Callable[[Any, str], Awaitable[T | None]], what: str) -> Callable[..., Awaitable[T]]:
    async def handle(ctx: ServiceContext, q: GetComponent) -> T:
        assert ctx.pool is not None
        async with ctx.pool.acquire() as conn:
            found = await read(conn, q.code.strip().upper())
        if found is None:
            raise CommandRejected(ErrorCode.NOT_FOUND, f"no {what} {q.code} has been downloaded")
        return found

    return handle


async def catalogue_stats(ctx: ServiceContext, q: GetCatalogueStats) -> CatalogueStats:
    """Counts over the read models (the demo's summary)."""
    assert ctx.pool is not None
    async with ctx.pool.acquire() as conn:
        return await queries.catalogue_stats(conn)


ENDPOINTS = (
    Endpoint(name="list_available", subject=LIST_AVAILABLE, request_type=ListAvailable, handler=list_available),
    Endpoint(name="get_unit", subject=GET_UNIT, request_type=GetComponent, handler=_by_code(queries.get_unit, "unit")),
    Endpoint(
        name="get_unit_elements",
        subject=GET_UNIT_ELEMENTS,
        request_type=GetComponent,
        handler=_by_code(queries.get_unit_elements, "unit"),
    ),
    Endpoint(
        name="get_unit_performance_criteria",
        subject=GET_UNIT_CRITERIA,
        request_type=GetComponent,
        handler=_by_code(queries.get_unit_performance_criteria, "unit"),
    ),
    Endpoint(
        name="get_qualification",
        subject=GET_QUALIFICATION,
        request_type=GetComponent,
        handler=_by_code(queries.get_qualification, "qualification"),
    ),
    Endpoint(name="catalogue_stats", subject=CATALOGUE_STATS, request_type=GetCatalogueStats, handler=catalogue_stats),
)

__all__ = ["ENDPOINTS", "catalogue_stats", "list_available"]
