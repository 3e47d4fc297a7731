"""What operator command lines share: one rich console, and the connections of the stack they talk to.

A command connects to ``NATS_URL`` / ``DATABASE_URL`` from the environment or, when they are unset, to the
embedded stack that ``skillstream up`` recorded in ``<DATA_DIR>/stack.json`` (:data:`STACK_FILE`: a JSON
object with ``nats_url``, ``database_url``, ``pid`` and ``services``, name → HTTP port). The core commands
(``skillstream streams`` …) and the commands services contribute (``skillstream tga sync`` …) use the same
helper, so a service package never needs the developer stack to offer a command.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

import asyncpg
import nats
from nats.aio.client import Client
from rich.console import Console

from skillstream_runtime.migrations import migrate_runtime
from skillstream_runtime.settings import Settings

STACK_FILE = "stack.json"
"""File name, inside ``DATA_DIR``, of the running local stack's record (written by ``skillstream up``)."""

NO_STACK_EXIT = 2
"""Exit status of a command that found neither configured URLs nor a running stack."""

console = Console()
"""The console every operator command prints to (one, so progress bars and messages interleave cleanly)."""


def stack_urls(settings: Settings) -> tuple[str | None, str | None]:
    """``(nats_url, dsn)``: the configured ones, each completed from ``<DATA_DIR>/stack.json`` when unset;
    either may be None when neither source has it."""
    nats_url = settings.nats_url
    dsn = settings.database_url.get_secret_value() if settings.database_url else None
    state = settings.data_dir / STACK_FILE
    if (not nats_url or not dsn) and state.exists():
        recorded = json.loads(state.read_text())
        nats_url = nats_url or recorded.get("nats_url")
        dsn = dsn or recorded.get("database_url")
    return nats_url, dsn


@contextlib.asynccontextmanager
async def connect(settings: Settings, *, database: bool = True) -> AsyncIterator[tuple[Client, asyncpg.Pool | None]]:
    """NATS and, unless ``database`` is False, a PostgreSQL pool (runtime tables migrated) of the configured
    or recorded stack; both are closed on exit.

    Raises:
        SystemExit: status :data:`NO_STACK_EXIT` after printing a hint, when a needed URL is neither
            configured nor recorded (a command line's answer, so plugin commands need not handle it).
    """
    nats_url, dsn = stack_urls(settings)
    if not nats_url or (database and not dsn):
        console.print("[red]No NATS_URL/DATABASE_URL and no running stack: start one with `skillstream up`.[/]")
        raise SystemExit(NO_STACK_EXIT)
    nc = await nats.connect(nats_url, name="skillstream-cli")
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4) if database else None
    try:
        if pool is not None:
            async with pool.acquire() as conn:
                await migrate_runtime(conn)
        yield nc, pool
    finally:
        if pool is not None:
            await pool.close()
        await nc.drain()


__all__ = ["NO_STACK_EXIT", "STACK_FILE", "connect", "console", "stack_urls"]
