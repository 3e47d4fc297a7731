"""Shared fixtures of the runtime tests that run projections on real NATS JetStream and PostgreSQL (a module
with its own ``store`` fixture, e.g. the in-memory one, overrides this one)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from skillstream_contracts.jobs import JOB_EVENTS
from skillstream_contracts.streams import JOBS
from skillstream_runtime.eventstore import EventStore, ensure_stream
from skillstream_runtime.migrations import migrate_runtime


@pytest.fixture
async def store(nc: Any, pg_pool: asyncpg.Pool) -> EventStore:
    """An event store on a fresh ``JOBS`` stream, with the runtime's tables migrated (checkpoints, dead
    letters)."""
    await ensure_stream(nc, JOBS)
    async with pg_pool.acquire() as conn:
        await migrate_runtime(conn)
    return EventStore(nc, {"JOBS": JOB_EVENTS})
