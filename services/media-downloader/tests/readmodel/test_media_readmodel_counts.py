"""Exact counting of the downloads read model against real NATS + PostgreSQL: every segment is in exactly one
state, counters move only by state transitions, and nothing counts twice — whatever repeats, retries and
crashes the event history holds ("exact under redelivery and process crashes")."""

from __future__ import annotations

from collections import Counter
from typing import Any

from skillstream_contracts.media import SkipReason
from skillstream_media_downloader.projections.projection import COUNTERS
from skillstream_media_downloader.projections.readmodel import downloaded_segments, recorded_digest


def counters(row: dict[str, Any]) -> dict[str, int]:
    return {c: row[c] for c in COUNTERS}


def expect(**counts: int) -> dict[str, int]:
    return {c: counts.get(c, 0) for c in COUNTERS}


async def assert_counters_match_rows(media: Any) -> None:
    """Every course and bulk counter equals a recount of the segment rows, and bytes_written their sizes."""
    segments = await media.rows("segment_downloads")
    by_course = Counter((s["job_id"], s["course_id"], s["state"]) for s in segments)
    by_job = Counter((s["job_id"], s["state"]) for s in segments)
    for c in await media.rows("course_downloads"):
        assert counters(c) == {st: by_course[(c["job_id"], c["course_id"], st)] for st in COUNTERS}, c
        mine = [s for s in segments if (s["job_id"], s["course_id"]) == (c["job_id"], c["course_id"])]
        assert c["bytes_written"] == sum(s["bytes"] for s in mine if s["state"] == "succeeded")
    for b in await media.rows("bulk_downloads"):
        assert counters(b) == {st: by_job[(b["job_id"], st)] for st in COUNTERS}, b
        mine = [s for s in segments if s["job_id"] == b["job_id"]]
        assert b["bytes_written"] == sum(s["bytes"] for s in mine if s["state"] == "succeeded")


async def test_a_normal_run(media: Any) -> None:
    a, b = media.segments(101, 3), media.segments(102, 2)
    segs = a + b
    job = media.job("job-normal")
    await job.queue_all(media.at(0), segs)
    await media.catch_up()
    [bulk] = await media.rows("bulk_downloads")
    assert counters(bulk) == expect(queued=5)
    assert (bulk["status"], bulk["requested_by"], bulk["quality"], bulk["test_mode"]) == (
        "running",
        "admin@example.org",
        "med",
        False,
    )
    assert (bulk["courses_total"], bulk["segments_total"], bulk["bytes_expected"]) == (2, 5, sum(s.size for s in segs))
    assert (bulk["requested_at"], bulk["first_started_at"], bulk["last_terminal_at"]) == (media.at(0), None, None)
    courses = await media.rows("course_downloads")
    assert [(c["course_id"], c["state"], c["segment_count"], c["queued"]) for c in courses] == [
        (101, "queued", 3, 3),
        (102, "queued", 2, 2),
    ]
    assert [c["bytes_expected"] for c in courses] == [sum(s.size for s in a), sum(s.size for s in b)]

    for i, s in enumerate(segs):
        await job.started(media.at(10 + 2 * i), s)
        await job.downloaded(media.at(11 + 2 * i), s)
    await job.course_completed(media.at(16), 101, succeeded=3, bytes_written=sum(s.size for s in a))
    await job.course_completed(media.at(20), 102, succeeded=2, bytes_written=sum(s.size for s in b))
    await job.completed(media.at(21), courses=2, succeeded=5, bytes_written=sum(s.size for s in segs))
    await media.catch_up()

    [bulk] = await media.rows("bulk_downloads")
    assert counters(bulk) == expect(succeeded=5)
    assert (bulk["status"], bulk["finished_at"], bulk["bytes_written"]) == (
        "completed",
        media.at(21),
        sum(s.size for s in segs),
    )
    assert (bulk["first_started_at"], bulk["last_terminal_at"]) == (media.at(10), media.at(11 + 2 * 4))
    courses = await media.rows("course_downloads")
    assert [(c["state"], c["succeeded"], c["completed_at"]) for c in courses] == [
        ("completed", 3, media.at(16)),
        ("completed", 2, media.at(20)),
    ]
    assert [(c["first_started_at"], c["last_terminal_at"]) for c in courses] == [
        (media.at(10), media.at(15)),
        (media.at(16), media.at(19)),
    ]
    rows = await media.rows("segment_downloads")
    assert [(r["segment_id"], r["state"], r["attempts"], r["bytes"], r["sha256"], r["target_path"]) for r in rows] == [
        (s.segment_id, "succeeded", 1, s.size, s.sha256, s.path) for s in segs
    ]
    await assert_counters_match_rows(media)
    assert await media.dead_letters() == 0


async def test_retries_move_between_processing_and_retrying_then_succeed(media: Any) -> None:
    [s, other] = media.segments(111, 2)
    job = media.job("job-retries")
    await job.queue_all(media.at(0), [s, other])
    half = s.size // 2
    # Each stage is caught up on its own, so every transition crosses a batch boundary.
    stages = [
        (job.started(media.at(10), s, 1), "processing", 1, 0),
        (job.retry(media.at(12), s, 1, "HTTP 503 Service Unavailable", 503, partial=half), "retrying", 1, half),
        (job.started(media.at(42), s, 2, resume_from=half), "processing", 2, half),
        (job.retry(media.at(43), s, 2, "connection reset", None, partial=half + 10), "retrying", 2, half + 10),
        (job.started(media.at(103), s, 3, resume_from=half + 10), "processing", 3, half + 10),
        (job.downloaded(media.at(105), s, attempts=3, seconds=2.0), "succeeded", 3, s.size),
    ]
    reasons = [None, "HTTP 503 Service Unavailable", "HTTP 503 Service Unavailable", "connection reset"]
    reasons += ["connection reset", None]
    statuses = [None, 503, 503, None, None, None]
    for (append, state, attempts, size), reason, status in zip(stages, reasons, statuses, strict=True):
        await append
        await media.catch_up()
        row = (await media.rows("segment_downloads", "segment_id = $1", s.segment_id))[0]
        assert (row["state"], row["attempts"], row["bytes"], row["reason"], row["http_status"]) == (
            state,
            attempts,
            size,
            reason,
            status,
        )
        [bulk] = await media.rows("bulk_downloads")
        [course] = await media.rows("course_downloads")
        assert counters(bulk) == counters(course) == expect(queued=1, **{state: 1})
        assert (course["state"], course["first_started_at"]) == ("processing", media.at(10))
    [bulk] = await media.rows("bulk_downloads")
    assert (bulk["bytes_written"], bulk["last_terminal_at"]) == (s.size, media.at(105))
    await assert_counters_match_rows(media)


async def test_repeated_events_never_count_twice(media: Any) -> None:
    x, y, z, w = media.segments(121, 4)
    job = media.job("job-repeats")
    await job.queue_all(media.at(0), [x, y, z, w])
    await job.queued(media.at(1), x)  # a duplicate SegmentQueued (the job handler re-ran after a crash)
    await job.started(media.at(10), x, 1)
    await media.catch_up()
    await job.started(media.at(40), x, 1)  # the worker died mid-download: the same attempt starts again
    await job.started(media.at(41), y, 1)
    await job.failed(media.at(42), y, 1, "HTTP 404 Not Found", 404)
    await job.downloaded(media.at(43), x)
    await job.downloaded(media.at(44), x)  # a repeated terminal event (a re-sent append)
    await media.catch_up()
    await job.retry(media.at(45), x, 1, "late report", 503)  # after the terminal state: ignored
    await job.downloaded(media.at(46), y)  # terminal states are final: y stays failed
    await job.queued(media.at(47), y)
    await job.skipped(media.at(48), z)
    await job.skipped(media.at(49), z)
    await job.started(media.at(50), w, 1)
    await job.started(media.at(51), w, 1)  # in the same batch as the first start
    await media.catch_up()

    rows = {r["segment_id"]: r for r in await media.rows("segment_downloads")}
    assert {k: (r["state"], r["attempts"]) for k, r in rows.items()} == {
        x.segment_id: ("succeeded", 1),
        y.segment_id: ("failed", 1),
        z.segment_id: ("skipped", 0),
        w.segment_id: ("processing", 1),
    }
    assert (rows[y.segment_id]["reason"], rows[y.segment_id]["http_status"]) == ("HTTP 404 Not Found", 404)
    assert rows[x.segment_id]["updated_at"] == media.at(43)  # the first terminal event's time
    [bulk] = await media.rows("bulk_downloads")
    [course] = await media.rows("course_downloads")
    assert counters(bulk) == counters(course) == expect(processing=1, succeeded=1, failed=1, skipped=1)
    assert bulk["bytes_written"] == course["bytes_written"] == x.size
    assert (course["first_started_at"], course["last_terminal_at"]) == (media.at(10), media.at(48))
    await assert_counters_match_rows(media)


async def test_a_failure_keeps_reason_http_status_and_attempts(media: Any) -> None:
    [s] = media.segments(131, 1)
    job = media.job("job-failure")
    await job.queue_all(media.at(0), [s])
    t = 10
    for attempt in range(1, 6):  # the five retries of seed 001's schedule, all used
        await job.started(media.at(t), s, attempt)
        await job.retry(media.at(t + 1), s, attempt, "HTTP 503 Service Unavailable", 503)
        t += 100
    await job.started(media.at(t), s, 6)
    await job.failed(media.at(t + 1), s, 6, "HTTP 503 Service Unavailable (after 5 retries)", 503)
    await media.catch_up()
    [row] = await media.rows("segment_downloads")
    assert (row["state"], row["attempts"], row["reason"], row["http_status"], row["updated_at"]) == (
        "failed",
        6,
        "HTTP 503 Service Unavailable (after 5 retries)",
        503,
        media.at(t + 1),
    )
    [bulk] = await media.rows("bulk_downloads")
    assert (counters(bulk), bulk["bytes_written"]) == (expect(failed=1), 0)


async def test_skipped_segments_count_as_skipped_not_as_bytes_written(media: Any) -> None:
    on_disk, recorded, fetched = media.segments(141, 3)
    job = media.job("job-skips")
    await job.queue_all(media.at(0), [on_disk, recorded, fetched])
    await job.skipped(media.at(1), on_disk, SkipReason.VERIFIED_ON_DISK)
    await job.skipped(media.at(2), recorded, SkipReason.RECORDED_DIGEST)
    await job.started(media.at(3), fetched)
    await job.downloaded(media.at(5), fetched)
    await media.catch_up()
    rows = await media.rows("segment_downloads")
    assert [(r["state"], r["reason"], r["bytes"], r["sha256"]) for r in rows] == [
        ("skipped", "verified_on_disk", on_disk.size, on_disk.sha256),
        ("skipped", "recorded_digest", recorded.size, recorded.sha256),
        ("succeeded", None, fetched.size, fetched.sha256),
    ]
    [course] = await media.rows("course_downloads")
    assert (counters(course), course["bytes_written"]) == (expect(succeeded=1, skipped=2), fetched.size)
    assert course["first_started_at"] == media.at(1)  # the first segment that left "queued" was a skip
    assert await downloaded_segments(media.pool) == 3
    assert await recorded_digest(media.pool, fetched.segment_id, fetched.path) == (fetched.size, fetched.sha256)
    assert await recorded_digest(media.pool, on_disk.segment_id, on_disk.path) is None  # a skip records nothing


async def test_retry_failed_is_a_new_job_with_its_own_rows(media: Any) -> None:
    a0, a1, a2 = media.segments(201, 3)
    first = media.job("job-first")
    await first.queue_all(media.at(0), [a0, a1, a2])
    await first.started(media.at(10), a0)
    await first.downloaded(media.at(11), a0)
    for s, status in ((a1, 503), (a2, 404)):
        await first.started(media.at(12), s)
        await first.failed(media.at(13), s, 6 if status == 503 else 1, f"HTTP {status}", status)
    await first.course_completed(media.at(14), 201, succeeded=1, failed=2, bytes_written=a0.size)
    await first.completed(media.at(14), courses=1, succeeded=1, failed=2, bytes_written=a0.size)
    await media.catch_up()
    before = await media.rows("segment_downloads", "job_id = 'job-first'")

    retry = media.job("job-retry")  # "retry failed": the failed segments again, under a new job id
    await retry.queue_all(media.at(100), [a1, a2])
    await retry.started(media.at(110), a1)
    await retry.downloaded(media.at(112), a1)
    await retry.started(media.at(113), a2)
    await retry.failed(media.at(114), a2, 1, "HTTP 404", 404)
    await media.catch_up()

    assert await media.rows("segment_downloads", "job_id = 'job-first'") == before
    jobs = {b["job_id"]: b for b in await media.rows("bulk_downloads")}
    assert counters(jobs["job-first"]) == expect(succeeded=1, failed=2)
    assert counters(jobs["job-retry"]) == expect(succeeded=1, failed=1)
    assert (jobs["job-retry"]["segments_total"], jobs["job-retry"]["status"]) == (2, "running")
    courses = await media.rows("course_downloads")
    assert [(c["job_id"], c["segment_count"], c["state"]) for c in courses] == [
        ("job-first", 3, "completed"),
        ("job-retry", 2, "processing"),
    ]
    assert await downloaded_segments(media.pool) == 2  # a0 and a1, whichever job
    assert await recorded_digest(media.pool, a1.segment_id, a1.path) == (a1.size, a1.sha256)

    # The catalogue changed a0's file and a third job downloaded it again: the latest download is the record.
    changed = type(a0)(a0.segment_id, a0.course_id, a0.channel_id, a0.title, a0.size + 7)
    third = media.job("job-third")
    await third.queue_all(media.at(200), [changed])
    await third.started(media.at(201), changed)
    await third.downloaded(media.at(202), changed)
    await media.catch_up()
    assert await recorded_digest(media.pool, a0.segment_id, a0.path) == (changed.size, changed.sha256)
    assert changed.sha256 != a0.sha256
    assert await recorded_digest(media.pool, a0.segment_id, "course-201/elsewhere_med.mp4") is None
    assert await downloaded_segments(media.pool) == 2
    await assert_counters_match_rows(media)
