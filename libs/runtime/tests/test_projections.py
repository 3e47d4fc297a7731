"""Projection runner, blue/green replay and dead letters against real NATS JetStream and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

import asyncpg
import pytest
from nats.aio.msg import Msg
from nats.js.api import AckPolicy

from skillstream_contracts.jobs import JobQueued, JobStarted
from skillstream_contracts.streams import JOBS, aggregate_subject
from skillstream_devstack.process import spawn
from skillstream_runtime.deadletters import list_dead_letters, retry_dead_letters
from skillstream_runtime.eventstore import EventStore, NewEvent
from skillstream_runtime.generations import ProjectionWorker, active_generation, checkpoints, rebuild
from skillstream_runtime.projections import ProjectionRunner, RunnerSettings, consumer_name
from skillstream_testing.sample import LedgerProjection, publish, wait_for_count

FAST = RunnerSettings(
    batch_size=50, fetch_timeout=0.2, max_deliver=3, backoff_initial=0.01, backoff_max=0.05, ack_wait=2.0
)


async def rows(pool: asyncpg.Pool, schema: str) -> tuple[list[Any], list[Any]]:
    ledger = await pool.fetch(f'SELECT * FROM "{schema}".ledger ORDER BY stream_sequence')
    counts = await pool.fetch(f'SELECT * FROM "{schema}".job_counts ORDER BY job_id')
    return [tuple(r) for r in ledger], [tuple(r) for r in counts]


async def run_until_caught_up(projection: LedgerProjection, nc: Any, pool: asyncpg.Pool) -> int:
    gen = await active_generation(pool, projection)
    await ProjectionRunner(projection, gen, "JOBS", nc, pool, FAST).run(until_caught_up=True)
    return gen


async def test_projection_applies_every_event_once_and_checkpoints(
    nc: Any, pg_pool: asyncpg.Pool, store: EventStore
) -> None:
    total = await publish(store, jobs=20, per_job=15)
    projection = LedgerProjection()
    await run_until_caught_up(projection, nc, pg_pool)
    ledger, counts = await rows(pg_pool, "sample")
    assert len(ledger) == total
    assert all(c[1] == 15 for c in counts)
    assert len(counts) == 20
    assert (await checkpoints(pg_pool, "job_ledger", 1))["JOBS"] == total
    # Running again applies nothing twice.
    await run_until_caught_up(projection, nc, pg_pool)
    assert await rows(pg_pool, "sample") == (ledger, counts)


async def test_one_cumulative_ack_per_batch_leaves_nothing_pending(
    nc: Any, pg_pool: asyncpg.Pool, store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = await publish(store, jobs=10, per_job=20)  # 200 events: at least four batches of 50
    acks: list[int] = []
    real_ack = Msg.ack

    async def counting_ack(msg: Msg) -> None:
        acks.append(msg.metadata.sequence.stream)
        await real_ack(msg)

    monkeypatch.setattr(Msg, "ack", counting_ack)
    projection = LedgerProjection()
    gen = await run_until_caught_up(projection, nc, pg_pool)
    assert len((await rows(pg_pool, "sample"))[0]) == total
    assert 4 <= len(acks) < total // 10, acks  # one per fetched batch, not one per event
    assert acks[-1] == total
    info = await nc.jetstream().consumer_info("JOBS", consumer_name("job_ledger", gen))
    assert info.config.ack_policy == AckPolicy.ALL
    assert info.num_ack_pending == 0
    assert info.ack_floor.stream_seq == total


async def test_killed_mid_batch_and_restarted_equals_uninterrupted(
    nc: Any, nats_url: str, database_url: str, pg_pool: asyncpg.Pool, store: EventStore
) -> None:
    total = await publish(store, jobs=40, per_job=50)
    # Reference: a projection that never stops.
    await run_until_caught_up(LedgerProjection("ledger_ref"), nc, pg_pool)

    # Victim: a separate process applying slow batches, SIGKILLed while a batch is open.
    proc = spawn(
        [
            sys.executable,
            "-m",
            "skillstream_testing.run_projection",
            nats_url,
            database_url,
            "ledger_victim",
            "0.3",
            "100",
        ],
        env={**os.environ},
    )
    try:
        for _ in range(300):
            await asyncio.sleep(0.05)
            cp = (await checkpoints(pg_pool, "ledger_victim", 1)).get("JOBS", 0)
            if cp >= 300:
                break
        await asyncio.sleep(0.15)  # inside the next batch's transaction (0.3 s per batch)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = (await checkpoints(pg_pool, "ledger_victim", 1))["JOBS"]
    assert 0 < killed_at < total, "the kill must land mid-run"

    await run_until_caught_up(LedgerProjection("ledger_victim"), nc, pg_pool)
    ref = await rows(pg_pool, "proj_ledger_ref_g1")
    victim = await rows(pg_pool, "proj_ledger_victim_g1")
    assert len(victim[0]) == total
    assert victim == ref


async def test_replay_equals_live_and_reads_continue(nc: Any, pg_pool: asyncpg.Pool, store: EventStore) -> None:
    total = await publish(store, jobs=50, per_job=40)
    projection = LedgerProjection()
    await run_until_caught_up(projection, nc, pg_pool)
    live = await rows(pg_pool, "sample")

    reads: list[int] = []
    stop = asyncio.Event()

    async def reader() -> None:
        while not stop.is_set():
            reads.append(await pg_pool.fetchval("SELECT count(*) FROM sample.ledger"))
            await asyncio.sleep(0.005)

    task = asyncio.create_task(reader())
    progress: list[tuple[str, int, int]] = []
    new_gen = await rebuild(projection, nc, pg_pool, on_progress=lambda *a: progress.append(a))
    stop.set()
    await task

    assert new_gen == 2
    assert await rows(pg_pool, "sample") == live  # the swapped-in generation equals the live one row for row
    assert len(reads) > 3
    assert set(reads) == {total}
    assert progress[-1][1] == total
    old_schema = await pg_pool.fetchval(
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'proj_job_ledger_g1'"
    )
    assert old_schema == 0


async def test_live_worker_follows_a_swap(nc: Any, pg_pool: asyncpg.Pool, store: EventStore) -> None:
    await publish(store, jobs=5, per_job=10)
    projection = LedgerProjection()
    worker = ProjectionWorker(projection, nc, pg_pool, FAST)
    task = asyncio.create_task(worker.run())
    try:
        await wait_for_count(pg_pool, 50)
        await rebuild(projection, nc, pg_pool)
        await publish(store, jobs=5, per_job=2, worker="after-swap")
        await wait_for_count(pg_pool, 60)
        assert worker.generation == 2
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


class _SwapRecorder(LedgerProjection):
    """The ledger, recording each swap's schemas and how many rows the new generation holds at that point."""

    def __init__(self) -> None:
        super().__init__()
        self.swaps: list[tuple[str, str, int]] = []

    async def before_swap(self, conn: asyncpg.Connection, old_schema: str, new_schema: str) -> None:
        rows = await conn.fetchval(f'SELECT count(*) FROM "{new_schema}".ledger')
        self.swaps.append((old_schema, new_schema, int(rows)))


async def test_a_swap_lets_the_projection_carry_state_over(nc: Any, pg_pool: asyncpg.Pool, store: EventStore) -> None:
    await publish(store, jobs=2, per_job=3)
    projection = _SwapRecorder()
    await run_until_caught_up(projection, nc, pg_pool)
    await rebuild(projection, nc, pg_pool)
    # called once, inside the swap, with the rebuilt generation complete and the old one still there
    assert projection.swaps == [("proj_job_ledger_g1", "proj_job_ledger_g2", 6)]


async def test_poison_event_goes_to_dead_letters_and_retry_reapplies(
    nc: Any, pg_pool: asyncpg.Pool, store: EventStore
) -> None:
    await publish(store, jobs=3, per_job=5)
    poison_subject = aggregate_subject("jobs", "job", "job-1")
    await store.append(JOBS, poison_subject, "job-1", [NewEvent(event=JobStarted(job_id="job-1", worker="bad"))])
    await store.append(JOBS, poison_subject, "job-1", [NewEvent(event=JobQueued(job_id="job-1", kind="k"))])
    projection = LedgerProjection()
    projection.poisoned_workers.add("bad")
    await run_until_caught_up(projection, nc, pg_pool)

    [dead] = await list_dead_letters(pg_pool)
    assert dead.stream_sequence == 16
    assert dead.attempts == FAST.max_deliver
    assert "worker bad is poisoned" in dead.error
    # The projection moved on: the event after the poison one is applied.
    assert await pg_pool.fetchval("SELECT count(*) FROM sample.ledger") == 16
    assert (await checkpoints(pg_pool, "job_ledger", 1))["JOBS"] == 17

    # Still broken: retry keeps it with one more attempt.
    [outcome] = await retry_dead_letters(pg_pool, {"job_ledger": projection})
    assert not outcome.ok
    projection.poisoned_workers.clear()  # the cause is fixed
    [outcome] = await retry_dead_letters(pg_pool, {"job_ledger": projection})
    assert outcome.ok
    assert await list_dead_letters(pg_pool) == []
    assert await pg_pool.fetchval("SELECT events FROM sample.job_counts WHERE job_id = 'job-1'") == 7
