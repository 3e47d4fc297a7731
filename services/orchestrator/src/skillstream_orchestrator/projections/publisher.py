"""Streams progress documents to the gateway: ``progress.jobs.<job_id>`` on core NATS.

The progress projection ends each batch with ``pg_notify`` (delivered on commit). Woken by it, the
publisher reads every document whose sequence is above the last one it published, in sequence order, and
publishes them. Because sequences follow commit order, that stream is complete and ordered: a gateway that
applies it in order never holds an older state than one it has shown. Notifications arriving while it
publishes are coalesced into the next round (so a job that changes 20 times a second is read at most
once per ``interval``). After a lost connection it catches up from its last sequence, so nothing committed
in the meantime is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg
import msgspec
import structlog

from skillstream_contracts.jobs import progress_subject
from skillstream_orchestrator.projections.progress import NOTIFY_CHANNEL
from skillstream_orchestrator.projections.progress_reads import progress_since
from skillstream_runtime.host import ServiceContext

log = structlog.get_logger(__name__)

_PAGE = 500


def publisher(interval: float = 0.1) -> Callable[[ServiceContext], Coroutine[Any, Any, None]]:
    """The background coroutine: publish changed progress documents at most every ``interval`` seconds."""

    async def run(ctx: ServiceContext) -> None:
        assert ctx.pool is not None
        wake = asyncio.Event()
        last = None
        while True:
            conn: Any = None
            try:
                conn = await asyncpg.connect(ctx.settings.dsn())
                await conn.add_listener(NOTIFY_CHANNEL, lambda *_: wake.set())
                if last is None:
                    last = await _max_sequence(ctx.pool)
                wake.set()  # catch up on what was committed before (re)connecting
                while True:
                    await wake.wait()
                    wake.clear()
                    last = await _publish_since(ctx, last)
                    await asyncio.sleep(interval)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - PostgreSQL or NATS away: reconnect and catch up
                log.warning("progress publisher interrupted, reconnecting", error=repr(e))
                await asyncio.sleep(1.0)
            finally:
                if conn is not None and not conn.is_closed():
                    await conn.close(timeout=2)

    return run


async def _max_sequence(pool: asyncpg.Pool) -> int:
    while True:
        try:
            return int(await pool.fetchval("SELECT COALESCE(max(sequence), 0) FROM orchestrator.job_progress"))
        except asyncpg.UndefinedTableError:  # the projection has not created its first generation yet
            await asyncio.sleep(0.5)


async def _publish_since(ctx: ServiceContext, last: int) -> int:
    assert ctx.pool is not None
    while True:
        async with ctx.pool.acquire() as conn:
            docs = await progress_since(conn, after_sequence=last, limit=_PAGE)
        for doc in docs:
            await ctx.nc.publish(progress_subject(doc.job_id), msgspec.json.encode(doc))
            last = max(last, doc.sequence)
        if len(docs) < _PAGE:
            return last


__all__ = ["publisher"]
