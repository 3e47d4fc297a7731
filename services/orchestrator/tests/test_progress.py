"""The progress projection's exactness on real PostgreSQL: whatever the redeliveries, repeats, late reports and
batch boundaries, every item ends in exactly one state and the counters equal a recount of the items."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from importlib.resources import files
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skillstream_contracts.events import EventMetadata, OpaqueEvent
from skillstream_contracts.jobs import (
    JobCancelled,
    JobCompleted,
    JobItemsPlanned,
    JobReport,
    JobRequested,
    JobStarted,
)
from skillstream_orchestrator.projections.progress import NOTIFY_CHANNEL, ProgressProjection
from skillstream_orchestrator.projections.progress_reads import progress_since, read_progress
from skillstream_runtime.eventstore import RecordedEvent
from skillstream_runtime.generations import active_generation
from skillstream_runtime.migrations import migrate, migrate_runtime, read_migrations

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
OUTCOMES = ("queued", "processing", "retrying", "succeeded", "failed", "skipped")
TERMINAL = {"succeeded", "failed", "skipped"}
RANK = {"queued": 0, "processing": 1, "retrying": 1, "succeeded": 2, "failed": 2, "skipped": 2}


async def _setup(pool: asyncpg.Pool) -> tuple[ProgressProjection, str]:
    async with pool.acquire() as conn:
        await migrate_runtime(conn)
        await migrate(conn, "orchestrator", read_migrations(files("skillstream_orchestrator") / "migrations"))
    projection = ProgressProjection(["TESTWORK"])
    gen = await active_generation(pool, projection)
    return projection, f"proj_job_progress_g{gen}"


class _Log:
    """Recorded events with increasing stream sequences, per stream."""

    def __init__(self) -> None:
        self.seq: Counter[str] = Counter()

    def jobs(self, event: Any, job_id: str, second: int = 0) -> RecordedEvent:
        return self._record("JOBS", job_id, type(event).__struct_config__.tag, event, second)

    def item(self, job_id: str, key: str, outcome: str, second: int, **headers: Any) -> RecordedEvent:
        return self._record(
            "TESTWORK",
            job_id,
            "testwork.ItemReported",
            OpaqueEvent(event_type="x"),
            second,
            item_key=key,
            item_outcome=outcome,
            **headers,
        )

    def phase(self, job_id: str, phase: str, second: int) -> RecordedEvent:
        """The owner's report of a job phase (on its own stream, after the items it reported)."""
        return self._record("TESTWORK", job_id, "testwork.Ended", OpaqueEvent(event_type="x"), second, phase=phase)

    def _record(self, stream: str, job_id: str, tag: str, event: Any, second: int, **headers: Any) -> RecordedEvent:
        self.seq[stream] += 1
        meta = EventMetadata(
            event_id=f"{stream}-{self.seq[stream]}",
            event_type=tag,
            schema_version=1,
            aggregate_id=job_id,
            occurred_at=T0 + dt.timedelta(seconds=second),
            job=JobReport(job_id=job_id, **headers),
        )
        return RecordedEvent(
            stream=stream,
            subject=f"{stream.lower()}.job.{job_id}",
            sequence=self.seq[stream],
            metadata=meta,
            event=event,
        )


async def _apply(pool: asyncpg.Pool, projection: ProgressProjection, schema: str, batch: list[RecordedEvent]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await projection.apply(conn, schema, batch)


# Per item: a stream-ordered list of reports, as a redelivering, retrying, crashing owner could send them.
item_reports = st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    reports=st.lists(item_reports, min_size=1, max_size=25),
    interleave=st.randoms(use_true_random=False),
    batch=st.integers(min_value=1, max_value=9),
    cancelled=st.booleans(),
)
async def test_counters_equal_a_recount_whatever_the_report_history(
    pg_pool: asyncpg.Pool, reports: list[list[str]], interleave: Any, batch: int, cancelled: bool
) -> None:
    async with pg_pool.acquire() as conn:
        await conn.execute(
            "DROP SCHEMA IF EXISTS orchestrator CASCADE; DROP SCHEMA IF EXISTS skillstream CASCADE;"
            " DROP SCHEMA IF EXISTS proj_job_progress_g1 CASCADE"
        )
    projection, schema = await _setup(pg_pool)
    log = _Log()
    job = "a" * 32
    # interleave the items' reports, keeping each item's own order (one owner stream)
    queues = {f"item-{i:03d}": list(r) for i, r in enumerate(reports)}
    stream: list[RecordedEvent] = []
    second = 0
    while queues:
        key = interleave.choice(sorted(queues))
        outcome = queues[key].pop(0)
        second += 1
        stream.append(log.item(job, key, outcome, second, item_group=f"g{int(key[-1]) % 3}", item_bytes=10))
        if not queues[key]:
            del queues[key]
    if cancelled:  # the owner ends the job with items not ended: they end "cancelled"
        stream.append(log.phase(job, "cancelled", second + 1))
    await _apply(pg_pool, projection, schema, [log.jobs(JobRequested(job_id=job, kind="k", requested_by="u"), job)])
    for i in range(0, len(stream), batch):
        await _apply(pg_pool, projection, schema, stream[i : i + batch])

    # the expected final state of each item: its first terminal report, else its last report that did not move
    # it back (processing and retrying alternate), else "cancelled" when the job ended first
    expected: dict[str, str] = {}
    for i, r in enumerate(reports):
        state = r[0]
        for o in r[1:]:
            if state not in TERMINAL and RANK[o] >= RANK[state]:
                state = o
        expected[f"item-{i:03d}"] = "cancelled" if cancelled and state not in TERMINAL else state
    want = Counter(expected.values())
    async with pg_pool.acquire() as conn:
        doc = (await read_progress(conn, [job]))[job]
        states = {r["item_key"]: r["state"] for r in await conn.fetch("SELECT * FROM orchestrator.job_items")}
    assert states == expected
    got = {o: getattr(doc, o) for o in (*OUTCOMES, "cancelled")}
    assert got == {o: want.get(o, 0) for o in (*OUTCOMES, "cancelled")}
    assert doc.bytes_done == 10 * want.get("succeeded", 0)
    assert sum(g.total for g in doc.groups.values()) == len(reports)
    assert sum(g.succeeded + g.failed + g.skipped for g in doc.groups.values()) == sum(want[o] for o in TERMINAL)


async def test_items_before_the_job_request_and_sequences_in_commit_order(pg_pool: asyncpg.Pool) -> None:
    projection, schema = await _setup(pg_pool)
    log = _Log()
    a, b = "a" * 32, "b" * 32
    # the owner's reports can be projected before the orchestrator's JobRequested (two streams, two runners)
    await _apply(
        pg_pool,
        projection,
        schema,
        [log.item(a, "x", "processing", 1), log.item(a, "x", "failed", 2, reason="boom")],
    )
    async with pg_pool.acquire() as conn:
        assert await progress_since(conn, after_sequence=0) == []  # no JobRequested yet: not listed
    await _apply(
        pg_pool,
        projection,
        schema,
        [
            log.jobs(JobRequested(job_id=a, kind="k", requested_by="alice"), a),
            log.jobs(JobStarted(job_id=a, worker="w", total_items=3), a, 3),
            log.jobs(JobRequested(job_id=b, kind="k", requested_by="bob"), b),
        ],
    )
    async with pg_pool.acquire() as conn:
        docs = await progress_since(conn, after_sequence=0)
        assert [d.job_id for d in docs] == sorted([a, b], key=lambda j: next(d.sequence for d in docs if d.job_id == j))
        doc = next(d for d in docs if d.job_id == a)
        assert (doc.status, doc.total, doc.failed, doc.queued) == ("running", 3, 1, 2)
        assert doc.last_errors[0].reason == "boom"
        first = max(d.sequence for d in docs)
        await _apply(pg_pool, projection, schema, [log.item(a, "y", "succeeded", 4)])
        later = await progress_since(conn, after_sequence=first)
        only_alice = await progress_since(conn, after_sequence=0, requested_by="alice")
    assert [d.job_id for d in later] == [a]
    assert later[0].sequence > first
    assert later[0].succeeded == 1
    assert [d.job_id for d in only_alice] == [a]


async def test_an_end_recorded_before_its_items_are_counted_is_shown_once_they_are(pg_pool: asyncpg.Pool) -> None:
    """The lifecycle (``JOBS``) and the items (the owner's stream) are applied by separate runners: the job's end
    can be applied before the items the owner reported ahead of it. The document shows the end only once the
    owner's end report has been counted, so a job never reads "completed" with counters short of its items."""
    projection, schema = await _setup(pg_pool)
    log = _Log()
    a, b = "c" * 32, "d" * 32
    await _apply(
        pg_pool,
        projection,
        schema,
        [
            log.jobs(JobRequested(job_id=a, kind="k", requested_by="alice"), a),
            log.jobs(JobStarted(job_id=a, worker="TESTWORK", total_items=2), a, 1),
            log.jobs(
                JobItemsPlanned(job_id=a, total_items=2, groups={"1": 2}, group_labels={"1": "Slide Guitar"}), a, 1
            ),
            log.jobs(JobCompleted(job_id=a, reported_on="TESTWORK"), a, 5),
            # cancelled by the orchestrator before any owner started it: no owner report to wait for
            log.jobs(JobRequested(job_id=b, kind="k", requested_by="bob"), b),
            log.jobs(JobCancelled(job_id=b, summary={"cancelled_before_start": True}), b, 1),
        ],
    )
    async with pg_pool.acquire() as conn:
        early = await read_progress(conn, [a, b])
    assert (early[a].status, early[a].succeeded, early[a].finished_at) == ("running", 0, None)
    assert early[b].status == "cancelled"
    await _apply(
        pg_pool,
        projection,
        schema,
        [log.item(a, "x", "succeeded", 2, item_group="1"), log.item(a, "y", "succeeded", 3, item_group="1")],
    )
    async with pg_pool.acquire() as conn:
        counted = await read_progress(conn, [a])
    assert (counted[a].status, counted[a].succeeded) == ("running", 2)  # the end report is not counted yet
    await _apply(pg_pool, projection, schema, [log.phase(a, "completed", 4)])
    async with pg_pool.acquire() as conn:
        ended = (await read_progress(conn, [a]))[a]
    assert (ended.status, ended.succeeded, ended.percent) == ("completed", 2, 100.0)
    assert (ended.groups["1"].label, ended.groups["1"].total) == ("Slide Guitar", 2)  # named for people
    assert ended.finished_at == T0 + dt.timedelta(seconds=5)
    assert ended.sequence > counted[a].sequence  # the change is published to live watchers


async def test_changed_jobs_are_notified_on_commit_in_chunks(pg_pool: asyncpg.Pool) -> None:
    projection, schema = await _setup(pg_pool)
    log = _Log()
    jobs = [f"{i:032x}" for i in range(450)]  # three notifications of at most 200 ids
    payloads: list[str] = []
    listener = await pg_pool.acquire()

    def heard(*args: Any) -> None:
        payloads.append(args[3])

    try:
        await listener.add_listener(NOTIFY_CHANNEL, heard)
        await _apply(pg_pool, projection, schema, [log.item(j, "k", "processing", 1) for j in jobs])
        for _ in range(50):
            if sum(len(p.split(",")) for p in payloads) >= len(jobs):
                break
            await asyncio.sleep(0.05)
        await listener.remove_listener(NOTIFY_CHANNEL, heard)
    finally:
        await pg_pool.release(listener)
    assert sorted(j for p in payloads for j in p.split(",")) == jobs
    assert [len(p.split(",")) for p in payloads] == [200, 200, 50]
    async with pg_pool.acquire() as conn:
        stamped = await conn.fetch(f'SELECT job_id, sequence FROM "{schema}".job_progress ORDER BY sequence')
    assert [r["job_id"] for r in stamped] == jobs  # every changed job drew a sequence value, in id order
    assert len({r["sequence"] for r in stamped}) == len(jobs)


async def test_a_rebuild_keeps_the_sequence_of_every_document_it_reproduces(pg_pool: asyncpg.Pool) -> None:
    """A browser's ``Last-Event-ID`` means the same after a replay: the documents the rebuilt generation holds
    unchanged keep their sequence (whatever order its runners applied the streams in), and a document that
    differs takes a value above every one published."""
    projection, live = await _setup(pg_pool)
    log = _Log()
    a, b, c = "1" * 32, "2" * 32, "3" * 32
    lifecycle = [
        event
        for job in (a, b, c)
        for event in (
            log.jobs(JobRequested(job_id=job, kind="k", requested_by="alice"), job),
            log.jobs(JobStarted(job_id=job, worker="TESTWORK", total_items=2), job, 1),
        )
    ]
    items = [log.item(job, key, "succeeded", 2, item_group="g") for job in (a, b, c) for key in ("x", "y")]
    late = log.item(c, "z", "failed", 3, reason="boom")  # applied by the rebuild only: c's document differs
    await _apply(pg_pool, projection, live, lifecycle)
    await _apply(pg_pool, projection, live, items)
    rebuilt = "proj_job_progress_g2"
    async with pg_pool.acquire() as conn:
        before = {r["job_id"]: r["sequence"] for r in await conn.fetch(f'SELECT * FROM "{live}".job_progress')}
        await conn.execute(f'CREATE SCHEMA "{rebuilt}"')
        await projection.create_tables(conn, rebuilt)
    await _apply(pg_pool, projection, rebuilt, [*items, late])  # the items runner first this time
    await _apply(pg_pool, projection, rebuilt, lifecycle)
    async with pg_pool.acquire() as conn, conn.transaction():
        await projection.before_swap(conn, live, rebuilt)
        after = {r["job_id"]: r["sequence"] for r in await conn.fetch(f'SELECT * FROM "{rebuilt}".job_progress')}
    assert (after[a], after[b]) == (before[a], before[b])
    assert after[c] > max(before.values())
