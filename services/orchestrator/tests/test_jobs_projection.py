"""The orchestrator's jobs read model against real NATS and PostgreSQL, live and replayed."""

from __future__ import annotations

from typing import Any

import asyncpg

from skillstream_contracts.jobs import (
    JOB_EVENTS,
    JobCancelled,
    JobCancelRequested,
    JobCompleted,
    JobItemsPlanned,
    JobQueued,
    JobRequested,
    JobStarted,
)
from skillstream_contracts.streams import JOBS, aggregate_subject
from skillstream_orchestrator.projections.jobs import JobsProjection
from skillstream_runtime.eventstore import EventStore, NewEvent, ensure_stream
from skillstream_runtime.generations import active_generation, rebuild
from skillstream_runtime.migrations import migrate_runtime
from skillstream_runtime.projections import ProjectionRunner, RunnerSettings

SETTINGS = RunnerSettings(batch_size=7, fetch_timeout=0.2)


async def test_jobs_read_model_follows_the_lifecycle_and_replays_identically(nc: Any, pg_pool: asyncpg.Pool) -> None:
    await ensure_stream(nc, JOBS)
    async with pg_pool.acquire() as conn:
        await migrate_runtime(conn)
    store = EventStore(nc, {"JOBS": JOB_EVENTS})

    async def emit(job: str, *events: Any) -> None:
        await store.append(JOBS, aggregate_subject("jobs", "job", job), job, [NewEvent(event=e) for e in events])

    await emit(
        "j1",
        JobRequested(
            job_id="j1",
            kind="tga.bulk-download",
            requested_by="alice",
            parameters={"packages": ["BSB"]},
            idempotency_key="k1",
        ),
    )
    await emit("j2", JobRequested(job_id="j2", kind="media.bulk-download", requested_by="bob"))
    await emit("j1", JobQueued(job_id="j1", kind="tga.bulk-download"), JobStarted(job_id="j1", worker="w1"))
    await emit("j1", JobItemsPlanned(job_id="j1", total_items=32))
    await emit("j2", JobQueued(job_id="j2", kind="media.bulk-download"))
    await emit("j1", JobCompleted(job_id="j1", summary={"succeeded": 31, "failed": 1}))
    await emit("j2", JobCancelRequested(job_id="j2", requested_by="bob"), JobCancelled(job_id="j2"))
    # An event for a job whose request is unknown shows nothing rather than failing the batch.
    await emit("ghost", JobQueued(job_id="ghost", kind="x"))

    projection = JobsProjection()
    gen = await active_generation(pg_pool, projection)
    await ProjectionRunner(projection, gen, "JOBS", nc, pg_pool, SETTINGS).run(until_caught_up=True)

    rows = {r["job_id"]: dict(r) for r in await pg_pool.fetch("SELECT * FROM orchestrator.jobs")}
    assert set(rows) == {"j1", "j2"}
    assert rows["j1"]["status"] == "completed"
    assert rows["j1"]["total_items"] == 32
    assert rows["j1"]["started_at"] <= rows["j1"]["finished_at"]
    assert rows["j1"]["idempotency_key"] == "k1"
    assert rows["j2"]["status"] == "cancelled"
    assert rows["j2"]["cancel_requested"]

    live = [tuple(r) for r in await pg_pool.fetch("SELECT * FROM orchestrator.jobs ORDER BY job_id")]
    assert await rebuild(projection, nc, pg_pool, settings=SETTINGS) == gen + 1
    replayed = [tuple(r) for r in await pg_pool.fetch("SELECT * FROM orchestrator.jobs ORDER BY job_id")]
    assert replayed == live
