"""Projection replay benchmark (``make bench`` name ``replay``): rows (name, events/s, ratio, target)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import nats
from nats.js.api import AckPolicy, ConsumerConfig

from skillstream_contracts.jobs import JobItemsPlanned, JobQueued, JobRequested, JobStarted
from skillstream_contracts.registries import REGISTRIES
from skillstream_contracts.streams import JOBS, aggregate_subject
from skillstream_devstack.embedded import start_nats, start_postgres
from skillstream_orchestrator.projections.jobs import JobsProjection
from skillstream_runtime.eventstore import EventStore, NewEvent, ensure_stream
from skillstream_runtime.generations import active_generation, rebuild
from skillstream_runtime.migrations import migrate_runtime


async def bench_replay(nc: Any, pool: asyncpg.Pool, n: int) -> list[tuple[str, float, float]]:
    await ensure_stream(nc, JOBS)
    store = EventStore(nc, REGISTRIES)
    per_job = 10
    appends = []
    for j in range(n // per_job):
        job = f"job-{j:06d}"
        evs: list[Any] = [
            JobRequested(job_id=job, kind="bench", requested_by="bench"),
            JobQueued(job_id=job, kind="bench"),
            JobStarted(job_id=job, worker="w"),
        ]
        evs += [JobItemsPlanned(job_id=job, total_items=k) for k in range(per_job - len(evs))]
        appends.append((aggregate_subject("jobs", "job", job), job, [NewEvent(event=e) for e in evs], 0))
    results = await store.append_many(JOBS, appends, concurrency=32)
    assert not [r for r in results if isinstance(r, BaseException)]

    js = nc.jetstream()
    await js.add_consumer(
        "JOBS",
        ConsumerConfig(durable_name="bench_drain", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=2000),
    )
    psub = await js.pull_subscribe_bind("bench_drain", stream="JOBS")
    t0 = time.perf_counter()
    seen = 0
    while seen < n:
        for m in await psub.fetch(1000, timeout=5):
            await m.ack()
            seen += 1
    t_raw = time.perf_counter() - t0

    projection = JobsProjection()
    await active_generation(pool, projection)
    t0 = time.perf_counter()
    await rebuild(projection, nc, pool)
    t_ours = time.perf_counter() - t0
    rows = await pool.fetchval("SELECT count(*) FROM orchestrator.jobs")
    assert rows == n // per_job, rows
    return [
        ("raw pull-consumer drain, no-op handler (baseline)", n / t_raw, 1.0),
        ("projection replay into PostgreSQL (jobs read model)", n / t_ours, t_raw / t_ours),
    ]


async def run_replay(n: int) -> list[tuple[str, float, float, str]]:
    """Start embedded NATS and PostgreSQL, run :func:`bench_replay`; rows (name, events/s, ratio, target)."""
    with tempfile.TemporaryDirectory() as tmp:
        server = start_nats(Path(tmp) / "nats")
        pg = start_postgres(Path(tmp) / "pg")
        nc = await nats.connect(server.url)
        pool = await asyncpg.create_pool(pg.dsn(), min_size=2, max_size=4)
        try:
            async with pool.acquire() as conn:
                await migrate_runtime(conn)
            rows = await bench_replay(nc, pool, n)
        finally:
            await pool.close()
            await nc.drain()
            server.stop()
            pg.stop()
    return [(name, rate, ratio, "" if ratio == 1.0 else "≥ 0.50×") for name, rate, ratio in rows]


__all__ = ["run_replay"]
