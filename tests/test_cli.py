"""The operator CLI against real NATS and PostgreSQL: streams, projections, replay, dead letters."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import nats
from typer.testing import CliRunner

from skillstream_contracts.events import EventMetadata, new_event_id, utcnow
from skillstream_contracts.jobs import JobQueued, JobRequested
from skillstream_contracts.registries import REGISTRIES
from skillstream_contracts.streams import JOBS, aggregate_subject
from skillstream_devstack.cli import app
from skillstream_orchestrator.projections.jobs import JobsProjection
from skillstream_runtime.eventstore import EventStore, NewEvent
from skillstream_runtime.projections import ProjectionRunner, RunnerSettings


async def _seed(url: str) -> None:
    nc = await nats.connect(url)
    store = EventStore(nc, REGISTRIES)
    for j in range(12):
        job = f"job-{j}"
        await store.append(
            JOBS,
            aggregate_subject("jobs", "job", job),
            job,
            [
                NewEvent(event=JobRequested(job_id=job, kind="tga.bulk-download", requested_by="ops")),
                NewEvent(event=JobQueued(job_id=job, kind="tga.bulk-download")),
            ],
        )
    # A corrupt event: valid envelope, body that is not JSON (what a broken producer might write).
    meta = EventMetadata(
        event_id=new_event_id(),
        event_type="jobs.JobQueued",
        schema_version=1,
        aggregate_id="job-3",
        occurred_at=utcnow(),
    )
    await nc.jetstream().publish(aggregate_subject("jobs", "job", "job-3"), b"{not json", headers=meta.to_headers())
    await nc.drain()


async def _publish_outside_the_projection(url: str) -> None:
    nc = await nats.connect(url)
    await nc.jetstream().publish("jobs.schedule.nightly", b"{}")
    await nc.drain()


async def _poison_then_fix_later(url: str, dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ALTER TABLE proj_jobs_g2.jobs ADD CONSTRAINT no_broken_kind CHECK (kind <> 'broken')")
    finally:
        await conn.close()
    nc = await nats.connect(url)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        await EventStore(nc, REGISTRIES).append(
            JOBS,
            aggregate_subject("jobs", "job", "job-broken"),
            "job-broken",
            [NewEvent(event=JobRequested(job_id="job-broken", kind="broken", requested_by="ops"))],
        )
        settings = RunnerSettings(fetch_timeout=0.2, max_deliver=3, backoff_initial=0.01, backoff_max=0.02)
        await ProjectionRunner(JobsProjection(), 2, "JOBS", nc, pool, settings).run(until_caught_up=True)
    finally:
        await pool.close()
        await nc.drain()


async def _fix(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ALTER TABLE proj_jobs_g2.jobs DROP CONSTRAINT no_broken_kind")
    finally:
        await conn.close()


async def _status(dsn: str, job: str) -> str | None:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT status FROM orchestrator.jobs WHERE job_id = $1", job)  # type: ignore[no-any-return]
    finally:
        await conn.close()


def test_operator_commands(nats_url: str, database_url: str, tmp_path: object) -> None:
    env = {
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "COLUMNS": "250",
        "DATA_DIR": str(tmp_path),
        "LOG_FORMAT": "console",
    }
    cli = CliRunner()

    result = cli.invoke(app, ["streams", "--ensure"], env=env)
    assert result.exit_code == 0, result.output
    assert all(name in result.output for name in ("JOBS", "TGA", "MEDIA", "ADMINISTRATE", "TRAINING"))

    asyncio.run(_seed(nats_url))

    result = cli.invoke(app, ["replay", "jobs"], env=env)
    assert result.exit_code == 0, result.output
    assert "generation 2 swapped in" in result.output
    assert re.search(r"jobs ← JOBS\s.*\s25/25\s.*\sdone\s*$", result.output, re.MULTILINE), result.output

    result = cli.invoke(app, ["projections"], env=env)
    assert result.exit_code == 0, result.output
    assert re.search(r"jobs\s+│\s+2\s+│\s+JOBS\s+│\s+25\s+│\s+25\s+│\s+0", result.output), result.output

    # The stream's last message is on a subject the projection does not read: nothing is pending for it.
    asyncio.run(_publish_outside_the_projection(nats_url))
    result = cli.invoke(app, ["projections"], env=env)
    assert re.search(r"jobs\s+│\s+2\s+│\s+JOBS\s+│\s+25\s+│\s+26\s+│\s+0\s", result.output), result.output

    async def count() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM orchestrator.jobs WHERE status = 'queued'"))
        finally:
            await conn.close()

    assert asyncio.run(count()) == 12

    result = cli.invoke(app, ["dlq", "list"], env=env)
    assert result.exit_code == 0, result.output
    assert "Dead letters (1)" in result.output
    assert "undecodable event" in result.output
    dead_id = re.search(r"│\s*(\d+)\s*│\s*jobs\s*│", result.output)
    assert dead_id, result.output

    result = cli.invoke(app, ["dlq", "retry", "--all"], env=env)
    assert result.exit_code == 1
    assert "failed again" in result.output

    result = cli.invoke(app, ["dlq", "discard", dead_id.group(1)], env=env)
    assert result.exit_code == 0
    assert "discarded 1" in result.output
    assert "Dead letters (0)" in cli.invoke(app, ["dlq", "list"], env=env).output

    # A poison event whose cause an operator can fix: a constraint the live projection's rows violate.
    asyncio.run(_poison_then_fix_later(nats_url, database_url))
    result = cli.invoke(app, ["dlq", "list"], env=env)
    assert "Dead letters (1)" in result.output, result.output
    assert "no_broken_kind" in result.output, result.output
    asyncio.run(_fix(database_url))
    result = cli.invoke(app, ["dlq", "retry", "--all"], env=env)
    assert result.exit_code == 0, result.output
    assert "applied" in result.output
    assert "Dead letters (0)" in cli.invoke(app, ["dlq", "list"], env=env).output
    assert asyncio.run(_status(database_url, "job-broken")) == "requested"

    # an empty stream is replayed at once: 0/0 and done, not a bar waiting for one event
    result = cli.invoke(app, ["replay", "media_downloads"], env=env)
    assert result.exit_code == 0, result.output
    empty = [line for line in result.output.splitlines() if "media_downloads ← MEDIA" in line]
    assert empty, result.output
    assert re.search(r"\s0/0\s.*\sdone\s*$", empty[-1]), result.output

    result = cli.invoke(app, ["replay", "nope"], env=env)
    assert result.exit_code == 2
    assert "Unknown projection" in result.output
