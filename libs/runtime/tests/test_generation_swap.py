"""A blue/green swap as the live worker sees it: an expected event, logged at info, never as a failure."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from structlog.testing import capture_logs

from skillstream_runtime.eventstore import EventStore
from skillstream_runtime.generations import ProjectionWorker, rebuild
from skillstream_runtime.projections import RunnerSettings
from skillstream_testing.sample import LedgerProjection, publish, wait_for_count

FAST = RunnerSettings(batch_size=50, fetch_timeout=0.2, backoff_initial=0.01, backoff_max=0.05)


async def test_an_idle_worker_follows_a_swap_without_logging_an_error(
    nc: Any, pg_pool: asyncpg.Pool, store: EventStore
) -> None:
    await publish(store, jobs=10, per_job=1, worker="before", prefix="before")
    projection = LedgerProjection()
    worker = ProjectionWorker(projection, nc, pg_pool, FAST)
    with capture_logs() as logs:
        task = asyncio.create_task(worker.run())
        try:
            await wait_for_count(pg_pool, 10)
            await asyncio.sleep(0.3)  # idle: the runner waits in a fetch on generation 1's consumer
            await rebuild(projection, nc, pg_pool)  # swaps generation 2 in and deletes generation 1's consumer
            for _ in range(100):
                if worker.generation == 2:
                    break
                await asyncio.sleep(0.05)
            await publish(store, jobs=3, per_job=1, worker="after", prefix="after")
            await wait_for_count(pg_pool, 13)
        finally:
            worker.stop()
            await asyncio.wait_for(task, 10)
    assert worker.generation == 2
    errors = [e for e in logs if e["log_level"] in ("error", "critical", "exception")]
    assert errors == []
    swapped = [e for e in logs if e["event"] == "projection generation swapped, following"]
    assert swapped
    assert all(e["log_level"] == "info" for e in swapped)


async def test_a_worker_whose_consumer_vanishes_without_a_swap_logs_an_error(
    nc: Any, pg_pool: asyncpg.Pool, store: EventStore
) -> None:
    await publish(store, jobs=2, per_job=1, worker="before", prefix="before")
    projection = LedgerProjection()
    worker = ProjectionWorker(projection, nc, pg_pool, FAST)
    with capture_logs() as logs:
        task = asyncio.create_task(worker.run())
        try:
            await wait_for_count(pg_pool, 2)
            await asyncio.sleep(0.3)
            await nc.jetstream().delete_consumer("JOBS", "proj_job_ledger_g1")  # not a swap: a real failure
            for _ in range(100):
                if any(e["log_level"] == "error" for e in logs):
                    break
                await asyncio.sleep(0.05)
        finally:
            worker.stop()
            await asyncio.wait_for(task, 10)
    failed = [e for e in logs if e["event"] == "projection worker failed; restarting"]
    assert failed
    assert failed[0]["log_level"] == "error"
