"""A sample projection over the JOBS stream for tests and benchmarks (not used in production).

``job_ledger`` keeps one row per event (``ledger``) and one counter row per job (``job_counts``), written
with batched ``executemany``. The counter is deliberately *not* idempotent, so an event applied twice
shows up as a wrong count. ``poisoned_workers`` makes ``JobStarted`` events of those workers fail, to
exercise the dead-letter path; ``delay`` (seconds) slows each batch, to kill a process mid-batch.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import ClassVar

import asyncpg

from skillstream_contracts.jobs import JOB_EVENTS, JobStarted
from skillstream_contracts.streams import JOBS, aggregate_subject
from skillstream_runtime.eventstore import EventStore, NewEvent, RecordedEvent
from skillstream_runtime.projections import Projection


class PoisonedEvent(RuntimeError):
    """Raised for events of a poisoned worker."""


class LedgerProjection(Projection):
    name: ClassVar[str] = "job_ledger"
    read_schema: ClassVar[str] = "sample"
    sources: ClassVar = {"JOBS": ()}
    tables: ClassVar = ("ledger", "job_counts")
    registries: ClassVar = {"JOBS": JOB_EVENTS}

    def __init__(self, name: str | None = None, delay: float = 0.0) -> None:
        if name is not None:
            self.name = name  # type: ignore[misc]
        self.delay = delay
        self.poisoned_workers: set[str] = set()

    async def create_tables(self, conn: asyncpg.Connection, schema: str) -> None:
        await conn.execute(
            f"""
            CREATE TABLE "{schema}".ledger (
                stream_sequence bigint PRIMARY KEY,
                subject text NOT NULL,
                event_type text NOT NULL,
                job_id text NOT NULL
            );
            CREATE TABLE "{schema}".job_counts (
                job_id text PRIMARY KEY,
                events integer NOT NULL,
                last_sequence bigint NOT NULL
            );
            """
        )

    async def apply(self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]) -> None:
        for e in events:
            if isinstance(e.event, JobStarted) and e.event.worker in self.poisoned_workers:
                raise PoisonedEvent(f"worker {e.event.worker} is poisoned")
        await conn.executemany(
            f'INSERT INTO "{schema}".ledger (stream_sequence, subject, event_type, job_id) VALUES ($1, $2, $3, $4)',
            [(e.sequence, e.subject, e.event_type, e.metadata.aggregate_id) for e in events],
        )
        counts = Counter(e.metadata.aggregate_id for e in events)
        last = {e.metadata.aggregate_id: e.sequence for e in events}
        if self.delay:
            await asyncio.sleep(self.delay)
        await conn.executemany(
            f'INSERT INTO "{schema}".job_counts (job_id, events, last_sequence) VALUES ($1, $2, $3)'
            " ON CONFLICT (job_id) DO UPDATE SET events = job_counts.events + EXCLUDED.events,"
            " last_sequence = greatest(job_counts.last_sequence, EXCLUDED.last_sequence)",
            [(job, n, last[job]) for job, n in counts.items()],
        )


async def publish(store: EventStore, jobs: int, per_job: int, worker: str = "w", prefix: str = "job") -> int:
    """Append ``per_job`` ``JobStarted`` events (from ``worker``) to each of ``jobs`` jobs ``<prefix>-<n>`` on
    ``JOBS``, in one batch of appends; returns how many events that is (the ledger's rows once projected)."""
    appends = [
        (
            aggregate_subject("jobs", "job", f"{prefix}-{j}"),
            f"{prefix}-{j}",
            [NewEvent(event=JobStarted(job_id=f"{prefix}-{j}", worker=worker, total_items=k)) for k in range(per_job)],
            None,
        )
        for j in range(jobs)
    ]
    results = await store.append_many(JOBS, appends)
    assert not [r for r in results if isinstance(r, BaseException)]
    return jobs * per_job


async def wait_for_count(pool: asyncpg.Pool, n: int) -> None:
    """Wait until ``sample.ledger`` holds ``n`` rows (checked every 50 ms, at most 10 s).

    Raises:
        AssertionError: it did not.
    """
    for _ in range(200):
        try:
            if await pool.fetchval("SELECT count(*) FROM sample.ledger") == n:
                return
        except asyncpg.UndefinedTableError:
            pass  # the worker has not created generation 1 yet
        await asyncio.sleep(0.05)
    raise AssertionError(f"ledger never reached {n} rows")


__all__ = ["LedgerProjection", "PoisonedEvent", "publish", "wait_for_count"]
