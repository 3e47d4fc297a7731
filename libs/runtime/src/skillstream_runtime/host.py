"""The service host: runs one service definition as a process.

Start-up: logging → NATS → the service's stream → PostgreSQL pool and migrations (runtime tables, then the
service's ``migrations/NNNN_*.sql``) → ``nats.micro`` endpoints (queue group = service name, so replicas
share the load) → projection workers → HTTP ``/healthz`` (alive), ``/readyz`` (NATS connected, PostgreSQL
answers, workers running) and ``/metrics`` (Prometheus), plus the service's own ASGI app if it has one.

Shutdown on SIGTERM/SIGINT: stop taking requests, cancel background work, let projection batches in hand
finish, drain NATS (or close it when the server is gone), close the pool. Every step is bounded by what is
left of ``SHUTDOWN_GRACE`` seconds, counted from the signal; the process exits within that grace even when
NATS or PostgreSQL is unreachable, a task ignores cancellation or the event loop is busy (a watchdog thread
ends it with exit status 1 when the grace runs out, or at once on a second signal).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Collection, Coroutine, Iterator, Sequence
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

_EXIT_RESERVE = 1.0  # seconds of SHUTDOWN_GRACE (at most a fifth of it) kept for the interpreter's own exit
_FORCED_EXIT = 1  # exit status when the graceful stop overran SHUTDOWN_GRACE or a second signal came


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


async def stop_service(ctx: ServiceContext, *, deadline: float | None = None) -> None:
    """Graceful stop, finished by ``deadline`` (``time.monotonic()`` seconds; default ``shutdown_grace``
    from now) whatever the connections' state.

    Background coroutines are cancelled (reactors and job workers are redelivery-safe: what they had in hand
    goes to another replica), projection workers finish their batch, NATS drains (or is closed when it is
    not connected: a drain needs the server), the pool closes. A step that overruns is cancelled and left
    behind, never awaited again, so a task that ignores cancellation cannot hold the stop up.
    """
    if deadline is None:
        deadline = time.monotonic() + ctx.settings.shutdown_grace
    for w in ctx.workers:
        w.stop()
    for t in ctx.background:
        t.cancel()
    await _settle(ctx.background, deadline, "background tasks")
    if not await _settle(ctx.tasks, deadline, "projection workers"):
        for t in ctx.tasks:
            t.cancel()
    if ctx.nc.is_connected:
        await _settle([asyncio.ensure_future(ctx.nc.drain())], deadline, "nats drain")
    if not ctx.nc.is_closed:  # not connected, or the drain overran: close ends reconnecting and pending work
        await _settle([asyncio.ensure_future(ctx.nc.close())], max(deadline, time.monotonic() + 0.2), "nats close")
    if ctx.pool is not None and not await _settle([asyncio.ensure_future(ctx.pool.close())], deadline, "pool"):
        ctx.pool.terminate()


async def _settle(tasks: Collection[asyncio.Future[Any]], deadline: float, what: str) -> bool:
    """Wait until every one of ``tasks`` is done or ``deadline`` passes; True when all are done. Overrunning
    ones are cancelled without waiting for them; errors of finished ones are logged, not raised."""
    if not tasks:
        return True
    done, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
    for t in done:
        if not t.cancelled() and t.exception() is not None:
            log.warning("shutdown step failed", step=what, error=repr(t.exception()))
    for t in pending:
        t.cancel()
    if pending:
        log.warning("shutdown step overran its time and was cancelled", step=what, pending=len(pending))
    return not pending


class _StopSignals:
    """SIGTERM/SIGINT → :attr:`stop` set in the event loop, and a deadline that holds even when the loop is busy.

    The Python-level handler only writes a byte to a pipe (no lock, whatever the main thread was doing). A
    daemon thread waits for that byte, notes the time (:attr:`signalled_at`), wakes the loop, and ends the
    process with :data:`_FORCED_EXIT` if it still runs ``grace`` seconds later, or at once on a second signal.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, grace: float, service: str, log_format: str) -> None:
        self.stop = asyncio.Event()
        self.signalled_at: float | None = None
        self._loop, self._grace, self._service, self._json = loop, grace, service, log_format == "json"
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        threading.Thread(target=self._watch, name="shutdown-deadline", daemon=True).start()

    def _on_signal(self, signum: int, frame: Any) -> None:
        with contextlib.suppress(OSError):  # pipe full: a byte is already waiting, which says the same
            os.write(self._write, b"s")

    def _watch(self) -> None:
        os.read(self._read, 1)
        self.signalled_at = time.monotonic()
        with contextlib.suppress(RuntimeError):  # loop already closed: the process is on its way out
            self._loop.call_soon_threadsafe(self.stop.set)
        second, _, _ = select.select([self._read], [], [], self._grace)
        reason = "a second signal" if second else f"SHUTDOWN_GRACE ({self._grace:g}s) ran out"
        # straight to the file descriptor: the logger's lock may be held by the thread that is stuck
        line = {"event": "service stopping now", "reason": reason, "level": "error", "service": self._service}
        text = (
            json.dumps(line) if self._json else f"[error    ] service stopping now: {reason}  service={self._service}"
        )
        with contextlib.suppress(OSError):
            os.write(sys.stderr.fileno(), text.encode() + b"\n")
        os._exit(_FORCED_EXIT)


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
    signals = _StopSignals(asyncio.get_running_loop(), settings.shutdown_grace, definition.name, settings.log_format)
    signals.install()
    http = asyncio.create_task(server.serve())
    log.info(
        "service started",
        http_port=port,
        endpoints=[e.subject for e in definition.endpoints],
        projections=[p.name for p in definition.projections],
    )
    await signals.stop.wait()
    log.info("service stopping")
    grace = settings.shutdown_grace
    deadline = (signals.signalled_at or time.monotonic()) + grace - min(_EXIT_RESERVE, grace / 5)
    ctx.stopping.set()
    server.should_exit = True
    await stop_service(ctx, deadline=deadline)
    await _settle([http], deadline, "http")
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
