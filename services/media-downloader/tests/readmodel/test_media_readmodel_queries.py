"""The query replies over the downloads read model (real NATS + PostgreSQL): bulk and course status with
rates and ETA computed from the events' times, the queue of courses with work left, job ends, paging."""

from __future__ import annotations

from typing import Any

import pytest

from skillstream_contracts import ErrorCode
from skillstream_contracts.media import VideoQuality
from skillstream_contracts.media_queries import GetBulkStatus, GetCourseStatus, SegmentCounts
from skillstream_media_downloader.projections.readmodel import (
    bulk_status,
    course_status,
    downloaded_segments,
    queued_courses,
)
from skillstream_runtime.errors import CommandRejected


def seconds(media: Any, start: float, end: float) -> float:
    elapsed: float = (media.at(end) - media.at(start)).total_seconds()
    return elapsed


async def test_bulk_and_course_status_with_rates_and_eta(media: Any) -> None:
    a, b = media.segments(301, 4), media.segments(302, 2)
    job = media.job("job-status")
    await job.queue_all(media.at(0), a + b)
    await job.started(media.at(10), a[0])
    await job.started(media.at(12), a[1])
    await job.downloaded(media.at(14), a[0])
    await job.downloaded(media.at(20), a[1])
    await job.started(media.at(20), a[2])
    await job.retry(media.at(25), a[2], 1, "HTTP 429 Too Many Requests", 429)
    await media.catch_up()

    status = await bulk_status(media.pool, GetBulkStatus())
    assert status is not None
    assert (status.job_id, status.status, status.quality, status.test_mode) == ("job-status", "running", "med", False)
    assert (status.requested_by, status.requested_at, status.finished_at) == ("admin@example.org", media.at(0), None)
    assert status.counts == SegmentCounts(total=6, queued=3, retrying=1, succeeded=2)
    elapsed = seconds(media, 10, 20)  # first attempt → latest terminal segment
    written = a[0].size + a[1].size
    assert (status.bytes_written, status.bytes_expected) == (written, sum(s.size for s in a + b))
    assert status.segments_per_second == 2 / elapsed
    assert status.bytes_per_second == written / elapsed
    assert status.eta_seconds == (6 - 2) / (2 / elapsed)
    assert (status.courses_total, status.courses_queued, status.courses_processing, status.courses_completed) == (
        2,
        1,
        1,
        0,
    )
    first, second = status.courses
    assert (first.course_id, first.state, first.title, first.directory) == (
        301,
        "processing",
        "Course 301",
        "course-301",
    )
    assert first.counts == SegmentCounts(total=4, queued=1, retrying=1, succeeded=2)
    assert (first.segments_per_second, first.eta_seconds) == (2 / elapsed, (4 - 2) / (2 / elapsed))
    assert (first.queued_at, first.started_at, first.completed_at) == (media.at(0), media.at(10), None)
    assert (second.course_id, second.state, second.counts) == (302, "queued", SegmentCounts(total=2, queued=2))
    assert (second.segments_per_second, second.bytes_per_second, second.eta_seconds) == (None, None, None)

    await job.started(media.at(60), a[2], 2)
    await job.downloaded(media.at(62), a[2], attempts=2)
    await job.skipped(media.at(63), a[3])
    await job.course_completed(media.at(63), 301, succeeded=3, skipped=1, bytes_written=written + a[2].size)
    await job.started(media.at(64), b[0])
    await job.downloaded(media.at(70), b[0])
    await job.started(media.at(71), b[1])
    await job.failed(media.at(80), b[1], 1, "HTTP 404 Not Found", 404)
    await job.course_completed(media.at(80), 302, succeeded=1, failed=1, bytes_written=b[0].size)
    await job.completed(media.at(81), courses=2, succeeded=4, failed=1, skipped=1)
    await media.catch_up()

    done = await bulk_status(media.pool, GetBulkStatus(job_id="job-status"))
    assert done is not None
    assert (done.status, done.finished_at, done.eta_seconds) == ("completed", media.at(81), 0.0)
    assert done.counts == SegmentCounts(total=6, succeeded=4, failed=1, skipped=1)
    written = a[0].size + a[1].size + a[2].size + b[0].size
    assert (done.bytes_written, done.bytes_per_second) == (written, written / seconds(media, 10, 80))
    assert done.segments_per_second == 6 / seconds(media, 10, 80)
    assert (done.courses_completed, done.courses_queued, done.courses_processing) == (2, 0, 0)
    course = await course_status(media.pool, GetCourseStatus(course_id=302))
    assert course is not None
    assert (course.state, course.completed_at, course.eta_seconds) == ("completed", media.at(80), 0.0)
    assert (course.started_at, course.segments_per_second) == (media.at(64), 2 / seconds(media, 64, 80))
    [failure] = course.failures
    assert (failure.segment_id, failure.course_id, failure.title) == (b[1].segment_id, 302, b[1].title)
    assert (failure.reason, failure.http_status, failure.attempts, failure.at) == (
        "HTTP 404 Not Found",
        404,
        1,
        media.at(80),
    )

    page = await bulk_status(media.pool, GetBulkStatus(courses_offset=1, courses_limit=1))
    assert page is not None
    assert [c.course_id for c in page.courses] == [302]
    assert [c.failures for c in page.courses] == [[]]  # failures come with course_status only


async def test_failures_newest_first_up_to_the_limit(media: Any) -> None:
    segs = media.segments(311, 4)
    job = media.job("job-failures")
    await job.queue_all(media.at(0), segs)
    for i, s in enumerate(segs[:3]):
        await job.started(media.at(10 * i + 1), s)
        await job.failed(media.at(10 * i + 2), s, 1, f"HTTP 50{i}", 500 + i)
    await media.catch_up()
    listed = await course_status(media.pool, GetCourseStatus(course_id=311, job_id="job-failures"))
    assert listed is not None
    assert [(f.segment_id, f.reason, f.http_status) for f in listed.failures] == [
        (segs[i].segment_id, f"HTTP 50{i}", 500 + i) for i in (2, 1, 0)
    ]
    assert listed.counts == SegmentCounts(total=4, queued=1, failed=3)
    assert listed.eta_seconds == 1 / (3 / seconds(media, 1, 22))
    two = await course_status(media.pool, GetCourseStatus(course_id=311, failure_limit=2))
    assert two is not None
    assert [f.segment_id for f in two.failures] == [segs[2].segment_id, segs[1].segment_id]
    none = await course_status(media.pool, GetCourseStatus(course_id=311, failure_limit=0))
    assert none is not None
    assert (none.failures, none.counts.failed) == ([], 3)


async def test_cancelled_and_failed_bulk_downloads(media: Any) -> None:
    segs = media.segments(321, 3)
    cancelled = media.job("job-cancelled")
    await cancelled.queue_all(media.at(0), segs)
    await cancelled.started(media.at(5), segs[0])
    await cancelled.downloaded(media.at(9), segs[0])
    await cancelled.completed(media.at(10), cancelled=True, courses=1, succeeded=1, bytes_written=segs[0].size)
    await cancelled.job_failed(media.at(11), "a late report after the end")  # the first end wins
    broken = media.job("job-broken")
    await broken.requested(media.at(20), test_mode=True)
    await broken.job_failed(media.at(21), "not enough disk space: 12 GB free, 40 GB needed")
    await media.catch_up()

    first = await bulk_status(media.pool, GetBulkStatus(job_id="job-cancelled"))
    assert first is not None
    assert (first.status, first.finished_at, first.reason, first.eta_seconds) == ("cancelled", media.at(10), None, 0.0)
    assert first.counts == SegmentCounts(total=3, succeeded=1, cancelled=2)  # not attempted: ended with the job
    assert first.courses[0].eta_seconds == 0.0  # the download ended: nothing more will happen
    latest = await bulk_status(media.pool, GetBulkStatus())
    assert latest is not None
    assert (latest.job_id, latest.status, latest.test_mode, latest.quality) == (
        "job-broken",
        "failed",
        True,
        VideoQuality.MED,
    )
    assert (latest.reason, latest.courses_total, latest.counts, latest.courses) == (
        "not enough disk space: 12 GB free, 40 GB needed",
        0,
        SegmentCounts(),
        [],
    )
    assert latest.eta_seconds == 0.0
    assert await queued_courses(media.pool, 100) == ([], 0, 0)  # neither download is running


async def test_queued_courses_over_running_downloads(media: Any) -> None:
    busy, idle = media.segments(401, 3), media.segments(402, 2)
    running = media.job("job-running")
    await running.queue_all(media.at(0), busy + idle)
    await running.started(media.at(1), busy[0])
    await running.started(media.at(1), busy[1])
    await running.retry(media.at(2), busy[1], 1, "HTTP 503", 503)
    await running.started(media.at(3), busy[2])
    await running.failed(media.at(4), busy[2], 1, "HTTP 404", 404)
    finished = media.segments(403, 2)
    for s in idle:
        await running.started(media.at(5), s)
        await running.downloaded(media.at(6), s)
    done = media.job("job-done")
    await done.queue_all(media.at(10), finished)
    await done.completed(media.at(11), cancelled=True)
    planned = media.segments(404, 3) + media.segments(405, 7)
    later = media.job("job-later")  # planned 10 segments; only the first course is queued so far
    await later.requested(media.at(20))
    await later.planned(media.at(20), planned)
    await later.course(media.at(20), 404, planned[:3])
    await later.queued(media.at(20), planned[0])
    await media.catch_up()

    courses, total_queued, total_failed = await queued_courses(media.pool, 100)
    assert [(c.job_id, c.course_id, c.total_segments) for c in courses] == [
        ("job-running", 401, 3),
        ("job-later", 404, 3),
    ]
    assert [(c.queued, c.processing, c.retrying, c.failed) for c in courses] == [(0, 1, 1, 1), (3, 0, 0, 0)]
    assert (total_queued, total_failed) == (0 + 10, 1)  # job-done's queued segments are not counted
    first, _, _ = await queued_courses(media.pool, 1)
    assert [c.course_id for c in first] == [401]
    assert await downloaded_segments(media.pool) == 2


async def test_nothing_found_and_invalid_paging(media: Any) -> None:
    assert await bulk_status(media.pool, GetBulkStatus()) is None
    assert await bulk_status(media.pool, GetBulkStatus(job_id="no-such-job")) is None
    assert await course_status(media.pool, GetCourseStatus(course_id=999)) is None
    assert await queued_courses(media.pool, 1000) == ([], 0, 0)
    segs = media.segments(501, 1)
    await media.job("job-paging").queue_all(media.at(0), segs)
    await media.catch_up()
    assert await course_status(media.pool, GetCourseStatus(course_id=501, job_id="other-job")) is None
    ok = await bulk_status(media.pool, GetBulkStatus(courses_offset=5, courses_limit=1000))
    assert ok is not None
    assert (ok.courses, ok.courses_total) == ([], 1)

    bad = [
        (bulk_status(media.pool, GetBulkStatus(courses_limit=0)), "courses_limit"),
        (bulk_status(media.pool, GetBulkStatus(courses_limit=1001)), "courses_limit"),
        (bulk_status(media.pool, GetBulkStatus(courses_offset=-1)), "courses_offset"),
        (course_status(media.pool, GetCourseStatus(course_id=501, failure_limit=-1)), "failure_limit"),
        (course_status(media.pool, GetCourseStatus(course_id=501, failure_limit=1001)), "failure_limit"),
        (queued_courses(media.pool, 0), "limit"),
        (queued_courses(media.pool, 1001), "limit"),
    ]
    for call, field in bad:
        with pytest.raises(CommandRejected) as caught:
            await call
        assert caught.value.code is ErrorCode.INVALID_REQUEST
        assert caught.value.detail.startswith(f"{field} must be")
