"""Exactly once in effect: redelivery, old events applied again and blue/green rebuilds (with other batch
sizes) give the same rows as the live projection; and, for random event histories cut into random batches,
every segment ends in the state a reference fold gives and every counter equals a recount of the segments."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skillstream_contracts.events import EventMetadata
from skillstream_contracts.jobs import JobReport
from skillstream_contracts.media import (
    SegmentDownloaded,
    SegmentDownloadStarted,
    SegmentFailed,
    SegmentQueued,
    SegmentRetryScheduled,
    SegmentSkipped,
    SkipReason,
)
from skillstream_contracts.streams import MEDIA
from skillstream_media_downloader.projections.projection import COUNTERS, TERMINAL, DownloadsProjection
from skillstream_runtime.eventstore import RecordedEvent
from skillstream_runtime.projections import RunnerSettings, generation_schema

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


async def _fill(media: Any) -> None:
    """Two bulk downloads over three courses with retries, a crash, duplicates, failures, skips, a retry-failed
    job and a cancelled one."""
    a, b, c = media.segments(601, 5), media.segments(602, 4), media.segments(603, 3)
    first = media.job("job-replay-1")
    await first.queue_all(media.at(0), a + b)
    await first.queued(media.at(1), a[0])
    for i, s in enumerate(a):
        await first.started(media.at(10 + i), s)
        if i % 2:
            await first.retry(media.at(11 + i), s, 1, "HTTP 503", 503, partial=s.size // 3)
            await first.started(media.at(40 + i), s, 2, resume_from=s.size // 3)
        await first.started(media.at(41 + i), s, 2 if i % 2 else 1)  # a crash: the attempt starts again
        await first.downloaded(media.at(50 + i), s, attempts=2 if i % 2 else 1)
    await first.course_completed(media.at(55), 601, succeeded=5)
    await first.skipped(media.at(60), b[0])
    await first.skipped(media.at(60), b[0])
    await first.started(media.at(61), b[1])
    await first.failed(media.at(62), b[1], 1, "HTTP 404 Not Found", 404)
    await first.downloaded(media.at(63), b[1])  # after the terminal state: ignored
    await first.started(media.at(64), b[2])
    await first.failed(media.at(65), b[2], 6, "HTTP 503 (after 5 retries)", 503)
    await first.started(media.at(66), b[3])
    await first.downloaded(media.at(67), b[3])
    await first.course_completed(media.at(67), 602, succeeded=1, failed=2, skipped=1)
    await first.completed(media.at(68), courses=2, succeeded=6, failed=2, skipped=1)
    retry = media.job("job-replay-2")
    await retry.queue_all(media.at(100), [b[1], b[2]])
    await retry.started(media.at(101), b[2])
    await retry.downloaded(media.at(102), b[2])
    cancelled = media.job("job-replay-3")
    await cancelled.queue_all(media.at(200), c)
    await cancelled.started(media.at(201), c[0])
    await cancelled.completed(media.at(202), cancelled=True, courses=1)


async def test_redelivery_reapplication_and_rebuild_give_identical_rows(media: Any) -> None:
    await _fill(media)
    await media.catch_up()
    live = await media.snapshot()
    assert await media.dead_letters() == 0
    assert [len(live[t]) for t in ("bulk_downloads", "course_downloads", "segment_downloads")] == [3, 4, 5 + 4 + 2 + 3]

    # Redelivery: forget the checkpoint, so every event reaches apply() a second time.
    await media.pool.execute("UPDATE skillstream.projection_checkpoints SET last_sequence = 0")
    await media.catch_up()
    assert await media.snapshot() == live

    # Old events applied again out of order (a dead letter retried late) change nothing.
    old: list[RecordedEvent] = []
    for subject in ("media.segment.60101", "media.segment.60201", "media.course.601", "media.job.job-replay-1"):
        old.extend(await media.store.load(MEDIA, subject))
    assert len(old) > 10
    async with media.pool.acquire() as conn, conn.transaction():
        await media.projection.apply(conn, generation_schema(media.projection.name, 1), old)
    assert await media.snapshot() == live

    # Blue/green rebuilds from sequence 1, with one big batch and with one event per batch.
    for generation, batch in ((2, 1000), (3, 1)):
        assert await media.rebuild(RunnerSettings(batch_size=batch, fetch_timeout=0.2)) == generation
        assert await media.snapshot() == live


# --- property: random histories, random batches ----------------------------------------------------------

OPS = ("queued", "started", "retry", "downloaded", "skipped", "failed")
STATE_OF = {"queued": "queued", "started": "processing", "retry": "retrying"} | {t: t for t in ("skipped", "failed")}
STATE_OF["downloaded"] = "succeeded"


def _reference(history: list[str]) -> str | None:
    """The media_queries rule, written plainly: the latest event's state until a terminal one; a queued event
    only creates."""
    state: str | None = None
    for op in history:
        if state in TERMINAL or (op == "queued" and state is not None):
            continue
        state = STATE_OF[op]
    return state


def _event(op: str, job: str, segment: int, course: int, attempt: int) -> Any:
    ids: dict[str, Any] = {"job_id": job, "course_id": course, "segment_id": segment}
    at = T0 + dt.timedelta(seconds=attempt)
    match op:
        case "queued":
            path = f"course-{course}/{segment}_med.mp4"
            return SegmentQueued(**ids, channel_id=1, title=f"Lesson {segment}", cdn_key=path, target_path=path)
        case "started":
            return SegmentDownloadStarted(**ids, attempt=attempt, url_expires_at=at, worker="w1")
        case "retry":
            return SegmentRetryScheduled(**ids, attempt=attempt, reason="HTTP 503", retry_at=at, delay_seconds=30)
        case "downloaded":
            return SegmentDownloaded(**ids, target_path="p", size=100 + segment, sha256="0" * 64, seconds=1.0)
        case "skipped":
            return SegmentSkipped(**ids, target_path="p", reason=SkipReason.VERIFIED_ON_DISK, size=7, sha256="1" * 64)
    return SegmentFailed(**ids, attempts=attempt, reason="HTTP 404", http_status=404)


async def _fold_into_fresh_schema(pool: asyncpg.Pool, events: list[RecordedEvent], batch: int) -> dict[str, Any]:
    projection = DownloadsProjection()
    schema = f"prop_{uuid.uuid4().hex[:12]}"
    async with pool.acquire() as conn:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        await projection.create_tables(conn, schema)
        for i in range(0, len(events), batch):
            async with conn.transaction():
                await projection.apply(conn, schema, events[i : i + batch])
        out = {
            t: [dict(r) for r in await conn.fetch(f'SELECT * FROM "{schema}".{t} ORDER BY 1, 2')]
            for t in projection.tables
        }
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


histories = st.lists(st.sampled_from(OPS), min_size=1, max_size=6)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    per_segment=st.lists(histories, min_size=1, max_size=20),
    order=st.randoms(use_true_random=False),
    batch=st.integers(min_value=1, max_value=9),
)
async def test_counters_equal_a_recount_whatever_the_history(
    pg_pool: asyncpg.Pool, per_segment: list[list[str]], order: Any, batch: int
) -> None:
    # Interleave the segments' histories, keeping each segment's own order (one subject per segment).
    keys = {i: (f"job-{i % 2}", 700 + i, 70 + i % 3) for i in range(len(per_segment))}
    queues = {i: list(h) for i, h in enumerate(per_segment)}
    events: list[RecordedEvent] = []
    while queues:
        i = order.choice(sorted(queues))
        op = queues[i].pop(0)
        if not queues[i]:
            del queues[i]
        job, segment, course = keys[i]
        seq = len(events) + 1
        meta = EventMetadata(
            event_id=f"e{seq}",
            event_type=op,
            schema_version=1,
            aggregate_id=str(segment),
            occurred_at=T0 + dt.timedelta(seconds=seq),
            job=JobReport(job_id=job),
        )
        event = _event(op, job, segment, course, seq)
        events.append(
            RecordedEvent(stream="MEDIA", subject=f"media.segment.{segment}", sequence=seq, metadata=meta, event=event)
        )

    got = await _fold_into_fresh_schema(pg_pool, events, batch)
    assert got == await _fold_into_fresh_schema(pg_pool, events, len(events))  # batch boundaries do not matter
    expected = {keys[i][1]: _reference(h) for i, h in enumerate(per_segment)}
    assert {s["segment_id"]: s["state"] for s in got["segment_downloads"]} == expected
    by_course = Counter((s["job_id"], s["course_id"], s["state"]) for s in got["segment_downloads"])
    by_job = Counter((s["job_id"], s["state"]) for s in got["segment_downloads"])
    for c in got["course_downloads"]:
        assert {k: c[k] for k in COUNTERS} == {k: by_course[(c["job_id"], c["course_id"], k)] for k in COUNTERS}
    for b in got["bulk_downloads"]:
        assert {k: b[k] for k in COUNTERS} == {k: by_job[(b["job_id"], k)] for k in COUNTERS}
        succeeded = [s for s in got["segment_downloads"] if s["job_id"] == b["job_id"] and s["state"] == "succeeded"]
        assert b["bytes_written"] == sum(100 + s["segment_id"] for s in succeeded)
    assert all(b[k] >= 0 for b in got["bulk_downloads"] for k in COUNTERS)
