"""Blue/green generations of a projection: create, swap in atomically, retire; the live worker; rebuild.

Readers query views in the projection's ``read_schema``; each view points at the table of the same name in
the active generation schema ``proj_<name>_g<N>``. A rebuild (``skillstream replay``) builds generation
N+1 from stream sequence 1 with its own durable consumer while generation N keeps serving reads and
following the stream, then swaps the views and ``skillstream.projections.active_generation`` in one
transaction (``NOTIFY skillstream_projection_swapped``) and drops generation N. The live
:class:`ProjectionWorker` notices the swap on its next batch and continues on generation N+1's consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg
import nats.js.errors
import structlog
from nats.aio.client import Client

from skillstream_runtime.errors import ReplayError
from skillstream_runtime.projections import (
    GenerationRetired,
    Projection,
    ProjectionRunner,
    RunnerSettings,
    consumer_name,
    generation_schema,
)

log = structlog.get_logger(__name__)

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``(stream, applied_sequence, stream_last_sequence)`` while a rebuild advances."""

_LOCK_NAMESPACE = 0x50524F4A  # advisory lock namespace for generation changes ("PROJ")
_ACTIVE_NAMESPACE = 0x52554E53  # advisory lock namespace of the single active worker ("RUNS")


async def _lock(conn: asyncpg.Connection, projection: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _LOCK_NAMESPACE, projection)


async def _create_generation(conn: asyncpg.Connection, projection: Projection, generation: int) -> None:
    schema = generation_schema(projection.name, generation)
    await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await projection.create_tables(conn, schema)
    for stream in projection.sources:
        await conn.execute(
            "INSERT INTO skillstream.projection_checkpoints (projection, generation, stream, last_sequence)"
            " VALUES ($1, $2, $3, 0) ON CONFLICT (projection, generation, stream) DO UPDATE SET last_sequence = 0",
            projection.name,
            generation,
            stream,
        )


async def _point_views(conn: asyncpg.Connection, projection: Projection, generation: int) -> None:
    schema = generation_schema(projection.name, generation)
    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{projection.read_schema}"')
    for table in projection.tables:
        view = f'"{projection.read_schema}"."{table}"'
        target = f'SELECT * FROM "{schema}"."{table}"'
        try:
            async with conn.transaction():  # savepoint: same columns → replace keeps the view's identity
                await conn.execute(f"CREATE OR REPLACE VIEW {view} AS {target}")
        except asyncpg.PostgresError:
            await conn.execute(f"DROP VIEW IF EXISTS {view}")
            await conn.execute(f"CREATE VIEW {view} AS {target}")


async def active_generation(pool: asyncpg.Pool, projection: Projection) -> int:
    """The active generation, creating generation 1 (tables, views, registry row) on first use."""
    async with pool.acquire() as conn, conn.transaction():
        await _lock(conn, projection.name)
        gen = await conn.fetchval(
            "SELECT active_generation FROM skillstream.projections WHERE name = $1", projection.name
        )
        if gen is not None:
            return int(gen)
        await _create_generation(conn, projection, 1)
        await _point_views(conn, projection, 1)
        await conn.execute(
            "INSERT INTO skillstream.projections (name, active_generation, read_schema) VALUES ($1, 1, $2)",
            projection.name,
            projection.read_schema,
        )
        return 1


async def checkpoints(pool: asyncpg.Pool, projection: str, generation: int) -> dict[str, int]:
    """Stream → last applied sequence of one generation."""
    rows = await pool.fetch(
        "SELECT stream, last_sequence FROM skillstream.projection_checkpoints"
        " WHERE projection = $1 AND generation = $2",
        projection,
        generation,
    )
    return {r["stream"]: int(r["last_sequence"]) for r in rows}


async def pending_events(nc: Client, projection: str, generation: int, stream: str) -> int | None:
    """Events of ``stream`` that generation ``generation`` of ``projection`` has still to apply: its durable
    consumer's ``num_pending`` (not delivered yet) + ``num_ack_pending`` (delivered, not acknowledged).

    The consumer's subject filters leave out what the projection does not read, so a stream whose last messages
    are on other subjects shows 0 once everything wanted is applied (``stream last_seq - checkpoint`` would
    not). None when the generation has no consumer on ``stream`` (no runner has started it yet).
    """
    try:
        info = await nc.jetstream().consumer_info(stream, consumer_name(projection, generation))
    except nats.js.errors.NotFoundError:
        return None
    return int(info.num_pending or 0) + int(info.num_ack_pending or 0)


class ProjectionWorker:
    """Keeps a projection's active generation up to date, following swaps; one per service replica."""

    def __init__(
        self, projection: Projection, nc: Client, pool: asyncpg.Pool, settings: RunnerSettings | None = None
    ) -> None:
        self.projection = projection
        self._nc = nc
        self._pool = pool
        self._settings = settings or RunnerSettings()
        self._runners: list[ProjectionRunner] = []
        self._stopping = False
        self.generation = 0

    def stop(self) -> None:
        """Stop after the batches in hand."""
        self._stopping = True
        for r in self._runners:
            r.stop()

    async def run(self) -> None:
        """Run until :meth:`stop`: wait to be the projection's single active runner (a session advisory
        lock, so replicas stand by), then follow the active generation; restart on swaps and, after a
        pause, on unexpected errors (a restart re-reads from the checkpoint)."""
        delay = 0.5
        while not self._stopping:
            try:
                async with self._pool.acquire() as lock_conn:
                    if not await lock_conn.fetchval(
                        "SELECT pg_try_advisory_lock($1, hashtext($2))",
                        _ACTIVE_NAMESPACE,
                        self.projection.name,
                    ):
                        await asyncio.sleep(1.0)  # another replica runs this projection
                        continue
                    try:
                        await self._follow()
                    finally:
                        await lock_conn.execute(
                            "SELECT pg_advisory_unlock($1, hashtext($2))",
                            _ACTIVE_NAMESPACE,
                            self.projection.name,
                        )
                delay = 0.5
            except Exception as e:
                if self._stopping:
                    return
                log.exception("projection worker failed; restarting", projection=self.projection.name, error=repr(e))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _follow(self) -> None:
        while not self._stopping:
            self.generation = await active_generation(self._pool, self.projection)
            self._runners = [
                ProjectionRunner(self.projection, self.generation, s, self._nc, self._pool, self._settings)
                for s in self.projection.sources
            ]
            if self._stopping:
                return
            tasks = [asyncio.create_task(r.run()) for r in self._runners]
            try:
                await asyncio.gather(*tasks)
            except GenerationRetired as e:
                log.info("projection generation swapped, following", projection=self.projection.name, reason=str(e))
            finally:
                for r in self._runners:
                    r.stop()
                await asyncio.gather(*tasks, return_exceptions=True)


async def rebuild(
    projection: Projection,
    nc: Client,
    pool: asyncpg.Pool,
    *,
    settings: RunnerSettings | None = None,
    on_progress: ProgressCallback | None = None,
) -> int:
    """Rebuild ``projection`` from stream sequence 1 into a fresh generation and swap it in.

    Reads keep being served from the old generation until the swap, which is one transaction. Returns
    the new generation number.

    Raises:
        ReplayError: the swap found the registry changed underneath (another rebuild won).
    """
    settings = settings or RunnerSettings(batch_size=1000, fetch_timeout=0.5)
    report: ProgressCallback = on_progress or (lambda _stream, _done, _last: None)
    old = await active_generation(pool, projection)
    async with pool.acquire() as conn, conn.transaction():
        await _lock(conn, projection.name)
        latest = await conn.fetchval(
            "SELECT coalesce(max(generation), 0) FROM skillstream.projection_checkpoints WHERE projection = $1",
            projection.name,
        )
        new = max(int(latest), old) + 1
        await _create_generation(conn, projection, new)
    js = nc.jetstream()
    for stream in projection.sources:
        runner = ProjectionRunner(projection, new, stream, nc, pool, settings, check_active=False)
        info = await js.stream_info(stream)
        last = int(info.state.last_seq)
        reporter = asyncio.create_task(_report(runner, stream, last, report))
        try:
            await runner.run(until_caught_up=True)
        finally:
            reporter.cancel()
        report(stream, max(runner.checkpoint, last), last)
    await swap(pool, projection, old, new)
    await retire(nc, pool, projection, old)
    return new


async def _report(runner: ProjectionRunner, stream: str, last: int, cb: ProgressCallback) -> None:
    while True:
        cb(stream, runner.checkpoint, last)
        await asyncio.sleep(0.2)


async def swap(pool: asyncpg.Pool, projection: Projection, old: int, new: int) -> None:
    """Point the views at generation ``new`` and make it active, atomically.

    Raises:
        ReplayError: the active generation is no longer ``old``.
    """
    async with pool.acquire() as conn, conn.transaction():
        await _lock(conn, projection.name)
        current = await conn.fetchval(
            "SELECT active_generation FROM skillstream.projections WHERE name = $1 FOR UPDATE",
            projection.name,
        )
        if current != old:
            raise ReplayError(f"{projection.name}: active generation is {current}, expected {old}")
        old_schema, new_schema = generation_schema(projection.name, old), generation_schema(projection.name, new)
        await projection.before_swap(conn, old_schema, new_schema)
        await _point_views(conn, projection, new)
        await conn.execute(
            "UPDATE skillstream.projections SET active_generation = $2, updated_at = now() WHERE name = $1",
            projection.name,
            new,
        )
        await conn.execute("SELECT pg_notify('skillstream_projection_swapped', $1)", projection.name)
    log.info("projection swapped", projection=projection.name, old=old, new=new)


async def retire(nc: Client, pool: asyncpg.Pool, projection: Projection, generation: int) -> None:
    """Drop a retired generation: its schema, checkpoints, dead letters and durable consumers."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f'DROP SCHEMA IF EXISTS "{generation_schema(projection.name, generation)}" CASCADE')
        await conn.execute(
            "DELETE FROM skillstream.projection_checkpoints WHERE projection = $1 AND generation = $2",
            projection.name,
            generation,
        )
        await conn.execute(
            "DELETE FROM skillstream.dead_letters WHERE projection = $1 AND generation = $2",
            projection.name,
            generation,
        )
    js = nc.jetstream()
    for stream in projection.sources:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_consumer(stream, consumer_name(projection.name, generation))


__all__ = [
    "ProgressCallback",
    "ProjectionWorker",
    "active_generation",
    "checkpoints",
    "pending_events",
    "rebuild",
    "retire",
    "swap",
]
