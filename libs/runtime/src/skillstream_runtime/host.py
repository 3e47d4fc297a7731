"""The service host: runs one service definition as a process.

Start-up: logging → NATS → the service's stream → PostgreSQL pool and migrations (runtime tables, then the
service's ``migrations/NNNN_*.sql``) → ``nats.micro`` endpoints (queue group = service name, so replicas
share the load) → projection workers → HTTP ``/healthz`` (alive), ``/readyz`` (NATS connected, PostgreSQL
answers, workers running) and ``/metrics`` (Prometheus), plus the service's own ASGI app if it has one.

Shutdown on SIGTERM/SIGINT: stop taking requests, let projection batches in hand finish (up to
``SHUTDOWN_GRACE`` seconds), drain NATS, close the pool.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any

import asyncpg
import nats
import structlog
import uvicorn
from nats.aio.client import Client
from nats.micro import add_service
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from skillstream_contracts.registries import REGISTRIES
from skillstream_contracts.streams import StreamDefinition
from skillstream_runtime.endpoints import Endpoint, make_micro_handler
from skillstream_runtime.eventstore import EventStore, ensure_stream
from skillstream_runtime.generations import ProjectionWorker
from skillstream_runtime.logging import configure_logging
from skillstream_runtime.migrations import migrate, migrate_runtime, read_migrations
from skillstream_runtime.projections import Projection
from skillstream_runtime.settings import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class ServiceDefinition:
    """What a service is made of; each service's ``bootstrap.definition()`` returns one.

    ``stream``: the stream it owns (None for the gateway). ``migrations``: a package directory of
    ``NNNN_*.sql`` files. ``app``: an optional ASGI app factory served beside health and metrics.
    ``startup``: coroutines awaited in order after migrations and before endpoints and workers start
    (creating the infrastructure the service needs). ``background``: coroutines started with the service
    (reactors, job workers, publishers); one that ends makes ``/readyz`` fail.
    """

    name: str
    description: str
    version: str = "0.1.0"
    default_http_port: int = 8100
    stream: StreamDefinition | None = None
    migrations: Traversable | None = None
    projections: Sequence[Projection] = ()
    endpoints: Sequence[Endpoint] = ()
    needs_database: bool = True
    app: Callable[[ServiceContext], ASGIApp] | None = None
    startup: Sequence[Callable[[ServiceContext], Awaitable[None]]] = ()
    background: Sequence[Callable[[ServiceContext], Coroutine[Any, Any, None]]] = ()


@dataclass(kw_only=True)
class ServiceContext:
    """What handlers and workers get: connections and settings."""

    definition: ServiceDefinition
    settings: Settings
    nc: Client
    store: EventStore
    pool: asyncpg.Pool | None = None
    workers: list[ProjectionWorker] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    """Projection workers: on stop they finish the batch in hand (up to ``shutdown_grace``)."""
    background: list[asyncio.Task[Any]] = field(default_factory=list)
    """The definition's background coroutines: cancelled at once on stop (they are redelivery-safe)."""
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when shutdown begins: long-lived responses (SSE streams) end so HTTP can stop."""


async def connect_nats(settings: Settings, name: str) -> Client:
    """Connect to ``NATS_URL`` with endless reconnects.

    Raises:
        RuntimeError: ``NATS_URL`` is not set.
    """
    if not settings.nats_url:
        raise RuntimeError("NATS_URL is not set (run under `skillstream up` or set it)")
    options: dict[str, Any] = {"name": name, "max_reconnect_attempts": -1, "reconnect_time_wait": 1}
    if settings.nats_credentials:
        options["user_credentials"] = str(settings.nats_credentials)
    return await nats.connect(settings.nats_url, **options)


async def start_service(definition: ServiceDefinition, settings: Settings) -> ServiceContext:
    """Connect, migrate and start endpoints and projection workers; returns the running context."""
    nc = await connect_nats(settings, definition.name)
    store = EventStore(nc, REGISTRIES)
    ctx = ServiceContext(definition=definition, settings=settings, nc=nc, store=store)
    if definition.stream is not None:
        await ensure_stream(nc, definition.stream, settings.stream_replicas)
    if definition.needs_database:
        ctx.pool = await asyncpg.create_pool(settings.dsn(), min_size=1, max_size=settings.db_pool_max)
        async with ctx.pool.acquire() as conn:
            await migrate_runtime(conn)
            if definition.migrations is not None:
                applied = await migrate(conn, definition.name, read_migrations(definition.migrations))
                if applied:
                    log.info("migrations applied", migrations=applied)
    for step in definition.startup:
        await step(ctx)
    if definition.endpoints:
        svc = await add_service(
            nc,
            name=definition.name.replace("-", "_"),
            version=definition.version,
            description=definition.description,
        )
        for ep in definition.endpoints:
            await svc.add_endpoint(
                name=ep.name,
                subject=ep.subject,
                handler=make_micro_handler(ep, ctx),
                queue_group=definition.name,
            )
    for projection in definition.projections:
        assert ctx.pool is not None, "projections need a database"
        worker = ProjectionWorker(projection, nc, ctx.pool)
        ctx.workers.append(worker)
        ctx.tasks.append(asyncio.create_task(worker.run(), name=f"projection:{projection.name}"))
    for bg in definition.background:
        ctx.background.append(asyncio.create_task(bg(ctx), name=f"background:{getattr(bg, '__qualname__', bg)}"))
    return ctx


async def stop_service(ctx: ServiceContext) -> None:
    """Graceful stop: background coroutines are cancelled (reactors and job workers are redelivery-safe:
    what they had in hand goes to another replica), projection workers finish their batch (bounded by
    ``shutdown_grace``), then NATS drains."""
    for w in ctx.workers:
        w.stop()
    for t in ctx.background:
        t.cancel()
    await asyncio.gather(*ctx.background, return_exceptions=True)
    if ctx.tasks:
        _, pending = await asyncio.wait(ctx.tasks, timeout=ctx.settings.shutdown_grace)
        for t in pending:
            t.cancel()
    with contextlib.suppress(Exception):
        await ctx.nc.drain()
    if ctx.pool is not None:
        await ctx.pool.close()


def health_app(ctx: ServiceContext) -> Starlette:
    """``/healthz``, ``/readyz``, ``/metrics``, and the service's own app mounted at ``/``."""

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "service": ctx.definition.name})

    async def readyz(_: Request) -> JSONResponse:
        checks: dict[str, bool] = {"nats": ctx.nc.is_connected}
        if ctx.pool is not None:
            try:
                checks["postgres"] = await asyncio.wait_for(ctx.pool.fetchval("SELECT 1"), 2) == 1
            except Exception:  # noqa: BLE001 - any failure means not ready
                checks["postgres"] = False
        checks["workers"] = all(not t.done() for t in (*ctx.tasks, *ctx.background))
        ok = all(checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    routes: list[Any] = [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
    if ctx.definition.app is not None:
        routes.append(Mount("/", app=ctx.definition.app(ctx)))
    return Starlette(routes=routes)


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the host owns SIGTERM/SIGINT and stops uvicorn itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(definition: ServiceDefinition, settings: Settings) -> None:
    """Run the service until SIGTERM/SIGINT, then shut down gracefully."""
    configure_logging(settings.log_level, settings.log_format, definition.name)
    ctx = await start_service(definition, settings)
    port = settings.http_port or definition.default_http_port
    server = _QuietServer(
        uvicorn.Config(
            health_app(ctx),
            host=settings.http_host,
            port=port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=max(1, int(settings.shutdown_grace)),  # backstop for open connections
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    http = asyncio.create_task(server.serve())
    log.info(
        "service started",
        http_port=port,
        endpoints=[e.subject for e in definition.endpoints],
        projections=[p.name for p in definition.projections],
    )
    await stop.wait()
    log.info("service stopping")
    ctx.stopping.set()
    server.should_exit = True
    await stop_service(ctx)
    await http
    log.info("service stopped")


def main(definition: ServiceDefinition, argv: Sequence[str] | None = None) -> None:
    """Command line of a service process: ``skillstream-<name> [--http-port N]``."""
    parser = argparse.ArgumentParser(
        prog=f"skillstream-{definition.name}",
        description=f"{definition.description}. Settings come from the environment (see .env.example): "
        "NATS_URL, DATABASE_URL, HTTP_PORT, LOG_LEVEL, LOG_FORMAT, SHUTDOWN_GRACE.",
    )
    parser.add_argument("--http-port", type=int, help=f"health/metrics port (default {definition.default_http_port})")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.http_port:
        settings.http_port = args.http_port
    try:
        asyncio.run(serve(definition, settings))
    except RuntimeError as e:
        print(f"skillstream-{definition.name}: {e}", file=sys.stderr)
        raise SystemExit(2) from e


__all__ = [
    "ServiceContext",
    "ServiceDefinition",
    "connect_nats",
    "health_app",
    "main",
    "serve",
    "start_service",
    "stop_service",
]
