"""Projection replay benchmark (``make bench`` name ``replay``): rows (name, events/s, ratio, target).

The baseline drains each stream the way :class:`~skillstream_runtime.projections.ProjectionRunner` reads it
(a durable pull consumer on the subjects the runner's consumer is given, batches of 1,000 with the next batch
fetched while the current one is handled, acks after the batch) but does nothing with the events; each
projection row rebuilds one projection from sequence 1 (:func:`~skillstream_runtime.generations.rebuild`), and
its ratio is against the drain of its stream. Workloads: ``n`` job events on ``JOBS`` (ten per job), ``n``
segment events of one bulk download on ``MEDIA`` (:mod:`replay_media`) and ``n // 5`` unit download events
on ``TGA`` built from the real unit files (:mod:`replay_tga`; about 7 KB and 64 child rows per unit).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import asyncpg
import nats
from nats.js.api import AckPolicy, ConsumerConfig
from replay_media import JOB, append_media
from replay_tga import append_units

from skillstream_contracts.jobs import JobItemsPlanned, JobQueued, JobRequested, JobStarted
from skillstream_contracts.registries import REGISTRIES
from skillstream_contracts.streams import JOBS, MEDIA, aggregate_subject
from skillstream_devstack.embedded import start_nats, start_postgres
from skillstream_media_downloader.projections.projection import DownloadsProjection
from skillstream_orchestrator.projections.jobs import JobsProjection
from skillstream_orchestrator.projections.progress import ProgressProjection
from skillstream_runtime.eventstore import EventStore, NewEvent, ensure_stream
from skillstream_runtime.generations import active_generation, rebuild
from skillstream_runtime.migrations import migrate, migrate_runtime, read_migrations
from skillstream_runtime.projections import Projection
from skillstream_runtime.subjectfilter import SubjectFilter
from skillstream_tga_ingest.projections.units import UnitsProjection

BATCH = 1000
TARGET = "≥ 0.80×"
Row = tuple[str, float, float]


async def _append_jobs(store: EventStore, nc: Any, n: int) -> int:
    """``n // 10`` jobs of ten events each on ``JOBS``; returns the number of jobs."""
    await ensure_stream(nc, JOBS)
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
    return n // per_job


async def drain(nc: Any, stream: str, n: int, filters: tuple[str, ...] = ()) -> float:
    """Seconds to read ``n`` events of ``stream`` as the projection runner does, handling none of them.

    ``filters``: the projection source's subject filters; the consumer gets the ones the runner's would
    (:class:`~skillstream_runtime.subjectfilter.SubjectFilter`), so both read the same messages.
    """
    js = nc.jetstream()
    durable = f"bench_drain_{stream.lower()}"
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        max_ack_pending=2 * BATCH,
        filter_subjects=SubjectFilter(filters).consumer_filters,
    )
    await js.add_consumer(stream, config)
    psub = await js.pull_subscribe_bind(durable, stream=stream)
    t0 = time.perf_counter()
    seen = 0
    prefetch = asyncio.create_task(psub.fetch(BATCH, timeout=5))
    while True:
        msgs = await prefetch
        seen += len(msgs)
        if seen < n:
            prefetch = asyncio.create_task(psub.fetch(BATCH, timeout=5))
        for m in msgs:
            await m.ack()
        if seen >= n:
            break
    elapsed = time.perf_counter() - t0
    await psub.unsubscribe()
    await js.delete_consumer(stream, durable)
    return elapsed


async def _replay(nc: Any, pool: asyncpg.Pool, projection: Projection) -> float:
    await active_generation(pool, projection)
    t0 = time.perf_counter()
    await rebuild(projection, nc, pool)
    return time.perf_counter() - t0


async def bench_replay(nc: Any, pool: asyncpg.Pool, n: int) -> list[Row]:
    """Append ``n`` job events, ``n`` segment events and ``n // 5`` unit events, drain each stream, rebuild each
    projection."""
    store = EventStore(nc, REGISTRIES)
    jobs = await _append_jobs(store, nc, n)
    segments = await append_media(store, nc, n)
    n_units = await append_units(store, nc, n // 5)
    n_jobs, n_media = jobs * 10, segments * 3
    t_jobs = await drain(nc, "JOBS", n_jobs, JobsProjection.sources["JOBS"])
    t_media = await drain(nc, "MEDIA", n_media, DownloadsProjection.sources["MEDIA"])
    t_units = await drain(nc, "TGA", n_units, UnitsProjection.sources["TGA"])
    rows: list[Row] = [
        (f"raw drain of JOBS, {n_jobs:,} events, no-op handler (baseline)", n_jobs / t_jobs, 1.0),
        (f"raw drain of MEDIA, {n_media:,} events, no-op handler (baseline)", n_media / t_media, 1.0),
        (f"raw drain of TGA units, {n_units:,} events, no-op handler (baseline)", n_units / t_units, 1.0),
    ]

    t = await _replay(nc, pool, JobsProjection())
    assert await pool.fetchval("SELECT count(*) FROM orchestrator.jobs") == jobs
    rows.append(("orchestrator jobs (vs JOBS drain)", n_jobs / t, t_jobs / t))

    t = await _replay(nc, pool, DownloadsProjection())
    assert await pool.fetchval("SELECT count(*) FROM media_downloader.segment_downloads") == segments
    rows.append(("media-downloader downloads (vs MEDIA drain)", n_media / t, t_media / t))

    t = await _replay(nc, pool, ProgressProjection([MEDIA.name]))
    done = await pool.fetchval("SELECT succeeded FROM orchestrator.job_progress WHERE job_id = $1", JOB)
    assert done == segments, done
    both = n_jobs + n_media
    rows.append(("orchestrator job progress (JOBS + MEDIA, vs both drains)", both / t, (t_jobs + t_media) / t))

    t = await _replay(nc, pool, UnitsProjection())
    assert await pool.fetchval("SELECT count(*) FROM tga_ingest.units") == n_units // 2
    rows.append(("tga-ingest units (vs TGA units drain)", n_units / t, t_units / t))
    return rows


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
                await migrate(conn, "orchestrator", read_migrations(files("skillstream_orchestrator") / "migrations"))
            rows = await bench_replay(nc, pool, n)
        finally:
            await pool.close()
            await nc.drain()
            server.stop()
            pg.stop()
    return [(name, rate, ratio, "" if ratio == 1.0 else TARGET) for name, rate, ratio in rows]


__all__ = ["drain", "run_replay"]
